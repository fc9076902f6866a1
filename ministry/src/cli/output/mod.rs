//! Docker's output conventions: tab-aligned tables, human sizes and durations.

use std::time::{Duration, SystemTime};

mod table;

pub use table::{table, table_min};

/// Go's `%.Ng` for values below 10^N: `n` significant digits, trailing zeros removed.
fn significant(v: f64, n: i32) -> String {
    let digits = if v < 1.0 {
        1
    } else {
        (v.log10().floor() as i32) + 1
    };
    let decimals = (n - digits).max(0) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Docker's `units.HumanSizeWithPrecision(size, 3)`: decimal units (`1.98MB`).
pub fn human_size(size: u64) -> String {
    human_size_with_precision(size, 3)
}

/// Docker's `units.HumanSizeWithPrecision`: decimal units, `precision` significant digits
/// (`units.HumanSize`, in progress lines, is precision 4: `1.049MB`).
pub fn human_size_with_precision(size: u64, precision: i32) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", significant(v, precision), UNITS[i])
}

/// Docker's `units.BytesSize`: binary units, four significant digits (`1.5MiB`).
pub fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let s = significant(v, 4);
    format!("{s}{}", UNITS[i])
}

/// Writes an archive through `write` to `path` (a temp file renamed into place, so a
/// failure leaves no half-written file) or, without a path, to stdout unless it is a
/// terminal (Docker's refusal).
pub fn write_archive(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(path) => {
            let tmp = path.with_extension("ministry-partial");
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .map_err(|e| anyhow::anyhow!("create {}: {e}", tmp.display()))?,
            );
            let r = write(&mut f).and_then(|_| Ok(f.flush()?));
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, path)?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let s = secs as u64;
    if secs < 1.0 {
        return "Less than a second".into();
    }
    if s == 1 {
        return "1 second".into();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let minutes = s / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0 / 24.0 / 365.0) as u64)
}

/// Go's `time.Time` text in UTC (`2026-11-27 14:42:11 +0000 UTC`), as Docker's `CreatedAt`
/// columns show it; the input as it is when it cannot be parsed.
pub fn go_time(rfc3339: &str) -> String {
    match nanos(rfc3339) {
        Some(ns) => format!(
            "{} +0000 UTC",
            libruntime::logs::rfc3339_nanos(ns)[..19].replace('T', " ")
        ),
        None => rfc3339.to_string(),
    }
}

/// [`go_time`] with the fraction of a second Go prints (trailing zeros dropped:
/// `2026-11-27 13:13:33.86622316 +0000 UTC`).
pub fn go_time_precise(rfc3339: &str) -> String {
    match nanos(rfc3339) {
        Some(ns) => {
            let s = libruntime::logs::rfc3339_nanos(ns);
            let frac = s[20..29].trim_end_matches('0');
            let dot = if frac.is_empty() { "" } else { "." };
            format!("{}{dot}{frac} +0000 UTC", s[..19].replace('T', " "))
        }
        None => rfc3339.to_string(),
    }
}

/// An RFC 3339 time to the second (`2026-11-27T10:35:18Z`), as Docker's history shows it.
pub fn rfc3339_seconds(rfc3339: &str) -> String {
    match nanos(rfc3339) {
        Some(ns) => format!("{}Z", &libruntime::logs::rfc3339_nanos(ns)[..19]),
        None => rfc3339.to_string(),
    }
}

fn nanos(rfc3339: &str) -> Option<u64> {
    libimage::time::parse_rfc3339(rfc3339)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
}

/// `7 minutes ago` for an RFC 3339 time; empty when it cannot be parsed.
pub fn ago(rfc3339: &str) -> String {
    match libimage::time::parse_rfc3339(rfc3339) {
        Some(t) => format!(
            "{} ago",
            human_duration(SystemTime::now().duration_since(t).unwrap_or_default())
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(1984241), "1.98MB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(500), "500B");
        assert_eq!(human_size(12345), "12.3kB");
        assert_eq!(human_size(5_000_000), "5MB");
        assert_eq!(human_size(101_000_000), "101MB");
    }

    #[test]
    fn binary_sizes_like_docker() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1572864), "1.5MiB");
        assert_eq!(bytes_size(25_275_826_831), "23.54GiB");
    }

    #[test]
    fn durations_like_docker() {
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(human_duration(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(7 * 60)), "7 minutes");
        assert_eq!(human_duration(Duration::from_secs(3600)), "About an hour");
        assert_eq!(human_duration(Duration::from_secs(3 * 86400)), "3 days");
        assert_eq!(human_duration(Duration::from_secs(20 * 86400)), "2 weeks");
        assert_eq!(human_duration(Duration::from_secs(90 * 86400)), "3 months");
        assert_eq!(human_duration(Duration::from_secs(800 * 86400)), "2 years");
    }
}
