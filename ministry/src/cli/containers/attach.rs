//! `attach` and Docker's detach keys.

use std::io::Write;

use anyhow::{bail, Result};
use ministry::Engine;

use super::terminal::{follow_window_size, RawMode};
use super::Outcome;
use crate::cli::args::AttachArgs;

/// Docker's detach keys (`ctrl-p,ctrl-q`, `ctrl-a,x`) as bytes.
pub(crate) fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    s.split(',')
        .map(|k| match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let b = c.as_bytes()[0].to_ascii_lowercase();
                match b {
                    b'a'..=b'z' => Ok(b - b'a' + 1),
                    b'@' => Ok(0),
                    b'[' => Ok(27),
                    b'\\' => Ok(28),
                    b']' => Ok(29),
                    b'^' => Ok(30),
                    b'_' => Ok(31),
                    _ => bail!("Invalid detach keys ({s}) provided"),
                }
            }
            None if k.len() == 1 => Ok(k.as_bytes()[0]),
            _ => bail!("Invalid detach keys ({s}) provided"),
        })
        .collect()
}

/// `attach`: the running container's output from now on (stdout, stderr); with a
/// terminal, what is typed goes in (raw mode); the detach keys (Ctrl-P Ctrl-Q) leave it
/// running. Ends with the container's exit code when it stops.
pub fn attach(engine: &Engine, a: &AttachArgs) -> Result<Outcome> {
    use std::io::Read;
    let keys = parse_detach_keys(&a.detach_keys)?;
    let c = engine.container(&a.container)?;
    // Docker's client checks the state itself, with its own words.
    let socket = match engine.attach_socket(&c.id) {
        Err(e) if e.kind() == ministry::ErrorKind::Conflict => {
            return Err(crate::cli::ClientError::error(
                "You cannot attach to a stopped container, start it first",
                1,
            ))
        }
        r => r?,
    };
    let mut sock = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| anyhow::anyhow!("attach to {}: {e}", c.name))?;
    let tty = c.config.tty;
    let _raw = (tty && !a.no_stdin).then(RawMode::enter).flatten();
    let detached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if tty {
        if let Ok(t) = engine.terminal(&c.id) {
            follow_window_size(t);
        }
    }
    if tty && !a.no_stdin {
        let mut to = sock.try_clone()?;
        // What follows is typed into the terminal.
        to.write_all(b"i")?;
        let flag = detached.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let mut matched = 0;
            loop {
                let n = match std::io::stdin().read(&mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let mut out = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    if b == keys[matched] {
                        matched += 1;
                        if matched == keys.len() {
                            flag.store(true, std::sync::atomic::Ordering::SeqCst);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        continue;
                    }
                    out.extend_from_slice(&keys[..matched]);
                    matched = 0;
                    out.push(b);
                }
                if to.write_all(&out).is_err() {
                    return;
                }
            }
        });
    }
    let mut head = [0u8; 5];
    while sock.read_exact(&mut head).is_ok() {
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut data = vec![0u8; len];
        if sock.read_exact(&mut data).is_err() {
            break;
        }
        if head[0] == 2 {
            let _ = std::io::stderr().write_all(&data);
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(&data);
            let _ = o.flush();
        }
    }
    if detached.load(std::sync::atomic::Ordering::SeqCst) {
        drop(_raw);
        eprintln!("read escape sequence");
        return Ok(Outcome::Code(0));
    }
    Ok(Outcome::Code(engine.wait_container(&c.id)?))
}
