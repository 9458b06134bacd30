//! Spin application manifests (`spin.toml`, `spin_manifest_version = 2`): the subset wasm-host
//! runs, parsed with serde the way Spin's own manifest crate does (every table denies unknown
//! fields) and then validated.
//!
//! ```toml
//! spin_manifest_version = 2
//!
//! [application]
//! name = "ocomms"                      # required; version, description, authors optional
//!
//! [variables]                          # application variables: `required = true` xor `default`
//! jwt_secret = { required = true, secret = true }
//! rooms_url = { default = "http://rooms.internal" }
//!
//! [[trigger.http]]                     # http triggers only
//! route = "/api/..."                   # exact path, `/prefix/...` wildcard, or { private = true }
//! component = "api"                    # id of a [component.<id>] table (no inline components)
//! # executor = { type = "spin" }       # optional; no other executor is accepted
//!
//! [component.api]
//! source = "target/wasm32-wasip2/wasm/ocomms_component.wasm"   # local path, relative to the manifest
//! description = "..."
//! allowed_outbound_hosts = ["{{ rooms_url }}", "postgres://localhost"]   # Spin's grammar
//! environment = { KEY = "value" }
//! files = ["static/**", { source = "assets", destination = "/assets" }]
//! key_value_stores = ["default"]
//!
//! [component.api.variables]            # templates over application variables
//! jwt_secret = "{{ jwt_secret }}"
//!
//! [component.api.build]                # kept for tooling; wasm-host does not build
//! command = "cargo xtask build component"   # or an array of commands; also workdir, watch
//! ```
//!
//! Rules enforced on top of the serde shape:
//!
//! * `spin_manifest_version` must be `2` (checked first, so a v1 manifest gets one clear error);
//! * ids follow Spin: component ids are kebab case (`rooms-api`), variable names lower snake
//!   case (`jwt_secret`), key-value store labels snake case — words start with a letter, contain
//!   only ASCII letters/digits, and are all lower- or all upper-case;
//! * an application variable sets exactly one of `required = true` and `default`;
//! * component variable templates reference only declared application variables;
//! * `allowed_outbound_hosts` entries follow Spin's grammar (`scheme://host[:port]`, see
//!   [`AllowedHost`]); an entry holding `{{ variable }}` references is a template over declared
//!   application variables, parsed once rendered by [`Manifest::resolve_allowed_hosts`];
//! * every trigger names a defined component; routes start with `/`, may end in `/...`, have no
//!   `:parameters`, and no route appears twice;
//! * component sources are local paths: remote `{ url, digest }` and registry sources are
//!   rejected.
//!
//! Errors are [`ManifestError`]s that display as
//! `[file: ]line L, column C: <field path>: <reason>`. When a typed error says what is wrong
//! ([`IdError`], [`RouteError`], [`TemplateError`], [`HostError`], an I/O error) it is the
//! error's source ([`Cause`]) rather than part of the reason; with its sources (anyhow's `{:#}`)
//! the error reads e.g.
//! ``line 14, column 5: component.api.allowed_outbound_hosts[1]: "ftp://files.internal": no port given, ...``.
//!
//! # API
//!
//! * [`load`] reads and parses a file; [`parse`] parses text, resolving relative paths against
//!   a given directory.
//! * [`Manifest::resolve_variables`] renders a component's variables for a run, taking values
//!   from a provider (see [`env_variable`] for Spin's `SPIN_VARIABLE_<NAME>` convention) and
//!   falling back to defaults; [`Manifest::resolve_allowed_hosts`] renders and parses a
//!   component's `allowed_outbound_hosts` the same way, into the [`AllowedHosts`] the runtime
//!   checks outgoing connections against.
//! * [`Manifest::component_source`] gives the path of a component's `.wasm`.
//! * [`route`] picks the trigger for a request path (exact beats wildcard, longest prefix wins).

// This module is the host's manifest API: until the host calls every item (and uses every
// re-export below), the unused parts should not warn.

