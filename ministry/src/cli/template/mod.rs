//! Go's text/template as Docker's `--format`/`-f` use it: field paths
//! (`{{.State.ExitCode}}`), variables (`$`, `$v`), pipes (`{{.Config.Cmd | json}}`),
//! parenthesized calls (`{{(index .Networks "n1").IPAddress}}`), `if`/`else if`/`else`,
//! `range` (with `$k, $v :=`), `with`, `{{- -}}` trimming, comments, and the functions
//! json, upper, lower, title, join, index, len, split, println, print, printf, eq, ne,
//! lt, le, gt, ge, and, or, not; values print as Go prints them (`[a b]`, `map[k:v]`).
//!
//! A file per stage: `lexer`, `parser`, `exec` (the executor) and `funcs` (the functions).

mod exec;
mod funcs;
mod lexer;
mod parser;

use anyhow::{bail, Result};
use serde_json::Value;

use exec::{exec, MISSING_KEY_IS_NULL};
use parser::{items, nodes, Node};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses `s`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut it = items(s)?.into_iter().peekable();
        let (nodes, close) = nodes(&mut it, 0)?;
        if let Some(c) = close {
            bail!("template: unexpected {{{{{c}}}}}");
        }
        Ok(Template { nodes })
    }

    /// Renders the template over a typed object whose maps (such as an event's
    /// `Actor.Attributes`) give `<no value>` for a missing key, as Go's default
    /// `missingkey` option does, instead of the error `render` gives for a missing field.
    pub fn render_missing_as_no_value(&self, v: &Value) -> Result<String> {
        MISSING_KEY_IS_NULL.with(|m| m.set(true));
        let r = self.render(v);
        MISSING_KEY_IS_NULL.with(|m| m.set(false));
        r
    }

    /// Renders the template over `v`.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        let mut vars = vec![("".to_string(), v.clone())];
        exec(&self.nodes, v, &mut vars, &mut out)?;
        Ok(out)
    }
}

/// JSON as Go's encoder writes it: `<`, `>` and `&` escaped (`\u003c`...). They only
/// occur inside strings, so the whole text can be rewritten.
fn go_json(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Renders `format` (Docker's `--format`: a template, `table TEMPLATE`, or `json`) for
/// each object; `headers` names the column of each field for `table`. Docker turns `\t`
/// in the format into a tab.
pub fn format_rows(format: &str, headers: &Value, objects: &[Value]) -> Result<String> {
    let format = format.replace("\\t", "\t");
    if format == "json" {
        // Docker marshals its rows as maps: keys in sorted order.
        return Ok(objects
            .iter()
            .map(|o| {
                let sorted: std::collections::BTreeMap<String, Value> = o
                    .as_object()
                    .map(|m| m.clone().into_iter().collect())
                    .unwrap_or_default();
                go_json(&serde_json::to_string(&sorted).unwrap_or_default()) + "\n"
            })
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
        let net = json!({"Name": "/c", "Args": ["a", "b"], "NetworkSettings": {"Networks": {"n1": {"IPAddress": "10.0.0.2", "Aliases": ["x", "y"]}, "bridge": {"IPAddress": "172.17.0.2", "Aliases": null}}}, "State": {"ExitCode": 3, "Running": false}});
        let r = |t: &str| Template::parse(t).unwrap().render(&net).unwrap();
        assert_eq!(
            r("{{(index .NetworkSettings.Networks \"n1\").IPAddress}}"),
            "10.0.0.2"
        );
        assert_eq!(
            r("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}"),
            "bridge=172.17.0.2;n1=10.0.0.2;"
        );
        assert_eq!(r("{{range .Args}}<{{.}}>{{else}}none{{end}}"), "<a><b>");
        assert_eq!(
            r("{{range .NetworkSettings.Networks.bridge.Aliases}}x{{else}}none{{end}}"),
            "none"
        );
        assert_eq!(
            r("{{with .NetworkSettings.Networks.n1}}{{.IPAddress}}{{end}}"),
            "10.0.0.2"
        );
        assert_eq!(
            r("{{if .State.Running}}up{{else if eq .State.ExitCode 3}}three{{else}}other{{end}}"),
            "three"
        );
        assert_eq!(
            r("{{if and (not .State.Running) (gt .State.ExitCode 1)}}yes{{end}}"),
            "yes"
        );
        assert_eq!(r("{{if ne .Name \"/c\"}}no{{else}}is c{{end}}"), "is c");
        assert_eq!(
            r("{{$n := .Name}}{{range .Args}}{{$n}}:{{.}} {{end}}"),
            "/c:a /c:b "
        );
        assert_eq!(r("a {{- /* comment */ -}} b"), "ab");
        assert_eq!(r("{{printf \"%s-%d\" .Name .State.ExitCode}}"), "/c-3");
        assert_eq!(r("{{len .Args | printf \"%v args\"}}"), "2 args");
        assert!(Template::parse("{{if .Name}}x").is_err(), "unclosed if");
        assert!(Template::parse("{{end}}").is_err());
        assert!(Template::parse("{{(index .A}}").is_err());
        assert_eq!(
            Template::parse("a\\tb {{.Name}}")
                .unwrap()
                .render(&v)
                .unwrap(),
            "a\\tb /tpl"
        );
    }
}
