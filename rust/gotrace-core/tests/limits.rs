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
