//! Writing v2 (Go 1.22+) traces for tests: header, per-generation sync/string/stack
//! batches, event batches split under the 64 KiB limit, EndOfGeneration (1.26+).
#![allow(dead_code)]

use gotrace_core::wire::spec::*;

pub fn uv(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

pub fn header(ver: u32) -> Vec<u8> {
    format!("go 1.{ver} trace\0\0\0").into_bytes()
}

/// `EvEventBatch gen m ts size data`.
pub fn batch(gen: u64, m: u64, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![EV_EVENT_BATCH];
    uv(&mut b, gen);
    uv(&mut b, m);
    uv(&mut b, ts);
    uv(&mut b, data.len() as u64);
    b.extend_from_slice(data);
    b
}

/// The sync batch: frequency 1e9 (1 tick = 1 ns) and, for 1.25+, a clock snapshot.
pub fn sync_batch(gen: u64, ver: u32, ts: u64) -> Vec<u8> {
    let mut d = Vec::new();
    if ver >= 25 {
        d.push(EV_SYNC);
    }
    d.push(EV_FREQUENCY);
    uv(&mut d, 1_000_000_000);
    if ver >= 25 {
        d.push(EV_CLOCK_SNAPSHOT);
        for v in [0, 1, 2, 3] {
            uv(&mut d, v);
        }
    }
    batch(gen, u64::MAX, ts, &d)
}

/// String table batches (as many as the 64 KiB batch limit needs).
pub fn strings_batch(gen: u64, strings: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = vec![EV_STRINGS];
    for (id, s) in strings {
        d.push(EV_STRING);
        uv(&mut d, *id);
        uv(&mut d, s.len() as u64);
        d.extend_from_slice(s);
        if d.len() > 60_000 {
            out.extend(batch(gen, u64::MAX, 0, &d));
            d = vec![EV_STRINGS];
        }
    }
    if d.len() > 1 {
        out.extend(batch(gen, u64::MAX, 0, &d));
    }
    out
}

/// Stacks of one frame each: (stack id, pc, func string id, file string id, line).
pub fn stacks_batch(gen: u64, stacks: &[(u64, u64, u64, u64, u64)]) -> Vec<u8> {
    let mut d = vec![EV_STACKS];
    for &(id, pc, func, file, line) in stacks {
        d.push(EV_STACK);
        uv(&mut d, id);
        uv(&mut d, 1);
        for v in [pc, func, file, line] {
            uv(&mut d, v);
        }
    }
    batch(gen, u64::MAX, 0, &d)
}

/// One event: absolute time (ns = ticks), wire type, arguments after the timestamp.
#[derive(Clone, Debug)]
pub struct Ev {
    pub time: u64,
    pub typ: u8,
    pub args: Vec<u64>,
}

pub fn ev(time: u64, typ: u8, args: &[u64]) -> Ev {
    Ev {
        time,
        typ,
        args: args.to_vec(),
    }
}

/// The events of one M as event batches of at most ~60 KiB (times non-decreasing).
pub fn event_batches(gen: u64, m: u64, evs: &[Ev]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut data = Vec::new();
    let mut base = 0;
    let mut last = 0;
    for e in evs {
        if data.is_empty() {
            base = e.time;
            last = e.time;
        }
        data.push(e.typ);
        uv(&mut data, e.time - last);
        last = e.time;
        for &a in &e.args {
            uv(&mut data, a);
        }
        if data.len() > 60_000 {
            out.extend(batch(gen, m, base, &data));
            data.clear();
        }
    }
    if !data.is_empty() {
        out.extend(batch(gen, m, base, &data));
    }
    out
}

/// A whole trace of one generation: `strings`, one-frame `stacks` and per-M events.
pub fn one_gen_trace(
    ver: u32,
    strings: &[(u64, &[u8])],
    stacks: &[(u64, u64, u64, u64, u64)],
    ms: &[(u64, Vec<Ev>)],
) -> Vec<u8> {
    let mut t = header(ver);
    let first = ms
        .iter()
        .filter_map(|(_, e)| e.first().map(|e| e.time))
        .min()
        .unwrap_or(1);
    t.extend(sync_batch(1, ver, first.max(1)));
    if !strings.is_empty() {
        t.extend(strings_batch(1, strings));
    }
    if !stacks.is_empty() {
        t.extend(stacks_batch(1, stacks));
    }
    for (m, evs) in ms {
        t.extend(event_batches(1, *m, evs));
    }
    if ver >= 26 {
        t.push(EV_END_OF_GENERATION);
    }
    t
}

/// `u64` view of a negative ID (e.g. "no thread" = -1).
pub const NONE: u64 = u64::MAX;

/// The shared corpus and oracle beside the project (or `$GOTRACE_SHARED`); `None` (the
/// test skips) when absent, except under CI.
pub fn shared() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("GOTRACE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
        });
    if dir.join("oracle/README.md").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "reference data not found at {} (set GOTRACE_SHARED)",
        dir.display()
    );
    eprintln!("skipped: reference data not found at {}", dir.display());
    None
}