mod error;
mod hosts;
mod ids;
mod raw;
mod routes;
mod spans;
mod template;
mod validate;

#[cfg(test)]
mod hosts_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod ui_tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use error::{Cause, ErrorKind, FieldPath, Location, ManifestError, Segment};
pub use hosts::{
    AllowedHost, AllowedHostEntry, AllowedHosts, HostError, HostPattern, InvalidEntry, PortSpec, well_known_port,
};
pub use ids::IdError;
pub use routes::{Captures, Route, RouteError, RouteSegment, route};
pub use template::{Template, TemplateError, TemplatePart};

/// A parsed and validated manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub application: Application,
    /// Application variables by name.
    pub variables: BTreeMap<String, Variable>,
    /// The `[[trigger.http]]` entries, in manifest order.
    pub triggers: Vec<HttpTrigger>,
    /// Components by id.
    pub components: BTreeMap<String, Component>,
    /// The directory relative paths in the manifest are resolved against (the manifest's
    /// directory for [`load`]).
    pub dir: PathBuf,
}

/// `[application]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub authors: Vec<String>,
}

/// An entry of the application's `[variables]`. Exactly one of `required` and `default` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub required: bool,
    pub default: Option<String>,
    /// The value is sensitive: do not log it.
    pub secret: bool,
    pub description: Option<String>,
}

/// A `[[trigger.http]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTrigger {
    pub route: Route,
    /// The id of the component serving the route (always a key of [`Manifest::components`]).
    pub component: String,
}

/// A `[component.<id>]` table.
#[derive(Clone, Debug)]
pub struct Component {
    /// The `.wasm` path as written (relative to [`Manifest::dir`] unless absolute); see
    /// [`Manifest::component_source`].
    pub source: PathBuf,
    pub description: Option<String>,
    /// Parsed entries, and templates parsed by [`Manifest::resolve_allowed_hosts`].
    pub allowed_outbound_hosts: Vec<AllowedHostEntry>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    pub key_value_stores: Vec<String>,
    /// Component variables: templates over application variables.
    pub variables: BTreeMap<String, Template>,
    pub build: Option<BuildConfig>,
}

/// An entry of a component's `files`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileMount {
    /// A path or glob pattern relative to the manifest, mounted at the same relative path.
    Pattern(String),
    /// `{ source = "dir-or-file", destination = "/guest/path" }`.
    Placement { source: PathBuf, destination: String },
}

/// `[component.<id>.build]`; wasm-host does not build components, the data is kept for tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildConfig {
    /// `command`, normalised to a list (a single string becomes one entry).
    pub commands: Vec<String>,
    pub workdir: Option<PathBuf>,
    pub watch: Vec<String>,
}

/// Reads and parses the manifest at `path`; relative paths in it are resolved against the
/// manifest's directory. Errors carry the file name.
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ManifestError::new(ErrorKind::Io, FieldPath::root(), "cannot read the manifest")
            .caused_by(e)
            .in_file(path.to_path_buf())
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    parse(&text, dir).map_err(|e| e.in_file(path.to_path_buf()))
}

/// Parses and validates manifest text. `dir` is where relative paths (component sources,
/// files) are resolved from; it is stored as [`Manifest::dir`] and not accessed.
pub fn parse(text: &str, dir: &Path) -> Result<Manifest, ManifestError> {
    validate::parse(text, dir)
}

/// The environment variable Spin reads a variable's value from: `SPIN_VARIABLE_<NAME>`, the
/// name upper-cased (`jwt_secret` → `SPIN_VARIABLE_JWT_SECRET`).
pub fn env_variable_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

/// A variable provider for [`Manifest::resolve_variables`] reading `SPIN_VARIABLE_<NAME>` from
/// the process environment.
pub fn env_variable(name: &str) -> Option<String> {
    std::env::var(env_variable_name(name)).ok()
}

