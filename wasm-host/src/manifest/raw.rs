//! The serde shape of `spin.toml` (the subset wasm-host runs). Every table denies unknown
//! fields, as Spin's own manifest schema does. Values are checked further in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a Spin manifest (`spin_manifest_version = 2`)")]
pub(super) struct RawManifest {
    /// Checked before deserializing (see `check_version`); only declared so it is not unknown.
    #[serde(rename = "spin_manifest_version")]
    _version: IgnoredAny,
    pub application: RawApplication,
    #[serde(default)]
    pub variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub trigger: RawTriggers,
    #[serde(default)]
    pub component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an `[application]` table")]
pub(super) struct RawApplication {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a variable table: `{ required = true }` or `{ default = \"...\" }`")]
pub(super) struct RawVariable {
    #[serde(default)]
    pub required: bool,
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of trigger arrays (`[[trigger.http]]`)")]
pub(super) struct RawTriggers {
    #[serde(default)]
    pub http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an http trigger table with `route` and `component`")]
pub(super) struct RawHttpTrigger {
    pub route: RawRoute,
    #[serde(deserialize_with = "component_ref")]
    pub component: String,
    /// Checked in `validate`: only `{ type = "spin" }` is accepted.
    pub executor: Option<BTreeMap<String, toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a component table (`[component.<id>]` with `source = \"...\"`)")]
pub(super) struct RawComponent {
    #[serde(deserialize_with = "local_source")]
    pub source: String,
    pub description: Option<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<RawFileMount>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    pub build: Option<RawBuild>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a build table with `command`")]
pub(super) struct RawBuild {
    #[serde(deserialize_with = "commands")]
    pub command: Vec<String>,
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

/// A route string, or `{ private = <bool> }`.
#[derive(Debug)]
pub(super) enum RawRoute {
    Path(String),
    Private(bool),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "`{ private = true }`")]
struct PrivateRoute {
    private: bool,
}

impl<'de> Deserialize<'de> for RawRoute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RouteVisitor;
        impl<'de> Visitor<'de> for RouteVisitor {
            type Value = RawRoute;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a route string (`/path`, `/prefix/...`) or `{ private = true }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRoute, E> {
                Ok(RawRoute::Path(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRoute, A::Error> {
                let private = PrivateRoute::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawRoute::Private(private.private))
            }
        }
        deserializer.deserialize_any(RouteVisitor)
    }
}

/// A file to make available to the component: a glob pattern, or `{ source, destination }`.
#[derive(Debug)]
pub(super) enum RawFileMount {
    Pattern(String),
    Placement { source: String, destination: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "`{ source = \"...\", destination = \"...\" }`")]
struct Placement {
    source: String,
    destination: String,
}

impl<'de> Deserialize<'de> for RawFileMount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
            type Value = RawFileMount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file pattern or `{ source = \"...\", destination = \"...\" }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFileMount, E> {
                Ok(RawFileMount::Pattern(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFileMount, A::Error> {
                let p = Placement::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawFileMount::Placement { source: p.source, destination: p.destination })
            }
        }
        deserializer.deserialize_any(FileVisitor)
    }
}

/// `component = "id"`. Spin also accepts an inline component table here; wasm-host does not.
fn component_ref<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct RefVisitor;
    impl<'de> Visitor<'de> for RefVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the id of a `[component.<id>]` table")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<String, A::Error> {
            Err(de::Error::custom(
                "inline components are not supported by wasm-host; define the component in a \
                 `[component.<id>]` table and set `component = \"<id>\"`",
            ))
        }
    }
    deserializer.deserialize_any(RefVisitor)
}

/// `source = "path/to/component.wasm"`. Spin's remote (`{ url, digest }`) and registry
/// (`{ registry, package, version }`) sources are rejected.
fn local_source<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct SourceVisitor;
    impl<'de> Visitor<'de> for SourceVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a path to a local .wasm file")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<String, A::Error> {
            Err(de::Error::custom(
                "remote sources are not supported by wasm-host; `source` must be the path of a \
                 local .wasm file, relative to the manifest",
            ))
        }
    }
    deserializer.deserialize_any(SourceVisitor)
}

/// `command = "..."` or `command = ["...", "..."]`.
fn commands<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct CommandVisitor;
    impl<'de> Visitor<'de> for CommandVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a command string or an array of command strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(command) = seq.next_element::<String>()? {
                out.push(command);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(CommandVisitor)
}
