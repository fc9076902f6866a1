//! Timing helpers and the report line.

use std::time::{Duration, Instant};

/// Times `a` and `b` `runs` times each, interleaved (a, b, a, b, ...) after one warm-up of
/// each, so that drift in the machine's state affects both alike. `prepare(i)` runs before
/// each timed call, outside the timed section. Returns both sorted duration lists.
pub fn time_pair(
    runs: usize,
    mut prepare: impl FnMut(usize),
    mut a: impl FnMut(usize),
    mut b: impl FnMut(usize),
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut va, mut vb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..=runs {
        for which in 0..2 {
            let id = i * 2 + which;
            prepare(id);
            let t = Instant::now();
            if which == 0 {
                a(id)
            } else {
                b(id)
            }
            let d = t.elapsed();
            if i > 0 {
                if which == 0 {
                    va.push(d)
                } else {
                    vb.push(d)
                }
            }
        }
    }
    va.sort();
    vb.sort();
    (va, vb)
}

/// The median of sorted durations.
pub fn median(v: &[Duration]) -> Duration {
    v[v.len() / 2]
}

/// Prints one comparison and returns it as JSON raw data.
pub fn report(
    name: &str,
    ours: &[Duration],
    peer_name: &str,
    peer: &[Duration],
    goal: f64,
) -> serde_json::Value {
    let (m, p) = (median(ours), median(peer));
    let ratio = m.as_secs_f64() / p.as_secs_f64();
    println!(
        "{name}: ministry {:.1} ms, {peer_name} {:.1} ms, ratio {ratio:.2}x (goal <= {goal}x) {}",
        m.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        if ratio <= goal { "MET" } else { "NOT MET" }
    );
    serde_json::json!({
        "benchmark": name,
        "peer": peer_name,
        "ministry_ms": ours.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        "peer_ms": peer.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        "median_ratio": ratio,
        "goal": goal,
    })
}
