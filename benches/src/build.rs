//! `build` of a ten-instruction Dockerfile (a `COPY` of a ~50 MB tree, three `RUN` steps,
//! metadata steps), whole CLI process, side by side: `ministry build --network none` and
//! Docker's classic builder (`DOCKER_BUILDKIT=0 docker build --network none`) against a
//! private dockerd with no bridge (temp roots); `--network none` needs no netns, as in
//! `run`. Three cases, interleaved, after one untimed warm-up each (the issue's goals):
//! cold (`--no-cache`, the previous runs' images pruned first, untimed) <= 0.5x, fully
//! cached rebuild <= 0.2x, rebuild after changing one file's content under the `COPY`
//! <= 0.5x. After each timed build (untimed) the image is run and must print what the
//! build put in it, so a fast failure can never pass for a fast build.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::cli_run::{docker, start_dockerd};
use crate::stats::report;

/// The image tag both engines build.
const TAG: &str = "benchbuild:latest";

/// Number of pseudo-random files in the context tree and their mean size (~50 MiB).
const FILES: usize = 400;
const MEAN: usize = 128 << 10;

/// The Dockerfile: ten instructions, `COPY` and three `RUN` steps among them.
const DOCKERFILE: &str = r#"FROM busybox
LABEL org.example.bench="build"
ENV APP_HOME=/app
WORKDIR /app
COPY tree /app/tree
RUN find /app/tree -type f | wc -l > /app/count
RUN mkdir -p /app/out && cp /app/tree/version.txt /app/out/version
RUN du -s /app/tree > /app/out/du
EXPOSE 8080
CMD ["cat", "/app/out/version"]
"#;

/// Run in the built image (from its `WORKDIR`): prints `$APP_HOME`, the `rev` the `RUN`
/// step copied, the file count, and the copied `rev` (see [`Side::verify`]).
const CHECK: &str = "test -s out/du && echo $APP_HOME && cat out/version count tree/version.txt";

/// Writes the context: the Dockerfile and `tree/` of `FILES` files of xorshift bytes
/// (fixed seed, sizes 0..2*MEAN) in 8x5 nested dirs, plus `tree/version.txt`.
/// Returns the total bytes and the number of files under `tree/`.
fn make_context(ctx: &Path) -> Result<(u64, usize)> {
    std::fs::create_dir_all(ctx.join("tree"))?;
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE)?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut total = 0;
    for i in 0..FILES {
        let dir = ctx.join(format!("tree/d{}/e{}", i % 8, i / 8 % 5));
        std::fs::create_dir_all(&dir)?;
        let len = (next() as usize) % (2 * MEAN);
        let data: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| next().to_le_bytes())
            .take(len)
            .collect();
        std::fs::write(dir.join(format!("f{i}.bin")), &data)?;
        total += len as u64;
    }
    std::fs::write(ctx.join("tree/version.txt"), "rev-0\n")?;
    Ok((total, FILES + 1))
}

/// One engine under test: how to start its CLI.
struct Side<'a> {
    name: &'static str,
    cli: Box<dyn Fn() -> Command + 'a>,
}