/// A xorshift generator for the generated traces.
pub struct Rng(pub u64);

impl Rng {
    /// The next state.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A copy of `data` (longer than its 16-byte header) with one byte after the header
/// replaced, both drawn from `rng`: (the byte's offset, the copy).
#[allow(dead_code)] // not every test binary damages traces
pub fn damaged(data: &[u8], rng: &mut Rng) -> (usize, Vec<u8>) {
    let s = rng.next();
    let mut d = data.to_vec();
    let at = 16 + (s as usize) % (data.len() - 16);
    d[at] = (s >> 32) as u8;
    (at, d)
}

/// A valid one-generation trace from a small simulated scheduler (`seed` picks the sizes
/// and moves): threads take and release procs, run, stop, block and unblock goroutines,
/// enter and leave syscalls (some of which lose their proc to a steal), and run GC
/// cycles. Each event is timed by its step divided by a coarse factor (many equal
/// times) plus a per-thread skew (times out of causal order across threads), so the
/// reader's frontier search has to find the order through blocked and tied threads.
pub fn random_sched(seed: u64) -> Vec<u8> {
    random_sched_with(seed, None)
}

/// [`random_sched`] with `threads` threads (default: 2 to 15, by seed).
pub fn random_sched_with(seed: u64, threads: Option<usize>) -> Vec<u8> {
    random_sched_ids(seed, threads, [0; 3])
}

/// [`random_sched_with`] with `offset` = [goroutine, proc, thread] added to every
/// goroutine, proc and thread ID (the same trace with other IDs).
pub fn random_sched_ids(seed: u64, threads: Option<usize>, offset: [u64; 3]) -> Vec<u8> {
    let gid = |g: usize| offset[0] + g as u64 + 1;
    let pid = |p: usize| offset[1] + p as u64;
    let mid = |m: usize| offset[2] + m as u64 + 1;
    #[derive(Clone, Copy, PartialEq)]
    enum G {
        Runnable,
        Running,
        Waiting,
        Syscall,
    }
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Idle,
        Running,
        Syscall,
    }
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (nm, np, ng) = (
        threads.unwrap_or(2 + r.below(14) as usize),
        1 + r.below(5) as usize,
        1 + r.below(9) as usize,
    );
    let coarse = 1 + r.below(4);
    let skew: Vec<u64> = (0..nm).map(|_| r.below(4 * coarse + 8)).collect();
    let mut evs: Vec<Vec<Ev>> = vec![Vec::new(); nm];
    let (mut gs, mut gseq) = (vec![G::Runnable; ng], vec![0u64; ng]);
    let (mut ps, mut pseq) = (vec![P::Idle; np], vec![0u64; np]);
    // Per M: its proc and goroutine.
    let mut mp: Vec<Option<usize>> = vec![None; nm];
    let mut mg: Vec<Option<usize>> = vec![None; nm];
    let base = 1000;
    for g in 0..ng {
        evs[0].push(ev(base, EV_GO_STATUS, &[gid(g), NONE, 1]));
    }
    for p in 0..np {
        if p < nm {
            evs[p].push(ev(base, EV_PROC_STATUS, &[pid(p), 1]));
            ps[p] = P::Running;
            mp[p] = Some(p);
        } else {
            evs[0].push(ev(base, EV_PROC_STATUS, &[pid(p), 2]));
        }
    }
    let (mut gc_seq, mut gc_on) = (0u64, false);
    // Many steps pick a thread that cannot move (no free proc): more for more threads.
    let steps = match threads {
        Some(n) => 60 * n as u64,
        None => 100 + r.below(400),
    };
    for step in 0..steps {
        let m = r.below(nm as u64) as usize;
        let t = base + 1 + step / coarse + skew[m];
        let t = t.max(evs[m].last().map_or(0, |e| e.time));
        let mut push = |typ: u8, args: &[u64]| evs[m].push(ev(t, typ, args));
        match (mp[m], mg[m]) {
            (None, None) => {
                let idle: Vec<usize> = (0..np).filter(|&p| ps[p] == P::Idle).collect();
                let sys: Vec<usize> = (0..np).filter(|&p| ps[p] == P::Syscall).collect();
                if !sys.is_empty() && r.below(2) == 0 {
                    let p = sys[r.below(sys.len() as u64) as usize];
                    let victim = mp.iter().position(|&q| q == Some(p)).unwrap();
                    pseq[p] += 1;
                    push(EV_PROC_STEAL, &[pid(p), pseq[p], mid(victim)]);
                    ps[p] = P::Idle;
                    mp[victim] = None;
                } else if !idle.is_empty() {
                    let p = idle[r.below(idle.len() as u64) as usize];
                    pseq[p] += 1;
                    push(EV_PROC_START, &[pid(p), pseq[p]]);
                    ps[p] = P::Running;
                    mp[m] = Some(p);
                }
            }
            (Some(p), None) => {
                let run: Vec<usize> = (0..ng).filter(|&g| gs[g] == G::Runnable).collect();
                if !run.is_empty() && r.below(4) != 0 {
                    let g = run[r.below(run.len() as u64) as usize];
                    gseq[g] += 1;
                    push(EV_GO_START, &[gid(g), gseq[g]]);
                    gs[g] = G::Running;
                    mg[m] = Some(g);
                } else {
                    push(EV_PROC_STOP, &[]);
                    ps[p] = P::Idle;
                    mp[m] = None;
                }
            }
            (Some(p), Some(g)) if gs[g] == G::Syscall => {
                push(EV_GO_SYSCALL_END, &[]);
                gs[g] = G::Running;
                ps[p] = P::Running;
            }
            (None, Some(g)) => {
                // In a syscall whose proc was stolen.
                push(EV_GO_SYSCALL_END_BLOCKED, &[]);
                gs[g] = G::Runnable;
                mg[m] = None;
            }
            (Some(p), Some(g)) => match r.below(7) {
                0 => {
                    push(EV_GO_STOP, &[1, 0]);
                    gs[g] = G::Runnable;
                    mg[m] = None;
                }
                1 => {
                    push(EV_GO_BLOCK, &[1, 0]);
                    gs[g] = G::Waiting;
                    mg[m] = None;
                }
                2 | 3 => {
                    let w: Vec<usize> = (0..ng).filter(|&h| gs[h] == G::Waiting).collect();
                    if !w.is_empty() {
                        let h = w[r.below(w.len() as u64) as usize];
                        gseq[h] += 1;
                        push(EV_GO_UNBLOCK, &[gid(h), gseq[h], 0]);
                        gs[h] = G::Runnable;
                    }
                }
                4 => {
                    pseq[p] += 1;
                    push(EV_GO_SYSCALL_BEGIN, &[pseq[p], 0]);
                    gs[g] = G::Syscall;
                    ps[p] = P::Syscall;
                }
                _ => {
                    gc_seq += 1;
                    if gc_on {
                        push(EV_GC_END, &[gc_seq]);
                    } else {
                        push(EV_GC_BEGIN, &[gc_seq, 0]);
                    }
                    gc_on = !gc_on;
                }
            },
        }
    }
    let ms: Vec<(u64, Vec<Ev>)> = evs
        .into_iter()
        .enumerate()
        .map(|(m, e)| (mid(m), e))
        .collect();
    one_gen_trace(26, &[(1, b"yield")], &[], &ms)
}

