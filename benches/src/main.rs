//! ministry's benchmarks, each run side by side with its peer in one process and reported
//! as medians and ratios (never as pass/fail unit tests).
//!
//! `cargo run --release -p ministry-benches -- unpack|runtime|run|registry|bridge|rss|api|build [--runs N]`

mod api;
mod bridge;
mod build;
mod cli_run;
mod fixture;
mod netns;
mod registry;
mod rss;
mod runtime;
mod stats;
mod unpack;

fn main() -> anyhow::Result<()> {
    // This binary is also libruntime's monitor helper (never returns when started as one).
    libruntime::maybe_run();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10);
    match args.first().map(String::as_str) {
        Some("unpack") => unpack::run(runs),
        Some("runtime") => runtime::run(runs),
        Some("run") => cli_run::run(runs),
        Some("registry") => registry::run(runs),
        Some("bridge") => bridge::run(runs),
        Some("rss") => rss::run(runs),
        Some("api") => api::run(runs),
        Some("build") => build::run(runs),
        _ => {
            eprintln!(
                "usage: ministry-bench unpack|runtime|run|registry|bridge|rss|api|build [--runs N]"
            );
            std::process::exit(2)
        }
    }
}