impl Side<'_> {
    /// Runs `args`, failing with its stderr unless it succeeds; returns its stdout.
    fn ok(&self, args: &[&str]) -> Result<String> {
        let mut c = (self.cli)();
        let o = c.args(args).stdin(Stdio::null()).output()?;
        ensure!(
            o.status.success(),
            "{}: {args:?} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Runs the built image: it must print what [`CHECK`] expects of this build.
    fn verify(&self, rev: usize, files: usize) -> Result<()> {
        let out = self.ok(&["run", "--rm", "--network", "none", TAG, "sh", "-c", CHECK])?;
        let got: Vec<&str> = out.split_whitespace().collect();
        let (rev, files) = (format!("rev-{rev}"), files.to_string());
        let want = ["/app", rev.as_str(), files.as_str(), rev.as_str()];
        ensure!(
            got == want,
            "{}: the built image printed {got:?}, expected {want:?}",
            self.name
        );
        Ok(())
    }
}

/// Times `build --network none -t TAG [extra] CTX` on both sides, interleaved, `runs`
/// times after one warm-up; `prepare(side)` runs untimed before each build and returns
/// the `rev` the image must then show. Each build's output must show `cached` steps
/// (` ---> Using cache` lines: 0 cold, all 9 after `FROM` fully cached, the 3 before the
/// `COPY` after a change), so both did the same work. (Not `Running in` lines: Docker's
/// classic builder also runs a container for each metadata step, ministry does not.)
fn case(
    sides: &[Side; 2],
    runs: usize,
    ctx: &Path,
    extra: &[&str],
    (files, cached): (usize, usize),
    mut prepare: impl FnMut(&Side) -> Result<usize>,
) -> Result<[Vec<Duration>; 2]> {
    let ctx = ctx.to_str().context("context path")?;
    let args: Vec<&str> = ["build", "--network", "none", "-t", TAG]
        .into_iter()
        .chain(extra.iter().copied())
        .chain([ctx])
        .collect();
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..=runs {
        for (side, v) in sides.iter().zip(times.iter_mut()) {
            let rev = prepare(side)?;
            let t = Instant::now();
            let out = side.ok(&args)?;
            let d = t.elapsed();
            let hits = out.matches(" ---> Using cache").count();
            ensure!(
                hits == cached,
                "{}: {hits} steps from the cache, expected {cached}:\n{out}",
                side.name
            );
            side.verify(rev, files)?;
            if i > 0 {
                v.push(d);
            }
        }
    }
    times.iter_mut().for_each(|v| v.sort());
    Ok(times)
}

pub fn run(runs: usize) -> Result<()> {
    let ministry = crate::fixture::ministry_binary()?;
    let tmp = tempfile::Builder::new()
        .prefix("buildbench")
        .tempdir_in("/tmp")?;
    let tar = tmp.path().join("busybox.tar");
    crate::fixture::busybox(&tmp.path().join("rootfs"), &tar)?;
    let ctx = tmp.path().join("ctx");
    let (bytes, files) = make_context(&ctx)?;
    let d = start_dockerd(&tmp.path().join("docker"))?;
    let sides = [
        Side {
            name: "ministry",
            cli: Box::new(|| crate::fixture::ministry_in(&ministry, tmp.path())),
        },
        Side {
            name: "docker",
            cli: Box::new(|| {
                let mut c = docker(&d);
                c.env("DOCKER_BUILDKIT", "0");
                c
            }),
        },
    ];
    for s in &sides {
        s.ok(&["import", tar.to_str().context("tar path")?, "busybox"])?;
    }
    println!(
        "build of a 10-instruction Dockerfile, COPY of {files} files ({:.1} MB), 3 RUN; `build --network none`, whole CLI process (docker: DOCKER_BUILDKIT=0, Docker's classic builder); medians of {runs} runs, interleaved, after a warm-up; the context in the page cache for both; cold = `--no-cache` after `image prune -f` (untimed), the same for both",
        bytes as f64 / 1e6
    );
    let mut raw = Vec::new();

    // Cold: every step runs again; earlier runs' images pruned (untimed) for both.
    let [a, b] = case(&sides, runs, &ctx, &["--no-cache"], (files, 0), |s| {
        s.ok(&["image", "prune", "-f"])?;
        Ok(0)
    })?;
    raw.push(report(
        "cold build (--no-cache)",
        &a,
        "docker build (classic)",
        &b,
        0.5,
    ));

    // Fully cached: nothing changed since the previous build.
    let [a, b] = case(&sides, runs, &ctx, &[], (files, 9), |_| Ok(0))?;
    raw.push(report(
        "fully cached rebuild",
        &a,
        "docker build (classic)",
        &b,
        0.2,
    ));

    // One file's content changed under the COPY before each build: COPY and the RUN
    // steps after it run again.
    let mut rev = 0;
    let version = ctx.join("tree/version.txt");
    let [a, b] = case(&sides, runs, &ctx, &[], (files, 3), |_| {
        rev += 1;
        std::fs::write(&version, format!("rev-{rev}\n"))?;
        Ok(rev)
    })?;
    raw.push(report(
        "rebuild after one file changed under COPY",
        &a,
        "docker build (classic)",
        &b,
        0.5,
    ));

    for s in &sides {
        let _ = s.ok(&["rmi", TAG]);
        let _ = s.ok(&["image", "prune", "-f"]);
    }
    drop(sides);
    drop(d);
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join("ministry-bench"));
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-build.json");
    std::fs::write(&out, serde_json::to_vec_pretty(&raw)?)?;
    println!("raw data: {}", out.display());
    Ok(())
}
