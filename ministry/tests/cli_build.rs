//! `ministry build` end to end: Docker's classic builder output, the cache, `.dockerignore`,
//! multi-stage builds, build args, heredocs, `ONBUILD`, contexts from stdin, failures,
//! reproducibility, and the context's safety.

mod common;

use std::path::Path;

use common::*;

fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// The output with IDs replaced, for comparing the shape of the classic builder's lines.
fn shape(out: &str) -> String {
    out.lines()
        .map(|l| {
            let l = if let Some(rest) = l.strip_prefix(" ---> Running in ") {
                assert_eq!(rest.len(), 12, "{l}");
                " ---> Running in ID".to_string()
            } else if let Some(rest) = l.strip_prefix("Removing intermediate container ") {
                assert_eq!(rest.len(), 12, "{l}");
                "Removing intermediate container ID".to_string()
            } else if let Some(rest) = l.strip_prefix("Successfully built ") {
                assert_eq!(rest.len(), 12, "{l}");
                "Successfully built ID".to_string()
            } else if let Some(rest) = l.strip_prefix(" ---> ") {
                if rest.len() == 12 && rest.chars().all(|c| c.is_ascii_hexdigit()) {
                    " ---> ID".to_string()
                } else {
                    l.to_string()
                }
            } else if l.starts_with("Sending build context to Docker daemon  ") {
                "Sending build context to Docker daemon  SIZE".to_string()
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .collect()
}

fn build(m: &Ministry, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut a = vec!["build", "--network", "none"];
    a.extend_from_slice(args);
    let d = dir.to_string_lossy().to_string();
    a.push(&d);
    m.run(&a)
}

fn build_ok(m: &Ministry, dir: &Path, args: &[&str]) -> String {
    let o = build(m, dir, args);
    assert!(
        o.status.success(),
        "build failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn build_prints_the_classic_builders_steps_and_uses_its_cache() {
    let m = Ministry::new();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    write(d, "a.txt", "hello\n");
    write(d, "d/e/f", "x\n");
    write(
        d,
        "Dockerfile",
        "FROM busybox\nENV A=b\nCOPY a.txt /app/\nCOPY d /app/d\nRUN echo hi; ls /app\nWORKDIR /app\nCMD [\"cat\",\"a.txt\"]\n",
    );
    let out = build_ok(&m, d, &["-t", "t1"]);
    assert_eq!(
        shape(&out),
        "Sending build context to Docker daemon  SIZE\n\
Step 1/7 : FROM busybox\n ---> ID\n\
Step 2/7 : ENV A=b\n ---> ID\n\
Step 3/7 : COPY a.txt /app/\n ---> ID\n\
Step 4/7 : COPY d /app/d\n ---> ID\n\
Step 5/7 : RUN echo hi; ls /app\n ---> Running in ID\nhi\na.txt\nd\nRemoving intermediate container ID\n ---> ID\n\
Step 6/7 : WORKDIR /app\n ---> ID\n\
Step 7/7 : CMD [\"cat\",\"a.txt\"]\n ---> ID\n\
Successfully built ID\nSuccessfully tagged t1:latest\n"
    );
    assert_eq!(m.ok(&["run", "--rm", "--network", "none", "t1"]), "hello\n");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "t1",
            "sh",
            "-c",
            "echo $A; pwd; cat d/e/f"
        ]),
        "b\n/app\nx\n"
    );
    // Only the final image is listed; the steps show with -a and form its history.
    assert_eq!(m.ok(&["images", "-q"]).lines().count(), 2);
    assert!(m.ok(&["images", "-aq"]).lines().count() >= 7);
    let hist = m.ok(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", "t1"]);
    let hist: Vec<&str> = hist.lines().collect();
    assert_eq!(hist[0], "/bin/sh -c #(nop)  CMD [\"cat\" \"a.txt\"]");
    assert_eq!(hist[1], "/bin/sh -c #(nop) WORKDIR /app");
    assert_eq!(hist[2], "/bin/sh -c echo hi; ls /app");
    assert!(
        hist[3].starts_with("/bin/sh -c #(nop) COPY dir:") && hist[3].ends_with(" in /app/d "),
        "{}",
        hist[3]
    );
    assert!(
        hist[4].starts_with("/bin/sh -c #(nop) COPY file:") && hist[4].ends_with(" in /app/ "),
        "{}",
        hist[4]
    );
    assert_eq!(hist[5], "/bin/sh -c #(nop)  ENV A=b");
    let id1 = m.ok(&["images", "-q", "--no-trunc", "t1"]);

    // Rebuilt unchanged: every step from the cache, the same image.
    let out = build_ok(&m, d, &["-t", "t1"]);
    assert_eq!(out.matches(" ---> Using cache").count(), 6, "{out}");
    assert!(!out.contains("Running in"), "{out}");
    assert_eq!(m.ok(&["images", "-q", "--no-trunc", "t1"]), id1);

    // A time-only change keeps the cache (Docker hashes content, not times); a content
    // change invalidates from its COPY on, and only from there.
    std::process::Command::new("touch")
        .arg(d.join("d/e/f"))
        .status()
        .unwrap();
    let out = build_ok(&m, d, &["-t", "t1"]);
    assert_eq!(out.matches(" ---> Using cache").count(), 6, "{out}");
    write(d, "d/e/f", "y\n");
    let out = build_ok(&m, d, &["-t", "t1"]);
    assert_eq!(out.matches(" ---> Using cache").count(), 2, "{out}");
    assert!(
        out.contains("Step 4/7 : COPY d /app/d\n ---> ")
            && !out.contains("Step 4/7 : COPY d /app/d\n ---> Using cache"),
        "{out}"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "--network", "none", "t1", "cat", "d/e/f"]),
        "y\n"
    );

    // --no-cache runs every step; -q prints only the ID; --iidfile writes it.
    let iid = d.join("iid");
    let out = build_ok(
        &m,
        d,
        &["--no-cache", "-q", "--iidfile", iid.to_str().unwrap()],
    );
    assert!(
        out.starts_with("sha256:") && out.trim().len() == 71,
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), out.trim());

    // rmi of the tag removes the steps under it too (Docker's untagged parents), down
    // to a step another image still builds on; prune takes the superseded chain.
    let rmi = m.ok(&["rmi", "-f", out.trim()]);
    assert_eq!(rmi.matches("Deleted: ").count(), 6, "{rmi}");
    let rmi = m.ok(&["rmi", "t1"]);
    assert!(
        rmi.starts_with("Untagged: t1:latest\nDeleted: sha256:"),
        "{rmi}"
    );
    assert_eq!(rmi.matches("Deleted: ").count(), 5, "{rmi}");
    let pruned = m.ok(&["image", "prune", "-f"]);
    assert_eq!(pruned.matches("deleted: ").count(), 8, "{pruned}");
    assert_eq!(m.ok(&["images", "-aq"]).lines().count(), 1);
    assert!(m.ok(&["system", "check"]).contains("No problems found"));
}

