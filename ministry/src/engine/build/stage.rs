//! A build stage's state between steps: the image so far, its config, the `ARG`s in
//! scope; and how Docker's classic builder names a step in the image's history.

use std::collections::BTreeMap;

use libimage::image::{ContainerConfig, ImageRecord};

/// Docker's build args that need no `ARG` and never reach the history.
pub(super) const PROXY_ARGS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// One stage being built.
pub(super) struct Stage {
    /// The image so far (`None`: `FROM scratch` and nothing since).
    pub image: Option<ImageRecord>,
    /// Its config, as the next step starts.
    pub config: ContainerConfig,
    /// `ARG`s declared in this stage, with their values (a build arg, else the default;
    /// `None` when neither).
    pub args: BTreeMap<String, Option<String>>,
}

impl Stage {
    /// The parent's ID for cache keys and history (empty for scratch).
    pub fn image_id(&self) -> String {
        self.image
            .as_ref()
            .map(|i| i.id.to_string())
            .unwrap_or_default()
    }

    /// The value of a variable for substitution: the stage's `ENV`, else its `ARG`s.
    pub fn lookup(
        &self,
        name: &str,
        build_args: &BTreeMap<String, Option<String>>,
    ) -> Option<String> {
        let env = self.config.env.as_deref().unwrap_or_default();
        if let Some(v) = env.iter().rev().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }) {
            return Some(v);
        }
        if let Some(v) = self.args.get(name) {
            return v.clone();
        }
        if PROXY_ARGS.contains(&name) {
            return build_args.get(name).cloned().flatten();
        }
        None
    }

    /// The `ARG`s (and proxy build args) a `RUN` sees as environment, `ENV` winning.
    pub fn run_args(&self, build_args: &BTreeMap<String, Option<String>>) -> Vec<(String, String)> {
        let env = self.config.env.as_deref().unwrap_or_default();
        let shadowed = |k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
        let mut out: Vec<(String, String)> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .filter(|(k, _)| !shadowed(k))
            .collect();
        for p in PROXY_ARGS {
            if let Some(Some(v)) = build_args.get(p) {
                if !self.args.contains_key(p) {
                    out.push((p.to_string(), v.clone()));
                }
            }
        }
        out
    }

    /// The shell of shell-form instructions (`SHELL`, default `/bin/sh -c`).
    pub fn shell(&self) -> Vec<String> {
        self.config
            .shell
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    /// History's `created_by` of a metadata step (`/bin/sh -c #(nop)  ENV A=b`).
    pub fn nop(&self, text: &str) -> String {
        format!("{} #(nop)  {text}", self.shell().join(" "))
    }

    /// `created_by` of steps Docker names with one space (`WORKDIR`, `COPY`, `ADD`).
    pub fn nop1(&self, text: &str) -> String {
        format!("{} #(nop) {text}", self.shell().join(" "))
    }
}

/// Go's `%q` of a string list (`["/bin/sh" "-c" "echo hi"]`), as Docker's history prints
/// `CMD` and `ENTRYPOINT`.
pub(super) fn go_quoted_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(" "))
}

/// Go's `%v` of a string list (`[/data /logs]`).
pub(super) fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Go's `time.Duration` text (`5s`, `1m30s`, `0s`, `1.5s`).
pub(super) fn go_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        return if ns % 1_000_000 == 0 {
            format!("{}ms", ns / 1_000_000)
        } else if ns % 1000 == 0 {
            format!("{}µs", ns / 1000)
        } else {
            format!("{ns}ns")
        };
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if frac == 0 {
        out.push_str(&format!("{s}s"));
    } else {
        let f = format!("{frac:09}");
        out.push_str(&format!("{s}.{}s", f.trim_end_matches('0')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(5)), "5s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn go_lists() {
        let v = vec!["/bin/sh".to_string(), "-c".into(), "echo \"hi\"".into()];
        assert_eq!(go_quoted_list(&v), r#"["/bin/sh" "-c" "echo \"hi\""]"#);
        assert_eq!(go_list(&v[..2]), "[/bin/sh -c]");
    }
}