/// Go 1.21 (v1 format) trace writing: the header, one batch per P, events with the
/// inline (up to 3 values) or length-prefixed encoding.
pub mod v1 {
    use super::uv;
    use gotrace_core::v1::parse::*;

    pub fn header() -> Vec<u8> {
        b"go 1.21 trace\0\0\0".to_vec()
    }

    /// One event; `args` start with the timestamp delta.
    pub fn ev(out: &mut Vec<u8>, typ: u8, args: &[u64]) {
        if args.len() <= 3 {
            out.push(typ | ((args.len() as u8 - 1) << 6));
            for &a in args {
                uv(out, a);
            }
        } else {
            let mut body = Vec::new();
            for &a in args {
                uv(&mut body, a);
            }
            out.push(typ | (3 << 6));
            uv(out, body.len() as u64);
            out.extend_from_slice(&body);
        }
    }

    /// A batch of P `p` with events `(time, type, args without the time)`.
    pub fn batch(out: &mut Vec<u8>, p: u64, evs: &[(u64, u8, Vec<u64>)]) {
        let Some(first) = evs.first() else { return };
        ev(out, EV_BATCH, &[p, first.0]);
        let mut last = first.0;
        for (t, typ, args) in evs {
            let mut a = vec![t - last];
            a.extend_from_slice(args);
            ev(out, *typ, &a);
            last = *t;
        }
    }

