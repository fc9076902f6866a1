//! The template functions (json, upper, lower, title, len, join, split, index, print,
//! println, printf, eq, ne, lt, le, gt, ge, not, and, or) and Go's printing of values.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::exec::truthy;

pub(super) fn as_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => go_format(other),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn cmp(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(std::cmp::Ordering::Equal)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => bail!("incompatible types for comparison"),
    }
}

fn printf(args: &[Value]) -> Result<String> {
    let fmt = as_str(args.first().unwrap_or(&Value::Null));
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut c = fmt.chars();
    while let Some(ch) = c.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        match c.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!(
                "{:?}",
                as_str(rest.next().unwrap_or(&Value::Null))
            )),
            Some(_) => out.push_str(&as_str(rest.next().unwrap_or(&Value::Null))),
            None => out.push('%'),
        }
    }
    Ok(out)
}

pub(super) fn call(f: &str, args: Vec<Value>) -> Result<Value> {
    let one = |args: &[Value]| args.first().cloned().unwrap_or(Value::Null);
    let two = |args: &[Value], name: &str| -> Result<(Value, Value)> {
        match args {
            [a, b] => Ok((a.clone(), b.clone())),
            _ => bail!("wrong number of args for {name}: want 2 got {}", args.len()),
        }
    };
    Ok(match f {
        // (Docker's template `json` does not escape HTML; its `--format json` rows do.)
        "json" => Value::String(serde_json::to_string(&one(&args))?),
        "upper" => Value::String(as_str(&one(&args)).to_uppercase()),
        "lower" => Value::String(as_str(&one(&args)).to_lowercase()),
        "title" => {
            let s = as_str(&one(&args));
            let mut c = s.chars();
            Value::String(
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default(),
            )
        }
        "len" => Value::from(match one(&args) {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.len(),
            Value::Null => 0,
            other => bail!("len of {other}"),
        }),
        "join" => {
            let (list, sep) = two(&args, "join")?;
            let items: Vec<String> = list
                .as_array()
                .map(|a| a.iter().map(as_str).collect())
                .unwrap_or_default();
            Value::String(items.join(&as_str(&sep)))
        }
        "split" => {
            let (s, sep) = two(&args, "split")?;
            Value::Array(
                as_str(&s)
                    .split(&as_str(&sep))
                    .map(|x| Value::String(x.to_string()))
                    .collect(),
            )
        }
        "index" => {
            let mut it = args.into_iter();
            let mut cur = it.next().unwrap_or(Value::Null);
            for k in it {
                cur = match (&cur, &k) {
                    (Value::Array(a), Value::Number(n)) => a
                        .get(n.as_u64().unwrap_or(u64::MAX) as usize)
                        .cloned()
                        .ok_or_else(|| anyhow!("index out of range: {n}"))?,
                    (Value::Object(m), Value::String(s)) => {
                        m.get(s).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Null, _) => Value::Null,
                    _ => bail!("can't index item of type {cur}"),
                };
            }
            cur
        }
        "println" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ")),
        "printf" => Value::String(printf(&args)?),
        "eq" => {
            if args.len() < 2 {
                bail!("missing argument for comparison");
            }
            Value::Bool(args[1..].iter().any(|x| same(x, &args[0])))
        }
        "ne" => {
            let (a, b) = two(&args, "ne")?;
            Value::Bool(!same(&a, &b))
        }
        "lt" | "le" | "gt" | "ge" => {
            let (a, b) = two(&args, f)?;
            let o = cmp(&a, &b)?;
            Value::Bool(match f {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "not" => Value::Bool(!truthy(&one(&args))),
        "and" => args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        other => bail!("template: function \"{other}\" not defined"),
    })
}

/// Formats a value as Go's fmt prints it in a template.
pub fn go_format(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| if x.is_null() {
                    "<nil>".to_string()
                } else {
                    go_format(x)
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(m) => {
            let mut kv: Vec<(&String, &Value)> = m.iter().collect();
            kv.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "map[{}]",
                kv.iter()
                    .map(|(k, v)| format!("{k}:{}", go_format(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}