#[test]
fn dockerignore_keeps_files_out_of_the_context() {
    let m = Ministry::new();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    for f in [
        "keep.txt",
        "a.md",
        "keep.md",
        ".git/config",
        "node_modules/x/index.js",
        "src/main.go",
        "src/sub/x.go",
        "src/sub/readme.txt",
        "temp1",
    ] {
        write(d, f, "x");
    }
    write(
        d,
        ".dockerignore",
        "# comment\n.git\n*.md\n!keep.md\nnode_modules\n**/*.go\ntemp?\n",
    );
    write(d, "Dockerfile", "FROM busybox\nCOPY . /ctx\n");
    build_ok(&m, d, &["-t", "ign"]);
    let files = m.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "ign",
        "sh",
        "-c",
        "cd /ctx && find . | sort",
    ]);
    assert_eq!(
        files,
        ".\n./.dockerignore\n./Dockerfile\n./keep.md\n./keep.txt\n./src\n./src/sub\n./src/sub/readme.txt\n"
    );
    // A COPY of an excluded file fails with Docker's text.
    write(d, "Dockerfile", "FROM busybox\nCOPY a.md /\n");
    let o = build(&m, d, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "COPY failed: file not found in build context or excluded by .dockerignore: stat a.md: file does not exist\n"
    );
}