    pub fn frequency(out: &mut Vec<u8>) {
        ev(out, EV_FREQUENCY, &[1_000_000_000]);
    }

    /// `k` Ps pass goroutine 1 along (GoStart with its sequence number, then GoSched),
    /// all at one timestamp (Go's v1 parser wants the merged events in time order, so
    /// only equal times can disagree with the order the sequence numbers impose), the
    /// Ps' batches in shuffled order: the merge must find, for every event, the one P
    /// whose next event is ready.
    pub fn pass_along(k: u64) -> Vec<u8> {
        let mut ps: Vec<u64> = (1..=k).collect();
        let mut r = super::Rng(0x2545_f491_4f6c_dd1d);
        for i in (1..ps.len()).rev() {
            ps.swap(i, r.below(i as u64 + 1) as usize);
        }
        let mut out = header();
        batch(
            &mut out,
            0,
            &[
                (1, EV_PROC_START, vec![1]),
                (2, EV_GO_CREATE, vec![1, 0, 0]),
                (3, EV_GOMAXPROCS, vec![k + 1, 0]),
                (4, EV_PROC_STOP, vec![]),
            ],
        );
        for &p in &ps {
            batch(
                &mut out,
                p,
                &[
                    (10, EV_PROC_START, vec![p + 1]),
                    (10, EV_GO_START, vec![1, p]),
                    (10, EV_GO_SCHED, vec![0]),
                    (10, EV_PROC_STOP, vec![]),
                ],
            );
        }
        frequency(&mut out);
        out
    }

