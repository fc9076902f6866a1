//! A subset of Go's text/template, as Docker's `--format`/`-f` use it: field paths
//! (`{{.State.ExitCode}}`), pipes (`{{.Config.Cmd | json}}`), and the functions json,
//! upper, lower, title, join, index, len, split, println; values print as Go prints them
//! (`[a b]` for lists, `map[k:v]` for maps).

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

#[derive(Debug, Clone)]
enum Arg {
    Field(Vec<String>),
    Str(String),
    Num(i64),
}

#[derive(Debug, Clone)]
struct Cmd {
    func: Option<String>,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Action(Vec<Cmd>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

fn tokens(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '`') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        bail!("unterminated quoted string");
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn arg(t: &str) -> Result<Arg> {
    if let Some(rest) = t.strip_prefix('.') {
        return Ok(Arg::Field(if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('.').map(str::to_string).collect()
        }));
    }
    if (t.starts_with('"') && t.ends_with('"') || t.starts_with('`') && t.ends_with('`'))
        && t.len() >= 2
    {
        return Ok(Arg::Str(t[1..t.len() - 1].to_string()));
    }
    t.parse::<i64>()
        .map(Arg::Num)
        .map_err(|_| anyhow!("function {t:?} not defined"))
}

impl Template {
    /// Parses `s`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let end = rest[i..]
                .find("}}")
                .ok_or_else(|| anyhow!("template: unclosed action"))?
                + i;
            let body = rest[i + 2..end]
                .trim()
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            let mut pipeline = Vec::new();
            for seg in body.split('|') {
                let toks = tokens(seg.trim())?;
                let Some(first) = toks.first() else {
                    bail!("template: missing value for command")
                };
                let cmd = if first.starts_with('.') || first.starts_with('"') {
                    Cmd {
                        func: None,
                        args: toks.iter().map(|t| arg(t)).collect::<Result<_>>()?,
                    }
                } else {
                    Cmd {
                        func: Some(first.clone()),
                        args: toks[1..].iter().map(|t| arg(t)).collect::<Result<_>>()?,
                    }
                };
                pipeline.push(cmd);
            }
            parts.push(Part::Action(pipeline));
            rest = &rest[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Renders the template over `v`.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Action(pipeline) => {
                    let mut prev: Option<Value> = None;
                    for cmd in pipeline {
                        let mut args: Vec<Value> =
                            cmd.args.iter().map(|a| eval(a, v)).collect::<Result<_>>()?;
                        if let Some(p) = prev.take() {
                            args.push(p);
                        }
                        prev = Some(match &cmd.func {
                            None => args.into_iter().next().unwrap_or(Value::Null),
                            Some(f) => call(f, args)?,
                        });
                    }
                    out.push_str(&go_format(prev.as_ref().unwrap_or(&Value::Null)));
                }
            }
        }
        Ok(out)
    }
}

fn eval(a: &Arg, v: &Value) -> Result<Value> {
    Ok(match a {
        Arg::Str(s) => Value::String(s.clone()),
        Arg::Num(n) => Value::from(*n),
        Arg::Field(path) => {
            let mut cur = v;
            for k in path {
                cur = match cur {
                    Value::Object(m) => m.get(k).ok_or_else(|| {
                        anyhow!(
                            "template: executing \"\" at <.{}>: map has no entry for key \"{k}\"",
                            path.join(".")
                        )
                    })?,
                    Value::Null => return Ok(Value::Null),
                    _ => bail!(
                        "template: executing \"\" at <.{}>: can't evaluate field {k}",
                        path.join(".")
                    ),
                };
            }
            cur.clone()
        }
    })
}

fn as_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => go_format(other),
    }
}

fn call(f: &str, args: Vec<Value>) -> Result<Value> {
    let one = |args: &[Value]| args.first().cloned().unwrap_or(Value::Null);
    Ok(match f {
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
            let [list, sep] = <[Value; 2]>::try_from(args)
                .map_err(|_| anyhow!("wrong number of args for join: want 2"))?;
            let items: Vec<String> = list
                .as_array()
                .map(|a| a.iter().map(as_str).collect())
                .unwrap_or_default();
            Value::String(items.join(&as_str(&sep)))
        }
        "split" => {
            let [s, sep] = <[Value; 2]>::try_from(args)
                .map_err(|_| anyhow!("wrong number of args for split: want 2"))?;
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
                    _ => bail!("can't index item of type {cur}"),
                };
            }
            cur
        }
        "println" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ")),
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

/// Renders `format` (Docker's `--format`: a template, `table TEMPLATE`, or `json`) for
/// each object; `headers` names the column of each field for `table`. Docker turns `\t`
/// in the format into a tab.
pub fn format_rows(format: &str, headers: &Value, objects: &[Value]) -> Result<String> {
    let format = format.replace("\\t", "\t");
    if format == "json" {
        return Ok(objects
            .iter()
            .map(|o| serde_json::to_string(o).unwrap_or_default() + "\n")
            .collect());
    }
    if let Some(t) = format.strip_prefix("table") {
        let t = Template::parse(t.trim_start())?;
        let mut rows = vec![t
            .render(headers)?
            .split('\t')
            .map(str::to_string)
            .collect::<Vec<_>>()];
        for o in objects {
            rows.push(t.render(o)?.split('\t').map(str::to_string).collect());
        }
        return Ok(super::output::table(&rows));
    }
    let t = Template::parse(&format)?;
    let mut out = String::new();
    for o in objects {
        out.push_str(&t.render(o)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_docker() {
        let v = json!({"Name": "/tpl", "Config": {"Cmd": ["true"], "Env": ["A=1"], "Labels": {}}, "State": {"ExitCode": 0, "Running": false}});
        let t = Template::parse("{{.Config.Cmd}}|{{.Config.Env}}|{{.State.ExitCode}}|{{.State.Running}}|{{.Config.Labels}}|{{json .Config.Cmd}}|{{index .Config.Env 0}}|{{join .Config.Cmd \",\"}}|{{upper .Name}}|{{len .Config.Env}}|{{json .State.Running}}|{{.Config.Cmd | json}}").unwrap();
        assert_eq!(
            t.render(&v).unwrap(),
            "[true]|[A=1]|0|false|map[]|[\"true\"]|A=1|true|/TPL|1|false|[\"true\"]"
        );
        let e = Template::parse("{{.Nope}}")
            .unwrap()
            .render(&v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("map has no entry for key \"Nope\""), "{e}");
        assert!(Template::parse("{{nofunc .Name}}")
            .unwrap()
            .render(&v)
            .is_err());
        assert_eq!(
            Template::parse("a\\tb {{.Name}}")
                .unwrap()
                .render(&v)
                .unwrap(),
            "a\\tb /tpl"
        );
    }
}
