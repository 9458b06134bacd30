//! Property tests of the manifest parser: it never panics, whatever the text (arbitrary
//! strings, and the repository's spin.toml damaged line by line), and a valid manifest
//! generated from a model parses back to exactly that model. Bounded in `cargo test`
//! (`PROPTEST_CASES=N` runs more); failures are saved in `src/manifest/props.proptest-regressions`.
//! The cargo-fuzz target `manifest` explores `parse` with coverage guidance.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::*;

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

const REPO_MANIFEST: &str = include_str!("../../../spin.toml");

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

#[derive(Debug, Clone)]
struct VarModel {
    /// `None`: required.
    default: Option<String>,
    secret: bool,
    description: Option<String>,
}

#[derive(Debug, Clone)]
struct ComponentModel {
    source: String,
    description: Option<String>,
    hosts: Vec<String>,
    environment: BTreeMap<String, String>,
    stores: Vec<String>,
    /// Name to template; templates use only declared variables.
    variables: BTreeMap<String, String>,
    build: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Model {
    name: String,
    version: Option<String>,
    description: Option<String>,
    authors: Vec<String>,
    variables: BTreeMap<String, VarModel>,
    components: BTreeMap<String, ComponentModel>,
    /// Route text (`/a`, `/b/...`) and component id.
    triggers: Vec<(String, String)>,
}

impl Model {
    fn render(&self) -> String {
        let mut t = String::from("spin_manifest_version = 2\n\n[application]\n");
        t.push_str(&format!("name = {}\n", q(&self.name)));
        if let Some(v) = &self.version {
            t.push_str(&format!("version = {}\n", q(v)));
        }
        if let Some(d) = &self.description {
            t.push_str(&format!("description = {}\n", q(d)));
        }
        if !self.authors.is_empty() {
            t.push_str(&format!("authors = {}\n", list(&self.authors)));
        }
        t.push_str("\n[variables]\n");
        for (name, v) in &self.variables {
            let mut fields = match &v.default {
                Some(d) => vec![format!("default = {}", q(d))],
                None => vec!["required = true".to_string()],
            };
            if v.secret {
                fields.push("secret = true".into());
            }
            if let Some(d) = &v.description {
                fields.push(format!("description = {}", q(d)));
            }
            t.push_str(&format!("{name} = {{ {} }}\n", fields.join(", ")));
        }
        for (route, component) in &self.triggers {
            t.push_str(&format!("\n[[trigger.http]]\nroute = {}\ncomponent = {}\n", q(route), q(component)));
        }
        for (id, c) in &self.components {
            t.push_str(&format!("\n[component.{id}]\nsource = {}\n", q(&c.source)));
            if let Some(d) = &c.description {
                t.push_str(&format!("description = {}\n", q(d)));
            }
            t.push_str(&format!("allowed_outbound_hosts = {}\n", list(&c.hosts)));
            if !c.stores.is_empty() {
                t.push_str(&format!("key_value_stores = {}\n", list(&c.stores)));
            }
            if !c.environment.is_empty() {
                let env: Vec<String> = c.environment.iter().map(|(k, v)| format!("{k} = {}", q(v))).collect();
                t.push_str(&format!("environment = {{ {} }}\n", env.join(", ")));
            }
            if !c.variables.is_empty() {
                t.push_str(&format!("\n[component.{id}.variables]\n"));
                for (name, template) in &c.variables {
                    t.push_str(&format!("{name} = {}\n", q(template)));
                }
            }
            if let Some(commands) = &c.build {
                t.push_str(&format!("\n[component.{id}.build]\ncommand = {}\n", list(commands)));
            }
        }
        t
    }

    fn assert_parsed_as(&self, m: &Manifest) {
        assert_eq!(
            m.application,
            Application {
                name: self.name.clone(),
                version: self.version.clone(),
                description: self.description.clone(),
                authors: self.authors.clone(),
            }
        );
        let vars: BTreeMap<String, Variable> = self
            .variables
            .iter()
            .map(|(n, v)| {
                let var = Variable {
                    required: v.default.is_none(),
                    default: v.default.clone(),
                    secret: v.secret,
                    description: v.description.clone(),
                };
                (n.clone(), var)
            })
            .collect();
        assert_eq!(m.variables, vars);
        let triggers: Vec<(String, String)> =
            m.triggers.iter().map(|t| (t.route.to_string(), t.component.clone())).collect();
        assert_eq!(triggers, self.triggers);
        assert_eq!(m.components.keys().collect::<Vec<_>>(), self.components.keys().collect::<Vec<_>>());
        for (id, c) in &self.components {
            let got = &m.components[id];
            assert_eq!(got.source, Path::new(&c.source));
            assert_eq!(got.description, c.description);
            assert_eq!(got.allowed_outbound_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(), c.hosts);
            assert_eq!(got.environment, c.environment);
            assert_eq!(got.key_value_stores, c.stores);
            let templates: BTreeMap<String, String> =
                got.variables.iter().map(|(k, t)| (k.clone(), t.as_str().to_string())).collect();
            assert_eq!(templates, c.variables);
            assert_eq!(got.build.as_ref().map(|b| b.commands.clone()), c.build);
        }
    }
}

/// One lower-case id word: starts with a letter.
fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,5}"
}

fn snake() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..3).prop_map(|w| w.join("_"))
}

fn kebab() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..3).prop_map(|w| w.join("-"))
}

/// Free text for names and descriptions: anything TOML can hold.
fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[ -~]{0,20}", 1 => any::<String>()]
}

fn var_model() -> impl Strategy<Value = VarModel> {
    (prop::option::of(free_text()), any::<bool>(), prop::option::of(free_text()))
        .prop_map(|(default, secret, description)| VarModel { default, secret, description })
}