#[test]
fn multi_stage_builds_copy_from_stages_and_stop_at_the_target() {
    let m = Ministry::new();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    write(
        d,
        "Dockerfile",
        "ARG V=1\n\
FROM busybox AS base\nARG V\nRUN echo v=$V > /v\n\
FROM busybox AS unused\nRUN exit 3\n\
FROM scratch AS final\nCOPY --from=base /bin/busybox /bin/busybox\nCOPY --from=base /v /v\n\
CMD [\"/bin/busybox\", \"cat\", \"/v\"]\n",
    );
    let out = build_ok(&m, d, &["-t", "ms", "--build-arg", "V=7"]);
    // The stage nothing needs is skipped.
    assert!(!out.contains("exit 3"), "{out}");
    assert!(out.contains("Step 1/8 : ARG V=1\n"), "{out}");
    assert!(out.contains("FROM scratch AS final\n ---> \n"), "{out}");
    assert_eq!(m.ok(&["run", "--rm", "--network", "none", "ms"]), "v=7\n");
    // --target builds up to that stage.
    let out = build_ok(&m, d, &["-t", "base", "--target", "base"]);
    assert!(out.contains("Successfully tagged base:latest"), "{out}");
    assert_eq!(
        m.ok(&["run", "--rm", "--network", "none", "base", "cat", "/v"]),
        "v=1\n"
    );
    let o = build(&m, d, &["--target", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("failed to reach build target nope in Dockerfile"));
    // An unused build arg is warned about.
    let out = build_ok(&m, d, &["--build-arg", "NOPE=1"]);
    assert!(
        out.contains("[Warning] One or more build-args [NOPE] were not consumed\n"),
        "{out}"
    );
}

#[test]
fn a_failing_step_tags_nothing_and_reports_dockers_text() {
    let m = Ministry::new();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    write(d, "Dockerfile", "FROM busybox\nRUN echo out; exit 3\n");
    let o = build(&m, d, &["-t", "bad"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\nout\n"));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3\n"
    );
    assert!(m.run(&["image", "inspect", "bad"]).status.code() == Some(1));
    // Docker keeps the failed step's container unless --force-rm.
    assert_eq!(m.ok(&["ps", "-aq"]).lines().count(), 1);
    m.ok(&["rm", "-f", m.ok(&["ps", "-aq"]).trim()]);
    let o = build(&m, d, &["--force-rm"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(m.ok(&["ps", "-aq"]), "");
    // Exec form.
    write(d, "Dockerfile", "FROM busybox\nRUN [\"false\"]\n");
    let o = build(&m, d, &["--force-rm"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "The command 'false' returned a non-zero code: 1\n"
    );
    // A Dockerfile that does not parse: the daemon's error, before any step.
    write(d, "Dockerfile", "FROM busybox\nFOO bar\n");
    let o = build(&m, d, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO\n"
    );
    // No Dockerfile: the CLI's error.
    std::fs::remove_file(d.join("Dockerfile")).unwrap();
    let o = build(&m, d, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with(
        "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat "
    ));
}

#[test]
fn metadata_instructions_reach_the_image_config() {
    let m = Ministry::new();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    write(
        d,
        "Dockerfile",
        "FROM busybox\nMAINTAINER me\nLABEL a=b c=\"d e\"\nEXPOSE 80 90/udp\nVOLUME /data\nUSER nobody\n\
WORKDIR rel\nWORKDIR more\nSTOPSIGNAL SIGKILL\nHEALTHCHECK --interval=5s --retries=2 CMD true\n\
ENTRYPOINT [\"top\", \"-b\"]\nCMD [\"-c\"]\nSHELL [\"/bin/sh\", \"-xc\"]\nONBUILD RUN echo trig > /tmp/trig\n",
    );
    build_ok(&m, d, &["-t", "meta", "--label", "built=yes"]);
    let c: serde_json::Value = serde_json::from_str(&m.ok(&["image", "inspect", "meta"])).unwrap();
    let cfg = &c[0]["Config"];
    assert_eq!(c[0]["Author"], "me");
    assert_eq!(
        cfg["Labels"],
        serde_json::json!({"a": "b", "c": "d e", "built": "yes"})
    );
    assert_eq!(
        cfg["ExposedPorts"],
        serde_json::json!({"80/tcp": {}, "90/udp": {}})
    );
    assert_eq!(cfg["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(cfg["User"], "nobody");
    assert_eq!(cfg["WorkingDir"], "/rel/more");
    assert_eq!(cfg["StopSignal"], "SIGKILL");
    assert_eq!(
        cfg["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(cfg["Healthcheck"]["Interval"], 5_000_000_000u64);
    assert_eq!(cfg["Healthcheck"]["Retries"], 2);
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["top", "-b"]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["-c"]));
    assert_eq!(cfg["Shell"], serde_json::json!(["/bin/sh", "-xc"]));
    assert_eq!(
        cfg["OnBuild"],
        serde_json::json!(["RUN echo trig > /tmp/trig"])
    );
    let hist = m.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "meta",
    ]);
    assert!(hist.contains("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x02'}\n"), "{hist}");
    assert!(
        hist.contains("/bin/sh -c #(nop)  EXPOSE 80 90/udp\n"),
        "{hist}"
    );
    assert!(
        hist.contains("/bin/sh -xc #(nop)  ONBUILD RUN echo trig > /tmp/trig\n"),
        "{hist}"
    );

    // ONBUILD runs in the child build, right after FROM, then is cleared.
    let child = tempfile::tempdir().unwrap();
    write(child.path(), "Dockerfile", "FROM meta\nUSER root\n");
    let out = build_ok(&m, child.path(), &["-t", "child"]);
    assert!(out.contains("# Executing 1 build trigger\n"), "{out}");
    let c: serde_json::Value = serde_json::from_str(&m.ok(&["image", "inspect", "child"])).unwrap();
    assert_eq!(c[0]["Config"]["OnBuild"], serde_json::Value::Null);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            "child",
            "/tmp/trig"
        ]),
        "trig\n"
    );
}

#[test]
fn heredocs_stdin_contexts_and_chown() {
    let m = Ministry::new();
    m.busybox("busybox");
    let tmp = tempfile::tempdir().unwrap();
    // `-` with a Dockerfile only.
    let df = tmp.path().join("Dockerfile");
    std::fs::write(
        &df,
        "FROM busybox\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\n\
COPY <<EOF /etc/greeting\nhello ${NAME:-world}\nEOF\n\
RUN cat <<A <<B > /two\na\nA\nb\nB\n",
    )
    .unwrap();
    let out = m.ok_stdin(&["build", "--network", "none", "-t", "hd", "-"], &df);
    assert!(out.contains("Successfully tagged hd:latest"), "{out}");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "hd",
            "cat",
            "/one",
            "/etc/greeting",
            "/two"
        ]),
        "one\ntwo\nhello world\nb\n"
    );
    // `-` with a tar context (gzip).
    let ctx = tmp.path().join("ctx");
    write(&ctx, "f.txt", "from tar\n");
    write(
        &ctx,
        "Dockerfile",
        "FROM busybox\nCOPY --chown=nobody:1234 f.txt /f\nCOPY --chmod=600 f.txt /g\n",
    );
    let tgz = tmp.path().join("ctx.tgz");
    assert!(std::process::Command::new("tar")
        .arg("-C")
        .arg(&ctx)
        .arg("-czf")
        .arg(&tgz)
        .arg(".")
        .status()
        .unwrap()
        .success());
    let out = m.ok_stdin(&["build", "--network", "none", "-t", "tarctx", "-"], &tgz);
    assert!(out.contains("Successfully tagged tarctx:latest"), "{out}");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "tarctx",
            "sh",
            "-c",
            "cat /f; stat -c '%u:%g %a' /f /g"
        ]),
        "from tar\n65534:1234 644\n0:0 600\n"
    );
    // -f outside the context, and -f -.
    let other = tmp.path().join("other.Dockerfile");
    std::fs::write(&other, "FROM busybox\nCOPY f.txt /x\n").unwrap();
    m.ok(&[
        "build",
        "--network",
        "none",
        "-t",
        "ff",
        "-f",
        other.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    let out = m.ok_stdin(
        &[
            "build",
            "--network",
            "none",
            "-t",
            "fstdin",
            "-f",
            "-",
            ctx.to_str().unwrap(),
        ],
        &other,
    );
    assert!(out.contains("Successfully tagged fstdin:latest"), "{out}");
}

#[test]
fn builds_are_reproducible_across_data_roots() {
    let m = Ministry::new();
    let m2 = m.sibling();
    m.busybox("busybox");
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    // The same base image on both roots (saved from one, loaded into the other).
    let keep = tempfile::tempdir().unwrap();
    let saved = keep.path().join("busybox.tar");
    m.ok(&["save", "-o", saved.to_str().unwrap(), "busybox"]);
    m2.ok(&["load", "-i", saved.to_str().unwrap()]);
    write(d, "a/b.txt", "content\n");
    write(
        d,
        "Dockerfile",
        "FROM scratch\nCOPY a /a\nENV X=1\nCMD [\"/x\"]\n",
    );
    let epoch = ["-q", "--build-arg", "SOURCE_DATE_EPOCH=1700000000"];
    let a = build_ok(&m, d, &epoch);
    let b = build_ok(&m2, d, &epoch);
    assert_eq!(a, b);
    // Without the epoch, the layers are still the same (times come from the files).
    let layers = |m: &Ministry| {
        let id = build_ok(m, d, &["-q", "--no-cache"]);
        m.ok(&["image", "inspect", "-f", "{{.RootFS.Layers}}", id.trim()])
    };
    assert_eq!(layers(&m), layers(&m2));
    // With RUN steps too: file times clamped, no container ID recorded.
    write(
        d,
        "Dockerfile",
        "FROM busybox\nCOPY a /a\nRUN mkdir -p /out && echo made > /out/f && touch /a/b.txt\nWORKDIR /w\n",
    );
    let a = build_ok(&m, d, &epoch);
    let b = build_ok(&m2, d, &epoch);
    assert_eq!(a, b);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            a.trim(),
            "sh",
            "-c",
            "cat /out/f; stat -c %Y /out/f"
        ]),
        "made\n1700000000\n"
    );
}

