//! The CLI's Go text/template engine (`--format`): any text is parsed as a template and,
//! when accepted, rendered over a fixed container-like object. Nothing panics; a strict
//! render that succeeds gives the same text as the lenient one (`<no value>` for a missing
//! key); the lenient render leaves nothing behind (a strict render after it is the same
//! as before); `format_rows` (plain, `table` and `json`) never panics either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::json;

// The engine lives in the `ministry` binary, not its library: its files are compiled here
// as they are there, `template` next to the tables it uses (`cli::output::table`).
#[path = "../../ministry/src/cli/output/table.rs"]
mod output;
#[path = "../../ministry/src/cli/template/mod.rs"]
mod template;

use template::{format_rows, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let v = json!({
        "ID": "3f2a9c1b7d4e", "Name": "/web", "Names": "web",
        "Args": ["-g", "daemon off;"], "Labels": "a=1,b=2", "Size": 0, "Ratio": 0.5,
        "Config": {"Cmd": ["nginx", "-g"], "Env": ["A=1", "B=<&>"], "Labels": {"k": "v"},
                   "Tty": false, "Image": "nginx:latest"},
        "State": {"Status": "running", "Running": true, "ExitCode": 0, "Pid": 42},
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "Aliases": null},
                                         "n1": {"IPAddress": "10.0.0.2", "Aliases": ["x", "y"]}},
                            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}},
        "Mounts": [], "Nothing": null,
    });
    // Nested `range`s multiply (as in Go): a few keep each run short.
    if s.matches("range").count() > 3 {
        return;
    }
    if let Ok(t) = Template::parse(s) {
        let strict = t.render(&v).map_err(|e| e.to_string());
        let lenient = t.render_missing_as_no_value(&v).map_err(|e| e.to_string());
        if let Ok(text) = &strict {
            assert_eq!(
                lenient.as_ref(),
                Ok(text),
                "strict and lenient differ for {s:?}"
            );
        }
        let again = t.render(&v).map_err(|e| e.to_string());
        assert_eq!(
            strict, again,
            "render changed after a lenient one for {s:?}"
        );
    }
    let headers = json!({"ID": "CONTAINER ID", "Names": "NAMES"});
    let _ = format_rows(s, &headers, std::slice::from_ref(&v));
});
