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
fn originals_parse_cleanly_whole_and_streamed() {
    for (name, data) in corpus() {
        let t = parse(data);
        assert!(t.error.is_none(), "{name}: {:?}", t.error);
        assert!(t.events.len() > 2, "{name}");
        // A reader that hands out a few bytes at a time exercises every buffer boundary.
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let s = gotrace_core::parse_read(Trickle(data), 0);
        assert!(s.error.is_none(), "{name}: {:?}", s.error);
        let (a, b) = (&t.events, &s.events);
        assert_eq!(a.time, b.time, "{name}");
        assert_eq!(
            (&a.kind, &a.g, &a.p, &a.m),
            (&b.kind, &b.g, &b.p, &b.m),
            "{name}"
        );
        assert_eq!(
            (&a.arg, &a.name, &a.aux, &a.stack),
            (&b.arg, &b.name, &b.aux, &b.stack),
            "{name}"
        );
    }
}

#[test]
fn stream_io_error_is_reported() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let data = include_bytes!("data/go1.25.5-mixed-small.trace");
            if self.0 >= 50_000 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(50_000 - self.0);
            buf[..n].copy_from_slice(&data[self.0..self.0 + n]);
            self.0 += n;
            Ok(n)
        }
    }
    let t = gotrace_core::parse_read(Failing(0), 0);
    let e = t.error.expect("an error");
    assert_eq!(e.kind, gotrace_core::ErrorKind::Io);
    assert_eq!(e.message, "disk on fire");
    assert_eq!(e.offset, Some(50_000));
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
                // Streaming the same bytes gives the same table and the same error.
                if pos % 7 == 0 {
                    let s = gotrace_core::parse_read(&m[..], m.len());
                    assert_eq!(s.events.time, t.events.time, "{name} @{pos}/{mutation}");
                    assert_eq!(s.events.arg, t.events.arg, "{name} @{pos}/{mutation}");
                    assert_eq!(
                        s.error.as_ref().map(|e| (&e.message, e.offset)),
                        t.error.as_ref().map(|e| (&e.message, e.offset)),
                        "{name} @{pos}/{mutation}"
                    );
                }
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
