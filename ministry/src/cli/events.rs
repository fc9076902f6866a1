//! `events`: the engine's event log, past (`--since`, `--until`) and live, in Docker's
//! text form or through `--format`.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use ministry::{Engine, Event, EventFilter};

use super::args::EventsArgs;

/// Parses Docker's timestamps: RFC 3339, Unix seconds (with a fraction), or a Go duration
/// before now (`10m`, `1h30m`, `90s`). Returns nanoseconds since the epoch.
pub fn parse_timestamp(s: &str, now: SystemTime) -> Result<u64> {
    let ns = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    };
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1e9) as u64);
    }
    if let Some(t) = libimage::time::parse_rfc3339(s) {
        return Ok(ns(t));
    }
    if let Some(t) = libimage::time::parse_rfc3339(&format!("{s}Z")) {
        return Ok(ns(t));
    }
    let d = parse_duration(s)
        .ok_or_else(|| anyhow!("failed to parse value as time or duration: {s:?}"))?;
    Ok(ns(now.checked_sub(d).unwrap_or(UNIX_EPOCH)))
}

fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[u_end..];
    }
    Some(Duration::from_secs_f64(total))
}

/// Docker's text line: `TIME TYPE ACTION ID (k=v, ...)`.
fn text(e: &Event) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(e.time_nano);
    let secs = libimage::time::rfc3339(t);
    // RFC 3339 with nanoseconds, as Docker prints event times.
    let base = secs
        .split('.')
        .next()
        .unwrap_or(&secs)
        .trim_end_matches('Z');
    let attrs: Vec<String> = e
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{base}.{:09}Z {} {} {} ({})",
        e.time_nano % 1_000_000_000,
        e.typ,
        e.action,
        e.id,
        attrs.join(", ")
    )
}

/// The object `--format` sees (Docker's JSON message fields).
fn object(e: &Event) -> serde_json::Value {
    serde_json::json!({
        "status": e.action,
        "id": e.id,
        "from": e.attributes.get("image").cloned().unwrap_or_default(),
        "Type": e.typ,
        "Action": e.action,
        "Actor": {"ID": e.id, "Attributes": e.attributes},
        "scope": "local",
        "time": e.time_nano / 1_000_000_000,
        "timeNano": e.time_nano,
    })
}

/// Runs `events`: prints past events in `[since, until]`; without `--until`, keeps
/// following the log until interrupted (only new events when `--since` is absent, as
/// Docker does).
pub fn run(engine: &Engine, a: &EventsArgs) -> Result<()> {
    let now = SystemTime::now();
    let since = a
        .since
        .as_deref()
        .map(|s| parse_timestamp(s, now))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|s| parse_timestamp(s, now))
        .transpose()?;
    let filter = EventFilter::parse(&a.filter)?;
    let template = match a.format.as_deref() {
        Some(f) if f != "json" => Some(
            super::template::Template::parse(&f.replace("\\t", "\t"))
                .map_err(|e| anyhow!("template parsing error: {e}"))?,
        ),
        _ => None,
    };
    let json = a.format.as_deref() == Some("json");
    let mut out = std::io::stdout().lock();
    let stream = engine.events(ministry::EventOptions {
        since,
        until,
        filter,
    })?;
    for e in stream {
        let e = e?;
        let line = if let Some(t) = &template {
            t.render_missing_as_no_value(&object(&e))?
        } else if json {
            object(&e).to_string()
        } else {
            text(&e)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            return Ok(()); // the reader went away
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_timestamp("10m", now).unwrap(),
            (1_000_000 - 600) * 1_000_000_000
        );
        assert_eq!(
            parse_timestamp("1h30m", now).unwrap(),
            (1_000_000 - 5400) * 1_000_000_000
        );
        assert_eq!(
            parse_timestamp("1700000000.5", now).unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_timestamp("2026-11-27T10:00:00Z", now).unwrap(),
            parse_timestamp("2026-11-27T10:00:00", now).unwrap()
        );
        assert!(parse_timestamp("yesterday", now).is_err());
    }
}