/// A template over `names` (which must be non-empty for references).
fn template(names: Vec<String>) -> impl Strategy<Value = String> {
    // Literal text holds no braces, so it cannot open or close a reference by accident.
    let literal = "[^{}]{0,8}";
    let part = (literal, any::<prop::sample::Index>(), any::<bool>(), any::<bool>()).prop_map(
        move |(lit, i, refer, spaced)| {
            if refer && !names.is_empty() {
                let n = &names[i.index(names.len())];
                if spaced { format!("{lit}{{{{ {n} }}}}") } else { format!("{lit}{{{{{n}}}}}") }
            } else {
                lit
            }
        },
    );
    prop::collection::vec(part, 0..4).prop_map(|p| p.concat())
}

const HOSTS: &[&str] = &[
    "http://rooms.internal",
    "postgres://localhost",
    "https://example.com",
    "http://127.0.0.1:8080",
    "redis://cache:6379",
    "mysql://db.internal:3306",
    "mqtt://broker.internal",
    "*://10.0.0.0/8:*",
    "https://*.example.com:8000..8010/",
    "http://[::1]:8080",
    "*://ff00::/8:443",
    "http://self",
];

/// An `allowed_outbound_hosts` entry: a literal one, or a template over `names`.
fn outbound_host(names: Vec<String>) -> impl Strategy<Value = String> {
    (prop::sample::select(HOSTS), any::<prop::sample::Index>(), any::<bool>()).prop_map(move |(host, i, templated)| {
        if templated && !names.is_empty() {
            format!("postgres://{{{{ {} }}}}:*", names[i.index(names.len())])
        } else {
            host.to_string()
        }
    })
}

fn component_model(var_names: Vec<String>) -> impl Strategy<Value = ComponentModel> {
    (
        "[a-z]{1,8}(/[a-z]{1,8})?\\.wasm",
        prop::option::of(free_text()),
        prop::collection::vec(outbound_host(var_names.clone()), 0..3),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,8}", free_text(), 0..3),
        prop::collection::vec(snake(), 0..2),
        prop::collection::btree_map(snake(), template(var_names), 0..4),
        prop::option::of(prop::collection::vec("[ -~]{1,20}", 1..3)),
    )
        .prop_map(|(source, description, hosts, environment, stores, variables, build)| ComponentModel {
            source,
            description,
            hosts,
            environment,
            stores,
            variables,
            build,
        })
}

fn model() -> impl Strategy<Value = Model> {
    let app = (free_text().prop_filter("a name", |n| !n.trim().is_empty()), prop::option::of(free_text()))
        .prop_flat_map(|(name, version)| {
            (Just(name), Just(version), prop::option::of(free_text()), prop::collection::vec(free_text(), 0..3))
        });
    (app, prop::collection::btree_map(snake(), var_model(), 0..4))
        .prop_flat_map(|((name, version, description, authors), variables)| {
            let names: Vec<String> = variables.keys().cloned().collect();
            let components = prop::collection::btree_map(kebab(), component_model(names), 1..4);
            (Just((name, version, description, authors, variables)), components)
        })
        .prop_flat_map(|(app, components)| {
            let ids: Vec<String> = components.keys().cloned().collect();
            // Distinct routes: the n-th is `/rN` or `/rN/...`.
            let triggers = prop::collection::vec((any::<bool>(), prop::sample::select(ids)), 1..5).prop_map(|t| {
                t.into_iter()
                    .enumerate()
                    .map(|(i, (wild, c))| (if wild { format!("/r{i}/...") } else { format!("/r{i}") }, c))
                    .collect::<Vec<_>>()
            });
            (Just(app), Just(components), triggers)
        })
        .prop_map(|((name, version, description, authors, variables), components, triggers)| Model {
            name,
            version,
            description,
            authors,
            variables,
            components,
            triggers,
        })
}

/// The repository's manifest with lines dropped, duplicated or cut, and bytes replaced.
fn damaged_manifest() -> impl Strategy<Value = String> {
    let lines: Vec<String> = REPO_MANIFEST.lines().map(str::to_string).collect();
    let n = lines.len();
    prop::collection::vec((0..n, 0u8..4, any::<prop::sample::Index>(), any::<char>()), 1..6).prop_map(move |edits| {
        let mut lines = lines.clone();
        for (i, op, at, c) in edits {
            if lines.is_empty() {
                break;
            }
            let i = i % lines.len();
            match op {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                2 => {
                    let chars: Vec<char> = lines[i].chars().collect();
                    lines[i] = chars[..at.index(chars.len() + 1)].iter().collect();
                }
                _ => {
                    let mut chars: Vec<char> = lines[i].chars().collect();
                    if chars.is_empty() {
                        chars.push(c);
                    } else {
                        let k = at.index(chars.len());
                        chars[k] = c;
                    }
                    lines[i] = chars.into_iter().collect();
                }
            }
        }
        lines.join("\n")
    })
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn valid_manifests_round_trip(m in model()) {
        let text = m.render();
        let parsed = parse(&text, Path::new("/app")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        m.assert_parsed_as(&parsed);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        let _ = parse(&text, Path::new("/app"));
    }

    #[test]
    fn damaged_manifests_never_panic_the_parser(text in damaged_manifest()) {
        // Errors must display (they carry a location computed from the text).
        if let Err(e) = parse(&text, Path::new("/app")) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn the_repository_manifest_parses() {
    let m = parse(REPO_MANIFEST, Path::new("/app")).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.components.contains_key("api"));
}

/// The cargo-fuzz target's committed corpus, replayed on every test run.
#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/manifest");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
        if let Err(e) = parse(&text, Path::new("/app")) {
            assert!(!e.to_string().is_empty());
        }
        n += 1;
    }
    assert!(n > 0, "{} is empty", dir.display());
}
