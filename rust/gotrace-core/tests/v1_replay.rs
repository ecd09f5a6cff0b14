//! The v1 reader does not keep the merged event list: it records which P each merged
//! event came from and decodes the events again, in their final order, for the
//! conversion. The conversion's look-ahead from each GoSysCall (does its goroutine block
//! next?) is taken from the merged order, which gives the same answer unless a moved
//! syscall exit lands before an earlier event of its own goroutine; then it is worked
//! out over the final order first. Forcing that second way must give the same result, on
//! every v1 trace at hand and on damaged copies; and the corpus must have moved exits to
//! exercise.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

mod common;

use common::{assert_same, damaged, Rng};
use gotrace_core::v1::convert::FORCE_FINAL_LOOKAHEAD;
use gotrace_core::{parse, Trace};

fn v1_version(data: &[u8]) -> Option<u32> {
    let h = data.get(..16)?;
    let s = std::str::from_utf8(h.strip_prefix(b"go 1.")?).ok()?;
    let n: u32 = s.split(' ').next()?.parse().ok()?;
    (n <= 21).then_some(n)
}

/// The v1 traces at hand, and whether the shared corpus was among the places looked at.
fn traces() -> (Vec<(String, Vec<u8>)>, bool) {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("GOTRACE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../../../shared"));
    let mut v = Vec::new();
    let mut found_shared = false;
    for dir in [here.join("tests/data"), shared.join("corpus/traces")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("no traces at {}: skipped", dir.display());
            continue;
        };
        found_shared |= dir.starts_with(&shared);
        for e in entries {
            // Go's own test traces (`gosrc-*`) have no extension.
            let p = e.unwrap().path();
            if p.is_file() {
                let data = std::fs::read(&p).unwrap();
                if v1_version(&data).is_some() {
                    v.push((p.file_name().unwrap().to_string_lossy().into_owned(), data));
                }
            }
        }
    }
    v.sort();
    (v, found_shared)
}

fn both_ways(name: &str, data: &[u8]) -> Trace {
    FORCE_FINAL_LOOKAHEAD.store(false, Ordering::Relaxed);
    let merged = parse(data);
    FORCE_FINAL_LOOKAHEAD.store(true, Ordering::Relaxed);
    let fin = parse(data);
    FORCE_FINAL_LOOKAHEAD.store(false, Ordering::Relaxed);
    assert_same(&merged, &fin, name);
    merged
}

#[test]
fn lookahead_from_the_merged_order_is_right() {
    let (all, shared) = traces();
    assert!(!all.is_empty());
    let mut moved = 0;
    for (name, data) in &all {
        let t = both_ways(name, data);
        if t.error.is_none() {
            let ver = v1_version(data).unwrap();
            let v1 = gotrace_core::v1::parse::parse(&data[16..], 16, ver).unwrap();
            let (listed, m) = v1.counts();
            assert!(!v1.jumped(), "{name}");
            // The table holds every listed event but the dropped ones, plus the Syncs and
            // the conversion's extra events.
            assert!(t.events.len() + listed / 4 >= listed, "{name}");
            moved += m;
        }
    }
    if shared {
        assert!(moved > 0, "no moved syscall exits in the v1 corpus");
    }
    // Damaged copies: errors of the merge, of Go's checks after it, and of the
    // conversion, both ways.
    for (name, data) in all.iter().take(4) {
        let n = data.len();
        let mut rng = Rng(0x2545_f491_4f6c_dd1du64 ^ n as u64);
        for k in 1..12 {
            both_ways(
                &format!("{name} cut at {}", n * k / 12),
                &data[..n * k / 12],
            );
            let (at, d) = damaged(data, &mut rng);
            both_ways(&format!("{name} byte {at}"), &d);
        }
    }
}

/// The extent a streaming heatmap's default bins need, predicted from the merge alone
/// (the conversion makes times strictly increasing, so it can be off when a trace ends
/// on equal times; Python then reads the trace again): right on every v1 trace at hand.
#[test]
fn predicted_extent_is_the_converted_one() {
    let (all, _) = traces();
    for (name, data) in &all {
        let t = parse(data);
        let ver = v1_version(data).unwrap();
        let got = gotrace_core::stream::v2_extent(data);
        if t.error.is_some() {
            continue;
        }
        let v1 = gotrace_core::v1::parse::parse(&data[16..], 16, ver).unwrap();
        assert_eq!(got, v1.predicted_extent(), "{name}");
        let tm = &t.events.time;
        assert_eq!(got, Some((tm[0], *tm.last().unwrap())), "{name}");
    }
}
