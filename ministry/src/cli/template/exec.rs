//! The executor: nodes run over a value (the dot), with variables, field lookups and
//! pipelines whose commands call the functions.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::funcs::{as_str, call, go_format};
use super::parser::{Node, Operand, Pipeline};

pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

type Vars = Vec<(String, Value)>;

pub(super) fn exec(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Result<()> {
    let depth = vars.len();
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = pipeline(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&go_format(&v));
                }
            }
            Node::If(p, a, b) => {
                let v = pipeline(p, dot, vars)?;
                exec(if truthy(&v) { a } else { b }, dot, vars, out)?;
            }
            Node::With(p, a, b) => {
                let v = pipeline(p, dot, vars)?;
                if truthy(&v) {
                    exec(a, &v, vars, out)?;
                } else {
                    exec(b, dot, vars, out)?;
                }
            }
            Node::Range(p, a, b) => {
                let decl = p.decl.clone();
                let mut p = p.clone();
                p.decl.clear();
                let v = pipeline(&p, dot, vars)?;
                let entries: Vec<(Value, Value)> = match &v {
                    Value::Array(x) => x
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (Value::from(i), e.clone()))
                        .collect(),
                    Value::Object(m) => {
                        let mut kv: Vec<_> = m.iter().collect();
                        kv.sort_by(|x, y| x.0.cmp(y.0));
                        kv.into_iter()
                            .map(|(k, e)| (Value::String(k.clone()), e.clone()))
                            .collect()
                    }
                    Value::Null => Vec::new(),
                    other => bail!("range can't iterate over {}", go_format(other)),
                };
                if entries.is_empty() {
                    exec(b, dot, vars, out)?;
                }
                for (k, e) in entries {
                    let d = vars.len();
                    match decl.as_slice() {
                        [v1] => vars.push((v1.clone(), e.clone())),
                        [k1, v1] => {
                            vars.push((k1.clone(), k));
                            vars.push((v1.clone(), e.clone()));
                        }
                        _ => {}
                    }
                    exec(a, &e, vars, out)?;
                    vars.truncate(d);
                }
            }
        }
    }
    vars.truncate(depth);
    Ok(())
}

thread_local! {
    /// Set while [`super::Template::render_missing_as_no_value`] runs.
    pub(super) static MISSING_KEY_IS_NULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn field(mut cur: Value, path: &[String], shown: &str) -> Result<Value> {
    for k in path {
        cur = match cur {
            Value::Object(mut m) => match m.remove(k) {
                Some(v) => v,
                None if MISSING_KEY_IS_NULL.with(|n| n.get()) => return Ok(Value::Null),
                None => {
                    bail!("template: executing \"\" at <{shown}>: map has no entry for key \"{k}\"")
                }
            },
            Value::Null => return Ok(Value::Null),
            _ => bail!("template: executing \"\" at <{shown}>: can't evaluate field {k}"),
        };
    }
    Ok(cur)
}

fn operand(o: &Operand, dot: &Value, vars: &mut Vars) -> Result<Value> {
    Ok(match o {
        Operand::Lit(v) => v.clone(),
        Operand::Field(p) => field(dot.clone(), p, &format!(".{}", p.join(".")))?,
        Operand::Var(n, p) => {
            let v = vars
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| anyhow!("undefined variable: ${n}"))?;
            field(v, p, &format!("${n}"))?
        }
        Operand::Sub(p, f) => {
            let v = pipeline(p, dot, vars)?;
            field(v, f, "(...)")?
        }
        Operand::Func(f) => call(f, Vec::new())?,
    })
}

fn pipeline(p: &Pipeline, dot: &Value, vars: &mut Vars) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for cmd in &p.cmds {
        let v = match &cmd[0] {
            Operand::Func(f) => {
                let mut args = cmd[1..]
                    .iter()
                    .map(|a| operand(a, dot, vars))
                    .collect::<Result<Vec<_>>>()?;
                args.extend(prev.take());
                call(f, args)?
            }
            // Docker's formatter methods with an argument: `.Label "key"` of `ps`,
            // `images`, `volume ls` and `network ls` rows (their `Labels` is `k=v,...`).
            Operand::Field(p) if p.last().is_some_and(|l| l == "Label") && cmd.len() == 2 => {
                let key = as_str(&operand(&cmd[1], dot, vars)?);
                let mut path = p.clone();
                path.pop();
                path.push("Labels".into());
                let labels = field(dot.clone(), &path, ".Labels")?;
                let labels = as_str(&labels);
                labels
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| Value::String(v.to_string()))
                    .unwrap_or(Value::String(String::new()))
            }
            first => {
                if cmd.len() > 1 || prev.is_some() {
                    bail!("can't give argument to non-function {first:?}");
                }
                operand(first, dot, vars)?
            }
        };
        prev = Some(v);
    }
    let v = prev.unwrap_or(Value::Null);
    for n in &p.decl {
        vars.push((n.clone(), v.clone()));
    }
    Ok(v)
}
