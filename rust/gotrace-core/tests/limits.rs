//! `max_events`: a parse stops with an `ErrorKind::Limit` error once the trace has more
//! events than the limit, keeping exactly the first `max_events` events.

use gotrace_core::{parse, parse_limited, parse_read_limited, ErrorKind, Trace};

fn same_prefix(full: &Trace, t: &Trace, n: usize, what: &str) {
    assert_eq!(t.events.len(), n, "{what}");
    assert_eq!(t.events.time[..], full.events.time[..n], "{what}");
    assert_eq!(t.events.kind[..], full.events.kind[..n], "{what}");
    assert_eq!(
        t.events.arg.to_vec(),
        full.events.arg.to_vec()[..n],
        "{what}"
    );
}

#[test]
fn limit_keeps_the_first_events_and_names_itself() {
    let traces: [(&str, &[u8]); 3] = [
        (
            "v2 1.27",
            include_bytes!("data/go1.27.3-testprog-annotations.trace"),
        ),
        ("v2 1.22", include_bytes!("data/go122-gc-stress.trace")),
        (
            "v1 1.21",
            include_bytes!("data/gosrc-user_task_region_1_21_good.trace"),
        ),
    ];
    for (name, data) in traces {
        let full = parse(data);
        assert!(full.error.is_none());
        let n = full.events.len();
        for max in [0, 1, 2, n / 2, n - 1, n, n + 1, usize::MAX / 2] {
            let what = format!("{name} max_events={max}");
            let t = parse_limited(data, Some(max as u64), &mut || false);
            let s = parse_read_limited(data, data.len(), Some(max as u64), &mut || false);
            for t in [&t, &s] {
                if max >= n {
                    assert!(t.error.is_none(), "{what}: {:?}", t.error);
                    same_prefix(&full, t, n, &what);
                    continue;
                }
                let e = t.error.as_ref().expect("limit error");
                assert_eq!(e.kind, ErrorKind::Limit, "{what}: {e:?}");
                assert!(e.message.contains(&format!("max_events={max}")), "{e:?}");
                assert!(e.offset.is_some(), "{what}");
                assert_eq!(
                    e.generation.is_some(),
                    !name.starts_with("v1"),
                    "{what}: {e:?}"
                );
                same_prefix(&full, t, max, &what);
            }
        }
    }
}

/// The same through drained parses (the streaming analyses' reader), with the rows made
/// by the reader and left to the consumer's side, on its thread or another.
#[test]
fn limit_in_drained_parses() {
    use gotrace_core::stream::{drain, drain_pipelined, DRAINED};
    let traces: [(&str, &[u8]); 2] = [
        (
            "v2 1.27",
            include_bytes!("data/go1.27.3-testprog-annotations.trace"),
        ),
        ("v2 1.22", include_bytes!("data/go122-gc-stress.trace")),
    ];
    for (name, data) in traces {
        let full = parse(data);
        let n = full.events.len();
        for max in [0, 1, n / 2, n - 1, n, n + 1] {
            for (unconverted, pipelined, chunk_rows) in [
                (false, false, 0),
                (true, false, 0),
                (true, false, 5),
                (true, true, 0),
                (true, true, 3),
            ] {
                let what =
                    format!("{name} max_events={max} {unconverted} {pipelined} {chunk_rows}");
                let opts = gotrace_core::ParseOptions {
                    threads: Some(1),
                    max_events: Some(max as u64),
                    chunk_rows,
                    unconverted,
                    ..DRAINED
                };
                let mut times = Vec::new();
                let mut consume = |t: &Trace| times.extend_from_slice(&t.events.time);
                let parse = |h: &mut gotrace_core::Hook| gotrace_core::parse_with(data, &opts, h);
                let t = if pipelined {
                    drain_pipelined(parse, &mut consume, &mut |_, _| false)
                } else {
                    drain(parse, &mut consume, &mut |_, _| false)
                };
                assert_eq!(times[..], full.events.time[..n.min(max)], "{what}");
                assert_eq!(t.cleared as usize, n.min(max), "{what}");
                match t.error {
                    None => assert!(max >= n, "{what}"),
                    Some(e) => {
                        assert!(max < n, "{what}: {e:?}");
                        assert_eq!(e.kind, ErrorKind::Limit, "{what}: {e:?}");
                    }
                }
            }
        }
    }
}