    /// A valid v1 trace from a small simulated scheduler: Ps start and run goroutines
    /// that yield, block, unblock others (with and without sequence numbers: the
    /// `Local` events, which wait on a state but no sequence number) and create new ones;
    /// times are steps divided by a coarse factor, so many events of different Ps share
    /// a timestamp. A GoStartLocal is only made for a goroutine whose last event was on
    /// the same P (as the runtime does), else two Ps' starts at one timestamp could both
    /// seem ready.
    pub fn random_sched(seed: u64) -> Vec<u8> {
        #[derive(Clone, Copy, PartialEq)]
        enum G {
            Runnable,
            Running,
            Waiting,
        }
        let mut r = super::Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let np = 2 + r.below(20) as usize;
        let mut ng = 1 + r.below(6) as usize;
        let coarse = 1 + r.below(5);
        let mut gs = vec![G::Runnable; ng];
        let mut gseq = vec![1u64; ng];
        let mut last_p = vec![0usize; ng];
        let mut run: Vec<Option<usize>> = vec![None; np];
        let mut evs: Vec<Vec<(u64, u8, Vec<u64>)>> = vec![Vec::new(); np];
        for (p, e) in evs.iter_mut().enumerate() {
            e.push((10, EV_PROC_START, vec![p as u64 + 1]));
        }
        for g in 0..ng {
            evs[0].push((10, EV_GO_CREATE, vec![g as u64 + 1, 0, 0]));
        }
        evs[0].push((10, EV_GOMAXPROCS, vec![np as u64, 0]));
        for step in 0..200 + r.below(300) {
            let p = r.below(np as u64) as usize;
            let t = 11 + step / coarse;
            let local = r.below(3) == 0;
            match run[p] {
                None => {
                    let ready: Vec<usize> = (0..ng).filter(|&g| gs[g] == G::Runnable).collect();
                    if ready.is_empty() {
                        continue;
                    }
                    let g = ready[r.below(ready.len() as u64) as usize];
                    if local && last_p[g] == p {
                        evs[p].push((t, EV_GO_START_LOCAL, vec![g as u64 + 1]));
                    } else {
                        evs[p].push((t, EV_GO_START, vec![g as u64 + 1, gseq[g]]));
                    }
                    gseq[g] += 1;
                    gs[g] = G::Running;
                    last_p[g] = p;
                    run[p] = Some(g);
                }
                Some(g) => match r.below(6) {
                    0 => {
                        evs[p].push((t, EV_GO_SCHED, vec![0]));
                        gs[g] = G::Runnable;
                        run[p] = None;
                    }
                    1 => {
                        evs[p].push((t, EV_GO_BLOCK, vec![0]));
                        gs[g] = G::Waiting;
                        run[p] = None;
                    }
                    2 if ng < 40 => {
                        evs[p].push((t, EV_GO_CREATE, vec![ng as u64 + 1, 0, 0]));
                        gs.push(G::Runnable);
                        gseq.push(1);
                        last_p.push(p);
                        ng += 1;
                    }
                    _ => {
                        let w: Vec<usize> = (0..ng).filter(|&h| gs[h] == G::Waiting).collect();
                        if w.is_empty() {
                            continue;
                        }
                        let h = w[r.below(w.len() as u64) as usize];
                        if local {
                            evs[p].push((t, EV_GO_UNBLOCK_LOCAL, vec![h as u64 + 1, 0]));
                        } else {
                            evs[p].push((t, EV_GO_UNBLOCK, vec![h as u64 + 1, gseq[h], 0]));
                        }
                        gseq[h] += 1;
                        gs[h] = G::Runnable;
                        last_p[h] = p;
                    }
                },
            }
        }
        let mut out = header();
        for (p, e) in evs.iter().enumerate() {
            batch(&mut out, p as u64, e);
        }
        frequency(&mut out);
        out
    }
}

/// Asserts that two parses gave the same trace: every column, every table, the error.
pub fn assert_same(a: &gotrace_core::Trace, b: &gotrace_core::Trace, what: &str) {
    assert_eq!(a.error, b.error, "{what}: error");
    assert_eq!(a.version, b.version, "{what}: version");
    assert_eq!(a.generations, b.generations, "{what}: generations");
    let (x, y) = (&a.events, &b.events);
    assert_eq!(x.len(), y.len(), "{what}: number of events");
    macro_rules! cols {
        ($($c:ident),*) => {$( assert!(x.$c == y.$c, "{what}: column {}", stringify!($c)); )*};
    }
    cols!(time, kind, g, p, m, stack, res_kind, from, to, arg, name, aux);
    assert_eq!(a.strings.bytes, b.strings.bytes, "{what}: strings");
    assert_eq!(a.strings.offsets, b.strings.offsets, "{what}: strings");
    assert_eq!(a.stacks.frames, b.stacks.frames, "{what}: frames");
    assert_eq!(
        a.stacks.stack_frames, b.stacks.stack_frames,
        "{what}: stacks"
    );
    assert_eq!(
        a.stacks.stack_offsets, b.stacks.stack_offsets,
        "{what}: stacks"
    );
    assert_eq!(a.range_attrs, b.range_attrs, "{what}: range_attrs");
    assert_eq!(a.u64s, b.u64s, "{what}: u64s");
    assert_eq!(
        a.clock_snapshots, b.clock_snapshots,
        "{what}: clock snapshots"
    );
    assert_eq!(a.experimental, b.experimental, "{what}: experimental");
}