/// Safety: COPY sources stay inside the context whatever they name (a source link is
/// followed inside the context, as Docker's FollowSymlinkInScope); a link inside a copied
/// directory is copied as a link; an ADDed archive cannot write outside the image's root.
#[test]
fn copy_and_add_never_leave_the_context_or_the_root() {
    let m = Ministry::new();
    m.busybox("busybox");
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("secret");
    std::fs::write(&outside, "secret\n").unwrap();
    let ctx = tmp.path().join("ctx");
    write(&ctx, "in.txt", "inside\n");
    write(&ctx, "dir/f", "f\n");
    std::os::unix::fs::symlink(&outside, ctx.join("abs")).unwrap();
    std::os::unix::fs::symlink("in.txt", ctx.join("rel")).unwrap();
    std::os::unix::fs::symlink(&outside, ctx.join("dir/abs")).unwrap();
    // An archive whose entries try to climb out.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "ok.txt", &b"good"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    {
        let name = b"../../../escaped.txt";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
    }
    b.append(&h, &b"evil"[..]).unwrap();
    std::fs::write(ctx.join("arch.tar"), b.into_inner().unwrap()).unwrap();
    for (df, err) in [
        (
            "COPY ../../secret /s1",
            "COPY failed: forbidden path outside the build context: ../../secret ()",
        ),
        // An absolute link's target is taken from the context root: not there.
        (
            "COPY abs /s2",
            "COPY failed: file not found in build context or excluded by .dockerignore",
        ),
    ] {
        write(&ctx, "Dockerfile", &format!("FROM busybox\n{df}\n"));
        let o = build(&m, &ctx, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with(err),
            "{df}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    write(
        &ctx,
        "Dockerfile",
        "FROM busybox\nCOPY rel /r\nCOPY dir /d\nADD arch.tar /ar/\n",
    );
    build_ok(&m, &ctx, &["-t", "safe"]);
    let out = m.ok(&[
        "run", "--rm", "--network", "none", "safe", "sh", "-c",
        "cat /r; readlink /d/abs; cat /ar/ok.txt; echo; ls /ar; find / -xdev -name escaped.txt | wc -l",
    ]);
    assert_eq!(
        out,
        format!("inside\n{}\ngood\nok.txt\n0\n", outside.display())
    );
    assert!(!tmp.path().join("escaped.txt").exists());
}