impl Manifest {
    /// Resolves a component's variables for a run: each template is rendered with the values of
    /// the application variables it references. An application variable's value is
    /// `provided(name)` when that returns `Some` (run-time configuration, e.g. [`env_variable`],
    /// keyed by the application variable's name), else its `default`. A required variable with
    /// no provided value is an [`ErrorKind::MissingVariable`] error naming it; an unknown
    /// component is [`ErrorKind::UnknownComponent`].
    pub fn resolve_variables(
        &self,
        component: &str,
        provided: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HashMap<String, String>, ManifestError> {
        let comp = self.component(component)?;
        let mut resolved = HashMap::with_capacity(comp.variables.len());
        for (name, template) in &comp.variables {
            let value = template.render(|app_var| self.variable_value(app_var, provided))?;
            resolved.insert(name.clone(), value);
        }
        Ok(resolved)
    }

    /// Resolves a component's `allowed_outbound_hosts` for a run: literal entries as parsed at
    /// load time, templates rendered from application variables (as in
    /// [`resolve_variables`](Self::resolve_variables)) and then parsed. A rendered entry that
    /// does not parse is an [`ErrorKind::Invalid`] error at its field.
    pub fn resolve_allowed_hosts(
        &self,
        component: &str,
        provided: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AllowedHosts, ManifestError> {
        let comp = self.component(component)?;
        let field = FieldPath::root().key("component").key(component).key("allowed_outbound_hosts");
        comp.allowed_outbound_hosts
            .iter()
            .enumerate()
            .map(|(i, entry)| match entry {
                AllowedHostEntry::Parsed(host) => Ok(host.clone()),
                AllowedHostEntry::Template(template) => {
                    let rendered = template.render(|app_var| self.variable_value(app_var, provided))?;
                    AllowedHost::parse(&rendered).map_err(|why| {
                        // The rendered text, which the reason and the host error quote, stays
                        // out of the message if a secret went into it: then the error has no
                        // source.
                        let secret = template.variables().any(|v| self.variables.get(v).is_some_and(|v| v.secret));
                        let field = field.index(i);
                        if secret {
                            let reason = format!(
                                "template {:?} renders to an invalid entry (not shown: it uses a secret variable)",
                                template.as_str()
                            );
                            ManifestError::new(ErrorKind::Invalid, field, reason)
                        } else {
                            let reason = format!("template {:?} renders as {rendered:?}", template.as_str());
                            ManifestError::new(ErrorKind::Invalid, field, reason).caused_by(why)
                        }
                    })
                }
            })
            .collect()
    }

    fn component(&self, id: &str) -> Result<&Component, ManifestError> {
        self.components.get(id).ok_or_else(|| {
            ManifestError::new(
                ErrorKind::UnknownComponent,
                FieldPath::root().key("component").key(id),
                format!("no component `{id}` in the manifest"),
            )
        })
    }

    fn variable_value(&self, name: &str, provided: &dyn Fn(&str) -> Option<String>) -> Result<String, ManifestError> {
        let field = FieldPath::root().key("variables").key(name);
        let Some(variable) = self.variables.get(name) else {
            // Parsing rejects templates over undeclared variables; this is for hand-built values.
            return Err(ManifestError::new(
                ErrorKind::MissingVariable,
                field,
                format!("variable `{name}` is not declared in the application's [variables]"),
            ));
        };
        if let Some(value) = provided(name) {
            return Ok(value);
        }
        variable.default.clone().ok_or_else(|| {
            ManifestError::new(
                ErrorKind::MissingVariable,
                field,
                format!(
                    "required variable `{name}` has no value; set {} or provide it in the host \
                     configuration",
                    env_variable_name(name)
                ),
            )
        })
    }

    /// The path of a component's `.wasm`: its `source` resolved against [`Manifest::dir`].
    /// `None` if there is no such component.
    pub fn component_source(&self, component: &str) -> Option<PathBuf> {
        self.components.get(component).map(|c| self.dir.join(&c.source))
    }
}
