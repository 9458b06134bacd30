//! The wrangler configuration of a local Worker run (`wrangler dev`): the repository's
//! bindings, migrations and Cron Trigger, the bundle by absolute path, and every setting as
//! a plain variable. The edge suites and the bench's `edge` scenario run the Worker with it.

use std::path::Path;

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `name`'s configuration with `main` as the bundle and `vars` as its `[vars]`.
pub fn local_config(name: &str, main: &Path, vars: &[(&str, String)]) -> String {
    let vars: String = vars.iter().map(|(k, v)| format!("{k} = {}\n", toml_string(v))).collect();
    format!(
        r#"name = {name}
main = {main}
compatibility_date = "2026-04-01"
no_bundle = true

[[rules]]
type = "CompiledWasm"
globs = ["**/*.wasm"]
fallthrough = false

[vars]
{vars}
[[durable_objects.bindings]]
name = "ROOMS"
class_name = "ChannelRoom"

[[durable_objects.bindings]]
name = "USERS"
class_name = "UserSockets"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["ChannelRoom", "UserSockets"]

[triggers]
crons = ["* * * * *"]
"#,
        name = toml_string(name),
        main = toml_string(&main.to_string_lossy()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_escaped() {
        let c = local_config("t", Path::new("/a b/w.mjs"), &[("X", "say \"hi\" \\o/".into())]);
        assert!(c.contains(r#"main = "/a b/w.mjs""#), "{c}");
        assert!(c.contains(r#"X = "say \"hi\" \\o/""#), "{c}");
        assert!(c.contains("name = \"t\""), "{c}");
    }
}
