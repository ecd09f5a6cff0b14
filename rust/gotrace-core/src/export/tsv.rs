//! The `tracecheck-events/1` line format (see the oracle README): one TAB-separated line
//! per event, byte-identical to `tracecheck events`.

use std::io::{self, Write};

use crate::store::{gostate, procstate, resource, EventKind, Trace, EVENT_KIND_NAMES};
use crate::wire::spec::{EXPERIMENT_NAMES, SPECS};

/// Escapes as the oracle does: `\\`, `\t`, `\n`, `\r`, other bytes < 0x20 and 0x7f as
/// `\xHH`; everything else (non-ASCII, invalid UTF-8) verbatim.
fn esc(out: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\') {
        out.extend_from_slice(s);
        return;
    }
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b if b < 0x20 || b == 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
            b => out.push(b),
        }
    }
}

#[inline]
fn int(out: &mut Vec<u8>, v: i64) {
    out.push(b'\t');
    let mut buf = itoa_buf();
    out.extend_from_slice(fmt_i64(&mut buf, v));
}

#[inline]
fn uint(out: &mut Vec<u8>, v: u64) {
    out.push(b'\t');
    let mut buf = itoa_buf();
    out.extend_from_slice(fmt_u64(&mut buf, v));
}

fn itoa_buf() -> [u8; 24] {
    [0u8; 24]
}

fn fmt_u64(buf: &mut [u8; 24], mut v: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

fn fmt_i64(buf: &mut [u8; 24], v: i64) -> &[u8] {
    if v >= 0 {
        return fmt_u64(buf, v as u64);
    }
    let n = fmt_u64(buf, v.unsigned_abs()).len();
    let start = buf.len() - n - 1;
    buf[start] = b'-';
    &buf[start..]
}

#[inline]
fn field(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'\t');
    esc(out, s);
}

fn stack_top(trace: &Trace, out: &mut Vec<u8>, stack: u32) {
    match trace.stack_top_func(stack) {
        Some(f) => field(out, f),
        None => out.extend_from_slice(b"\t-"),
    }
}

/// Appends the line of event `i` to `out`.
pub fn event_line(trace: &Trace, i: usize, out: &mut Vec<u8>) {
    let ev = &trace.events;
    let kind = ev.kind[i];
    let mut buf = itoa_buf();
    out.extend_from_slice(fmt_i64(&mut buf, ev.time[i]));
    field(out, EVENT_KIND_NAMES[kind as usize].as_bytes());
    int(out, ev.g.get(i));
    int(out, ev.p.get(i));
    int(out, ev.m.get(i));
    stack_top(trace, out, ev.stack[i]);
    let s = |id: u32| trace.strings.get(id);
    let arg = ev.arg.get(i);
    let name = ev.name[i];
    let aux = ev.aux[i];
    match kind {
        k if k == EventKind::Sync as u8 => {
            int(out, arg);
            if aux != 0 {
                let c = trace.clock_snapshots[aux as usize - 1];
                int(out, c.trace_ns);
                uint(out, c.mono_ns);
                int(out, c.wall_unix_ns);
            } else {
                out.extend_from_slice(b"\t-\t-\t-");
            }
        }
        k if k == EventKind::Metric as u8 => {
            field(out, s(name));
            uint(out, arg as u64);
        }
        k if k == EventKind::Label as u8 => {
            field(out, s(name));
            field(out, resource::NAMES[ev.res_kind[i] as usize].as_bytes());
            int(out, arg);
        }
        k if k == EventKind::StackSample as u8 => {}
        k if k == EventKind::RangeBegin as u8
            || k == EventKind::RangeActive as u8
            || k == EventKind::RangeEnd as u8 =>
        {
            field(out, s(name));
            let rk = ev.res_kind[i];
            field(out, resource::NAMES[rk as usize].as_bytes());
            if rk == resource::NONE {
                out.extend_from_slice(b"\t-");
            } else {
                int(out, arg);
            }
            if k == EventKind::RangeEnd as u8 {
                out.push(b'\t');
                if aux != 0 {
                    let [swept, reclaimed] = trace.range_attrs[aux as usize - 1];
                    out.extend_from_slice(b"bytes swept=");
                    out.extend_from_slice(fmt_u64(&mut buf, swept));
                    out.extend_from_slice(b";bytes reclaimed=");
                    out.extend_from_slice(fmt_u64(&mut buf, reclaimed));
                }
            }
        }
        k if k == EventKind::TaskBegin as u8 || k == EventKind::TaskEnd as u8 => {
            uint(out, arg as u64);
            uint(out, trace.u64s[aux as usize]);
            field(out, s(name));
        }
        k if k == EventKind::RegionBegin as u8 || k == EventKind::RegionEnd as u8 => {
            uint(out, arg as u64);
            field(out, s(name));
        }
        k if k == EventKind::Log as u8 => {
            uint(out, arg as u64);
            field(out, s(name));
            field(out, s(aux));
        }
        k if k == EventKind::StateTransition as u8 => {
            let rk = ev.res_kind[i];
            field(out, resource::NAMES[rk as usize].as_bytes());
            int(out, arg);
            let names: &[&str] = if rk == resource::PROC {
                &procstate::NAMES
            } else {
                &gostate::NAMES
            };
            field(out, names[ev.from[i] as usize].as_bytes());
            field(out, names[ev.to[i] as usize].as_bytes());
            field(out, s(name));
            stack_top(trace, out, aux);
        }
        k if k == EventKind::Experimental as u8 => {
            let x = trace.experimental[arg as usize];
            let sp = &SPECS[x.typ as usize];
            field(out, sp.name.as_bytes());
            field(out, EXPERIMENT_NAMES[sp.experiment as usize].as_bytes());
            for (j, an) in sp.args.iter().skip(1).enumerate() {
                out.push(b'\t');
                esc(out, an.as_bytes());
                out.push(b'=');
                if an.ends_with("string") {
                    esc(out, s(x.args[j] as u32));
                } else {
                    out.extend_from_slice(fmt_u64(&mut buf, x.args[j]));
                }
            }
        }
        _ => {}
    }
    out.push(b'\n');
}

/// Writes events `[start, end)` of `trace` in the `tracecheck-events/1` format.
pub fn write_events<W: Write>(
    trace: &Trace,
    out: &mut W,
    start: usize,
    end: usize,
) -> io::Result<()> {
    let end = end.min(trace.events.len());
    let mut buf = Vec::with_capacity(1 << 16);
    for i in start..end {
        event_line(trace, i, &mut buf);
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}
