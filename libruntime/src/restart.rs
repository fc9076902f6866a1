//! Restart policies (Docker's `--restart`) and the backoff the monitor waits before each
//! restart, as Docker's restart manager computes them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// When the monitor runs a container's program again after it exits.
///
/// A container stopped on purpose ([`crate::Container::cancel_restart`], which an engine's
/// `stop`, `kill` and forced delete call first) is never restarted, whatever the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never (Docker's `no`, the default).
    #[default]
    No,
    /// When the program exits with a code other than 0, at most `max_retries` times
    /// (0: no limit).
    OnFailure {
        /// The most restarts; 0 for no limit.
        max_retries: u32,
    },
    /// Whatever the exit code.
    Always,
    /// Whatever the exit code (a daemon tells it from `always` when it starts).
    UnlessStopped,
}

impl RestartPolicy {
    /// Docker's name: `no`, `on-failure`, `always` or `unless-stopped`.
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// The retry limit (`on-failure:N`), 0 otherwise.
    pub fn max_retries(&self) -> u32 {
        match self {
            RestartPolicy::OnFailure { max_retries } => *max_retries,
            _ => 0,
        }
    }

    /// Whether a run that exited with `code` is followed by another, after `restarts`
    /// restarts so far.
    pub fn restarts_after(&self, code: i32, restarts: u32) -> bool {
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && (max_retries == 0 || restarts < max_retries)
            }
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

impl std::str::FromStr for RestartPolicy {
    type Err = Error;

    /// Parses Docker's `--restart` values with Docker's error texts.
    fn from_str(s: &str) -> Result<Self> {
        let (name, count) = match s.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (s, None),
        };
        let count = match count {
            None => None,
            Some(c) => match c.parse::<i64>() {
                Ok(n) if n < 0 => {
                    return Err(Error::InvalidArgument(
                        "maximum retry count cannot be negative".into(),
                    ))
                }
                Ok(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(_) => {
                    return Err(Error::InvalidArgument(
                        "invalid restart policy format: maximum retry count must be an integer"
                            .into(),
                    ))
                }
            },
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => RestartPolicy::OnFailure {
                max_retries: count.unwrap_or(0),
            },
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "invalid restart policy '{other}'"
                )))
            }
        };
        if count.is_some_and(|n| n > 0) && !matches!(policy, RestartPolicy::OnFailure { .. }) {
            return Err(Error::InvalidArgument(format!(
                "maximum retry count cannot be used with restart policy '{}'",
                policy.name()
            )));
        }
        Ok(policy)
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::OnFailure { max_retries } if *max_retries > 0 => {
                write!(f, "on-failure:{max_retries}")
            }
            p => f.write_str(p.name()),
        }
    }
}

/// Docker's restart delay: 100 ms before the first restart, doubled before each next one
/// up to one minute, back to 100 ms after a run of at least 10 seconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    delay: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
const RESET_AFTER: Duration = Duration::from_secs(10);

impl Backoff {
    /// The wait before the restart that follows a run that lasted `ran`.
    pub(crate) fn next(&mut self, ran: Duration) -> Duration {
        if ran >= RESET_AFTER || self.delay.is_zero() {
            self.delay = FIRST_DELAY;
        } else {
            self.delay = (self.delay * 2).min(MAX_DELAY);
        }
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_values_and_refuses_with_docker_texts() {
        let p = |s: &str| s.parse::<RestartPolicy>();
        assert_eq!(p("no").unwrap(), RestartPolicy::No);
        assert_eq!(p("").unwrap(), RestartPolicy::No);
        assert_eq!(
            p("on-failure").unwrap(),
            RestartPolicy::OnFailure { max_retries: 0 }
        );
        assert_eq!(
            p("on-failure:3").unwrap(),
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(p("always").unwrap(), RestartPolicy::Always);
        assert_eq!(p("unless-stopped").unwrap(), RestartPolicy::UnlessStopped);
        assert_eq!(p("always:0").unwrap(), RestartPolicy::Always);
        assert_eq!(
            p("bogus").unwrap_err().to_string(),
            "invalid restart policy 'bogus'"
        );
        assert_eq!(
            p("on-failure:x").unwrap_err().to_string(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            p("always:3").unwrap_err().to_string(),
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert_eq!(
            p("on-failure:-1").unwrap_err().to_string(),
            "maximum retry count cannot be negative"
        );
        for s in [
            "no",
            "on-failure",
            "on-failure:3",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(p(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn decides_like_docker() {
        let on_failure_2 = RestartPolicy::OnFailure { max_retries: 2 };
        assert!(on_failure_2.restarts_after(3, 0));
        assert!(on_failure_2.restarts_after(3, 1));
        assert!(!on_failure_2.restarts_after(3, 2));
        assert!(!on_failure_2.restarts_after(0, 0));
        assert!(RestartPolicy::OnFailure { max_retries: 0 }.restarts_after(1, 1000));
        assert!(RestartPolicy::Always.restarts_after(0, 1000));
        assert!(RestartPolicy::UnlessStopped.restarts_after(0, 0));
        assert!(!RestartPolicy::No.restarts_after(1, 0));
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_resets_after_ten_seconds() {
        let mut b = Backoff::default();
        let short = Duration::from_millis(5);
        let waits: Vec<u64> = (0..4).map(|_| b.next(short).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
        for _ in 0..20 {
            b.next(short);
        }
        assert_eq!(b.next(short), Duration::from_secs(60));
        assert_eq!(b.next(Duration::from_secs(10)), Duration::from_millis(100));
    }
}
