//! Docker's container configuration (the `Config` of `docker inspect`), which is also the
//! `config` object of an image config, and Dockerfile-style changes to it (`import
//! --change`, `commit --change`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Docker's container config, in Docker's field order, with Docker's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[allow(missing_docs)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    pub image: String,
    pub volumes: Option<BTreeMap<String, Value>>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

impl ContainerConfig {
    /// Reads the `config` object of an image config (absent or null gives the defaults).
    pub fn from_image_config(raw: &Value) -> Result<Self> {
        match raw.get("config") {
            None | Some(Value::Null) => Ok(ContainerConfig::default()),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| Error::json("image config", e))
            }
        }
    }

    /// Applies Dockerfile-style instructions (`CMD ["sh"]`, `ENV A=b`, `EXPOSE 80`,
    /// `WORKDIR /x`, `USER u`, `LABEL k=v`, `VOLUME /data`, `ENTRYPOINT ...`,
    /// `STOPSIGNAL SIGTERM`, `ONBUILD ...`), as `docker import --change` does.
    pub fn apply_change(&mut self, change: &str) -> Result<()> {
        let change = change.trim();
        let (instr, rest) = change
            .split_once(char::is_whitespace)
            .unwrap_or((change, ""));
        let rest = rest.trim();
        let bad = |why: &str| Error::InvalidArgument(format!("{why}: {change}"));
        match instr.to_ascii_uppercase().as_str() {
            "CMD" => self.cmd = Some(exec_or_shell(rest, self.shell.as_deref())),
            "ENTRYPOINT" => self.entrypoint = Some(exec_or_shell(rest, self.shell.as_deref())),
            "ENV" => {
                for (k, v) in
                    key_values(rest).ok_or_else(|| bad("ENV needs KEY=VALUE or KEY VALUE"))?
                {
                    let env = self.env.get_or_insert_with(Vec::new);
                    env.retain(|e| e.split('=').next() != Some(k.as_str()));
                    env.push(format!("{k}={v}"));
                }
            }
            "LABEL" => {
                for (k, v) in key_values(rest).ok_or_else(|| bad("LABEL needs KEY=VALUE"))? {
                    self.labels.get_or_insert_with(BTreeMap::new).insert(k, v);
                }
            }
            "EXPOSE" => {
                for p in rest.split_whitespace() {
                    let p = if p.contains('/') {
                        p.to_string()
                    } else {
                        format!("{p}/tcp")
                    };
                    self.exposed_ports
                        .get_or_insert_with(BTreeMap::new)
                        .insert(p, Value::Object(Default::default()));
                }
            }
            "VOLUME" => {
                let vols = if rest.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(rest)
                        .map_err(|_| bad("VOLUME takes a JSON array or paths"))?
                } else {
                    rest.split_whitespace().map(str::to_string).collect()
                };
                for v in vols {
                    self.volumes
                        .get_or_insert_with(BTreeMap::new)
                        .insert(v, Value::Object(Default::default()));
                }
            }
            "WORKDIR" => self.working_dir = rest.to_string(),
            "USER" => self.user = rest.to_string(),
            "STOPSIGNAL" => self.stop_signal = Some(rest.to_string()),
            "ONBUILD" => self
                .on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_string()),
            "" => return Err(bad("empty change")),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "{} is not a valid change command",
                    other.to_ascii_lowercase()
                )))
            }
        }
        Ok(())
    }
}

/// The JSON (exec) form `["a","b"]`, else the shell form wrapped in `/bin/sh -c`.
fn exec_or_shell(rest: &str, shell: Option<&[String]>) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return v;
        }
    }
    let mut v = shell
        .map(|s| s.to_vec())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    v.push(rest.to_string());
    v
}

/// `K=V K2="v 2"` or the legacy `K V with spaces`.
fn key_values(rest: &str) -> Option<Vec<(String, String)>> {
    let first = rest.split_whitespace().next()?;
    if !first.contains('=') {
        let (k, v) = rest.split_once(char::is_whitespace)?;
        return Some(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let mut val = String::new();
        let mut quote = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => break,
                (_, '\\') => {
                    chars.next();
                    if let Some(n) = chars.peek() {
                        val.push(*n);
                    }
                }
                _ => val.push(c),
            }
            chars.next();
        }
        if key.is_empty() {
            return None;
        }
        out.push((key, val));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_changes_like_docker_import() {
        let mut c = ContainerConfig::default();
        for ch in [
            r#"CMD ["/bin/sh"]"#,
            "ENV A=1 B=\"two words\"",
            "ENV PATH /usr/bin:/bin",
            "EXPOSE 80 53/udp",
            "WORKDIR /srv",
            "USER nobody",
            "LABEL k=v",
            "VOLUME /data",
            "ENTRYPOINT echo hi",
            "STOPSIGNAL SIGINT",
        ] {
            c.apply_change(ch).unwrap();
        }
        assert_eq!(c.cmd, Some(vec!["/bin/sh".to_string()]));
        assert_eq!(
            c.env,
            Some(vec![
                "A=1".into(),
                "B=two words".into(),
                "PATH=/usr/bin:/bin".into()
            ])
        );
        assert_eq!(
            c.entrypoint,
            Some(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("53/udp"));
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.user, "nobody");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        let e = c.apply_change("RUN rm -rf /").unwrap_err().to_string();
        assert_eq!(e, "run is not a valid change command");
    }

    #[test]
    fn serialises_in_docker_order_with_nulls() {
        let s = serde_json::to_string(&ContainerConfig::default()).unwrap();
        assert!(
            s.starts_with(r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false"#),
            "{s}"
        );
        assert!(s.contains(r#""Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#), "{s}");
    }
}