/// `docker build URL` (a tarball, or a Dockerfile) and `ADD URL`, from an HTTP server in
/// the test's own network namespace.
#[test]
fn remote_contexts_and_add_urls() {
    require_tool("python3");
    let m = Ministry::new();
    m.busybox("busybox");
    let www = tempfile::tempdir().unwrap();
    let w = www.path();
    write(w, "hello.txt", "remote file\n");
    let ctx = w.join("ctx");
    write(&ctx, "f.txt", "ctxfile\n");
    write(
        &ctx,
        "Dockerfile",
        "FROM busybox\nCOPY f.txt /f\nADD http://127.0.0.1:8765/hello.txt /dl/\nADD http://127.0.0.1:8765/hello.txt /named\n",
    );
    assert!(std::process::Command::new("tar")
        .arg("-C")
        .arg(&ctx)
        .arg("-czf")
        .arg(w.join("ctx.tgz"))
        .arg(".")
        .status()
        .unwrap()
        .success());
    write(
        w,
        "Dockerfile.txt",
        "FROM busybox\nRUN echo from a remote Dockerfile\n",
    );
    let mut c = std::process::Command::new("python3");
    c.args(["-m", "http.server", "8765", "--bind", "127.0.0.1"])
        .current_dir(w)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    m.enter(&mut c);
    // Killed however the test ends (a leaked server would hold the test's descriptors).
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Server(c.spawn().unwrap());
    m.until_ok(&[
        "build",
        "--network",
        "none",
        "http://127.0.0.1:8765/Dockerfile.txt",
    ]);
    let out = m.ok(&[
        "build",
        "--network",
        "none",
        "-t",
        "rem",
        "http://127.0.0.1:8765/ctx.tgz",
    ]);
    assert!(out.contains("Successfully tagged rem:latest"), "{out}");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "rem",
            "sh",
            "-c",
            "cat /f /dl/hello.txt /named; stat -c '%a %u' /named"
        ]),
        "ctxfile\nremote file\nremote file\n600 0\n"
    );
    let out = m.ok(&[
        "build",
        "--no-cache",
        "--network",
        "none",
        "http://127.0.0.1:8765/Dockerfile.txt",
    ]);
    assert!(out.contains("\nfrom a remote Dockerfile\n"), "{out}");
    let o = m.run(&[
        "build",
        "--network",
        "none",
        "http://127.0.0.1:8765/nothere.tgz",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with(
        "Error response from daemon: unable to prepare context: failed to GET http://127.0.0.1:8765/nothere.tgz with status 404 Not Found"
    ), "{}", String::from_utf8_lossy(&o.stderr));
}
