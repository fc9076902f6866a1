//! `HEALTHCHECK NONE` and `HEALTHCHECK [--interval=d] [--timeout=d] [--start-period=d]
//! [--retries=n] CMD command`, with Docker 20.10's checks and messages.

use std::time::Duration;

use super::error::ParseError;
use super::flags::{parse_flags, FlagKind};
use super::golang::{parse_duration, parse_int32, to_upper};
use super::instruction::{Command, Healthcheck};
use super::line_parsers::Node;

/// Docker's `container.MinimumDuration`.
const MINIMUM: Duration = Duration::from_millis(1);

/// Parses a `HEALTHCHECK` node (its arguments: the type, then the command).
pub(crate) fn parse(node: &Node) -> Result<Healthcheck, ParseError> {
    let line = node.line;
    let Some((kind, args)) = node.args.split_first() else {
        return Err(ParseError::AtLeastOneArgument {
            line,
            instruction: "HEALTHCHECK",
        });
    };
    let kind = to_upper(kind);
    if kind == "NONE" {
        // Docker does not look at the flags of HEALTHCHECK NONE
        if !args.is_empty() {
            return Err(ParseError::HealthcheckNoneArguments { line });
        }
        return Ok(Healthcheck::None);
    }
    let flags = parse_flags(
        &node.flags,
        &[
            ("interval", FlagKind::String),
            ("timeout", FlagKind::String),
            ("start-period", FlagKind::String),
            ("retries", FlagKind::String),
        ],
        line,
    )?;
    if kind != "CMD" {
        return Err(ParseError::HealthcheckType { line, kind });
    }
    if args.is_empty() {
        return Err(ParseError::HealthcheckMissingCommand { line });
    }
    let test = if node.json {
        Command::Exec(args.to_vec())
    } else {
        Command::Shell(args.join(" "))
    };
    let interval = |name: &str| -> Result<Option<Duration>, ParseError> {
        let Some(value) = flags.get(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match parse_duration(&value) {
            Err(message) => Err(ParseError::InvalidDuration { line, message }),
            Ok(Some(d)) if d >= MINIMUM => Ok(Some(d)),
            Ok(_) => Err(ParseError::IntervalTooShort {
                line,
                flag: name.to_string(),
            }),
        }
    };
    let interval_d = interval("interval")?;
    let timeout = interval("timeout")?;
    let start_period = interval("start-period")?;
    let retries = match flags.get("retries").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            let n =
                parse_int32(&v).map_err(|message| ParseError::InvalidInteger { line, message })?;
            match u32::try_from(n) {
                Ok(n) if n >= 1 => Some(n),
                _ => return Err(ParseError::RetriesTooFew { line, retries: n }),
            }
        }
    };
    Ok(Healthcheck::Check {
        test,
        interval: interval_d,
        timeout,
        start_period,
        retries,
    })
}
