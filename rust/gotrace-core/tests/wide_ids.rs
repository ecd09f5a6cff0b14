//! IDs past 32 bits: the same scheduler traces with every goroutine, proc and thread ID
//! shifted past `i32::MAX` give the same events with the shifted IDs, in 64-bit columns
//! (and the unshifted ones in 32-bit columns).

mod common;

use common::random_sched_ids;
use gotrace_core::parse;
use gotrace_core::store::{resource, EventKind, IdCol};

const SHIFT: [u64; 3] = [1 << 33, 1 << 31, 1 << 40];

#[test]
fn shifted_ids_widen_the_columns_and_change_nothing_else() {
    let mut valid = 0;
    for seed in 0..40 {
        let small = parse(&random_sched_ids(seed, None, [0; 3]));
        let big = parse(&random_sched_ids(seed, None, SHIFT));
        if small.error.is_some() {
            // A few generated schedules are invalid (see `frontier_index.rs`); the
            // messages name the IDs, so only the kind is compared.
            assert_eq!(
                small.error.map(|e| e.kind),
                big.error.map(|e| e.kind),
                "seed {seed}"
            );
            continue;
        }
        valid += 1;
        assert!(big.error.is_none(), "seed {seed}: {:?}", big.error);
        let (a, b) = (&small.events, &big.events);
        assert_eq!(a.len(), b.len(), "seed {seed}");
        assert!(a.len() > 10, "seed {seed}");
        assert_eq!(
            (
                &a.time,
                &a.kind,
                &a.stack,
                &a.res_kind,
                &a.from,
                &a.to,
                &a.name,
                &a.aux
            ),
            (
                &b.time,
                &b.kind,
                &b.stack,
                &b.res_kind,
                &b.from,
                &b.to,
                &b.name,
                &b.aux
            ),
            "seed {seed}"
        );
        for (col, small, big, shift) in [
            ("g", &a.g, &b.g, SHIFT[0]),
            ("p", &a.p, &b.p, SHIFT[1]),
            ("m", &a.m, &b.m, SHIFT[2]),
        ] {
            assert!(small.is_narrow() && !big.is_narrow(), "seed {seed}: {col}");
            let want: Vec<i64> = small
                .iter()
                .map(|x| if x == -1 { -1 } else { x + shift as i64 })
                .collect();
            assert_eq!(big.to_vec(), want, "seed {seed}: {col}");
        }
        // `arg` names the goroutine or proc of a transition; the other kinds' values
        // (Sync numbers, GC sequence numbers) stay.
        let want: Vec<i64> = (0..a.len())
            .map(|i| {
                let x = a.arg.get(i);
                match (a.kind[i], a.res_kind[i]) {
                    (k, resource::GOROUTINE) if k == EventKind::StateTransition as u8 => {
                        x + SHIFT[0] as i64
                    }
                    (k, resource::PROC) if k == EventKind::StateTransition as u8 => {
                        x + SHIFT[1] as i64
                    }
                    _ => x,
                }
            })
            .collect();
        assert_eq!(b.arg.to_vec(), want, "seed {seed}: arg");
        assert!(matches!(b.arg, IdCol::Wide(_)), "seed {seed}");
    }
    assert!(valid >= 30, "only {valid} of 40 generated schedules parse");
}

/// `tests/data/sched-ids-{32,64}.trace` (the Python tests' pair of such traces) are
/// these generated traces; `GOTRACE_WRITE_FIXTURES=1` writes them again.
#[test]
fn python_fixtures_are_these_traces() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    for (name, offset) in [
        ("sched-ids-32.trace", [0; 3]),
        ("sched-ids-64.trace", SHIFT),
    ] {
        let want = random_sched_ids(FIXTURE_SEED, Some(6), offset);
        let path = dir.join(name);
        if std::env::var_os("GOTRACE_WRITE_FIXTURES").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read(&path).unwrap();
        assert!(got == want, "{name} is not the generated trace");
        assert!(parse(&got).error.is_none(), "{name}");
    }
}

const FIXTURE_SEED: u64 = 7;
