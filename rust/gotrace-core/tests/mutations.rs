//! Robustness: real traces with bytes flipped, overwritten or cut off must parse to an
//! event list plus (usually) an error — never panic, never hang. A hand-rolled, seeded
//! mutation sweep (cargo-fuzz style inputs without the fuzzer) that runs in `cargo test`.

use gotrace_core::parse;

fn corpus() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "go1.22.10-testprog-annotations",
            include_bytes!("data/go1.22.10-testprog-annotations.trace"),
        ),
        (
            "go1.27.3-testprog-annotations",
            include_bytes!("data/go1.27.3-testprog-annotations.trace"),
        ),
        (
            "go1.25.5-mixed-small",
            include_bytes!("data/go1.25.5-mixed-small.trace"),
        ),
        (
            "gosrc-user_task_region_1_21_good",
            include_bytes!("data/gosrc-user_task_region_1_21_good.trace"),
        ),
        ("go121-idle-ok", include_bytes!("data/go121-idle-ok.trace")),
        (
            "go1.21.13-cpu-small",
            include_bytes!("data/go1.21.13-cpu-small.trace"),
        ),
    ]
}

/// xorshift64*, so the sweep is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn originals_parse_cleanly() {
    for (name, data) in corpus() {
        let t = parse(data);
        assert!(t.error.is_none(), "{name}: {:?}", t.error);
        assert!(t.events.len() > 2, "{name}");
    }
}

#[test]
fn mutated_traces_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, data) in corpus() {
        let n = data.len();
        // Every byte of the small traces, a sample of the larger one.
        let positions: Vec<usize> = if n <= 4096 {
            (16..n).collect()
        } else {
            (0..2000)
                .map(|_| 16 + (rng.next() as usize) % (n - 16))
                .collect()
        };
        for &pos in &positions {
            for mutation in 0..4 {
                let mut m = data.to_vec();
                match mutation {
                    0 => m[pos] ^= 1 << (rng.next() % 8),
                    1 => m[pos] = 0xff,
                    2 => m[pos] = 0x00,
                    _ => m.truncate(pos),
                }
                let t = parse(&m);
                // Whatever happened, the table is consistent: columns of one length, and
                // times strictly increasing.
                let e = &t.events;
                assert_eq!(e.kind.len(), e.time.len(), "{name} @{pos}/{mutation}");
                assert!(
                    e.time.windows(2).all(|w| w[0] < w[1]),
                    "{name} @{pos}/{mutation}: times not increasing"
                );
            }
        }
    }
}
