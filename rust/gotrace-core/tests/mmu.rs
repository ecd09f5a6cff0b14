//! MMU of a real trace (Go's own test trace go122-gc-stress, as in Go's TestMMUTrace):
//! the oracle's values, the brute-force minimum, and the band count not mattering.

use gotrace_core::analysis::mmu::{
    mutator_utilization, trace_mmu, MmuCurve, MutatorUtil, UTIL_DEFAULT, UTIL_PER_PROC, UTIL_SWEEP,
};
use gotrace_core::parse;

const GC_STRESS: &[u8] = include_bytes!("data/go122-gc-stress.trace");
const WINDOWS: [i64; 4] = [1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// `tracecheck summary` of go122-gc-stress (both flag sets give the same values).
const GO_MMU: [f64; 4] = [
    0.28589599999999976,
    0.3677860815780204,
    0.3677860815780204,
    0.3677860815780204,
];

#[test]
fn gc_stress_equals_go() {
    let t = parse(GC_STRESS);
    assert!(t.error.is_none());
    for flags in [UTIL_DEFAULT, UTIL_DEFAULT | UTIL_SWEEP] {
        let r = trace_mmu(&t, flags, &WINDOWS).unwrap();
        assert_eq!((r.series, r.util_points), (1, 442));
        for (got, want) in r.mmu.iter().zip(GO_MMU) {
            let got = got.unwrap();
            assert!((got - want).abs() < 1e-12, "got {got}, Go {want}");
        }
    }
}

/// Go's `mmuSlow`: every window with an edge at a change, left- and right-aligned.
fn mmu_slow(util: &[MutatorUtil], window: i64) -> f64 {
    let window = window.min(util[util.len() - 1].time - util[0].time);
    let mut mmu = 1.0f64;
    let mean_to = |util: &[MutatorUtil], end: i64| {
        let mut total = 0.0;
        let mut prev = MutatorUtil { time: 0, util: 0.0 };
        for u in util {
            if u.time > end {
                total += prev.util * (end - prev.time) as f64;
                break;
            }
            total += prev.util * (u.time - prev.time) as f64;
            prev = *u;
        }
        total / (end - util[0].time) as f64
    };
    let mut update = |util: &[MutatorUtil]| {
        for (i, u) in util.iter().enumerate() {
            if u.time + window > util[util.len() - 1].time {
                break;
            }
            mmu = mmu.min(mean_to(&util[i..], u.time + window));
        }
    };
    update(util);
    let n = util.len();
    let rev: Vec<MutatorUtil> = (0..n)
        .map(|k| {
            let i = n - 1 - k;
            MutatorUtil {
                time: -util[i].time,
                util: if i == 0 { 0.0 } else { util[i - 1].util },
            }
        })
        .collect();
    update(&rev);
    mmu
}

#[test]
fn gc_stress_equals_brute_force_for_any_band_count() {
    let t = parse(GC_STRESS);
    let util = mutator_utilization(&t, UTIL_DEFAULT).unwrap();
    let fine = MmuCurve::new(util.clone()).unwrap();
    let coarse = MmuCurve::with_bands(util.clone(), 1).unwrap();
    let mut w = 1i64;
    while w < 10_000_000_000 {
        let want = mmu_slow(&util[0], w);
        for c in [&fine, &coarse] {
            let got = c.mmu(w).unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "window {w}: got {got}, want {want}"
            );
        }
        w *= 10;
    }
}

#[test]
fn per_proc_series_are_zero_or_one() {
    let t = parse(GC_STRESS);
    let util = mutator_utilization(&t, UTIL_DEFAULT | UTIL_PER_PROC).unwrap();
    assert!(!util.is_empty());
    for s in &util {
        assert!(s.iter().all(|u| u.util == 0.0 || u.util == 1.0));
        assert!(s.windows(2).all(|w| w[0].time < w[1].time));
    }
    let curve = MmuCurve::new(util).unwrap();
    let v = curve.mmu(1_000_000).unwrap();
    assert!((0.0..=1.0).contains(&v));
}
