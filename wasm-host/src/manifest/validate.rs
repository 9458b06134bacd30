//! From the raw serde shape to a checked [`Manifest`], with located errors.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Cause, ErrorKind, FieldPath, Location, ManifestError};
use super::hosts::{AllowedHost, AllowedHostEntry};
use super::raw::{RawComponent, RawFileMount, RawHttpTrigger, RawManifest, RawRoute};
use super::template::Template;
use super::{Application, BuildConfig, Component, FileMount, HttpTrigger, Manifest, Route, Variable, ids, spans};

/// The manifest version wasm-host understands.
const VERSION: &str = "2";

pub(super) fn parse(text: &str, dir: &Path) -> Result<Manifest, ManifestError> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if let Some(error) = syntax_errors.into_iter().next() {
        let span = error.span().unwrap_or(0..0);
        let field = spans::path_at(document.get_ref(), &span);
        return Err(ManifestError::new(ErrorKind::Syntax, field, error.message())
            .at(Some(Location::from_offset(text, span.start))));
    }
    let root = document.into_inner();
    let cx = Context { text, root: &root };

    cx.check_version()?;
    cx.check_trigger_types()?;

    let whole = Spanned::new(0..text.len(), root.clone());
    let raw = RawManifest::deserialize(toml::Deserializer::from(whole)).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        ManifestError::new(ErrorKind::Schema, spans::path_at(&root, &span), error.message())
            .at(Some(Location::from_offset(text, span.start)))
    })?;

    cx.convert(raw, dir)
}

struct Context<'a> {
    text: &'a str,
    root: &'a DeTable<'a>,
}

impl Context<'_> {
    /// A validation error at `field`, located at its key (or array element) when the field is
    /// in the document.
    fn invalid(&self, field: FieldPath, reason: impl Into<String>) -> ManifestError {
        let location = spans::span_of(self.root, &field).map(|span| Location::from_offset(self.text, span.start));
        ManifestError::new(ErrorKind::Invalid, field, reason).at(location)
    }

    /// A validation error at `field` that `cause` explains by itself (it quotes the value).
    fn invalid_value(&self, field: FieldPath, cause: impl Into<Cause>) -> ManifestError {
        self.invalid(field, String::new()).caused_by(cause)
    }

    fn line_of(&self, field: &FieldPath) -> Option<usize> {
        spans::span_of(self.root, field).map(|s| Location::from_offset(self.text, s.start).line)
    }

    /// Spin reads `spin_manifest_version` first to pick a schema; do the same so that a manifest
    /// of another version gets one clear error instead of a list of unknown fields.
    fn check_version(&self) -> Result<(), ManifestError> {
        let field = FieldPath::root().key("spin_manifest_version");
        let Some(version) = self.root.get("spin_manifest_version") else {
            let reason = if self.root.contains_key("spin_version") {
                "this is a Spin manifest version 1 (`spin_version`); wasm-host reads only \
                 `spin_manifest_version = 2`"
            } else {
                "missing `spin_manifest_version`; wasm-host reads Spin manifests with \
                 `spin_manifest_version = 2`"
            };
            return Err(ManifestError::new(ErrorKind::Invalid, FieldPath::root(), reason)
                .at(Some(Location { line: 1, column: 1 })));
        };
        let shown = match version.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 && i.as_str() == VERSION => return Ok(()),
            DeValue::Integer(i) => i.as_str().to_string(),
            DeValue::String(s) => format!("{s:?}"),
            other => format!("a {}", other.type_str()),
        };
        Err(self.invalid(
            field,
            format!(
                "unsupported manifest version {shown}; wasm-host reads only \
                 `spin_manifest_version = 2`"
            ),
        ))
    }

    /// Spin manifests may hold other trigger types (`[[trigger.redis]]`, ...); say plainly that
    /// wasm-host does not run them rather than calling them unknown fields.
    fn check_trigger_types(&self) -> Result<(), ManifestError> {
        let Some(DeValue::Table(triggers)) = self.root.get("trigger").map(|t| t.get_ref()) else {
            return Ok(());
        };
        match triggers.keys().find(|k| k.get_ref() != "http") {
            Some(other) => Err(self.invalid(
                FieldPath::root().key("trigger").key(other.get_ref().as_ref()),
                format!("`{}` triggers are not supported by wasm-host; it runs only [[trigger.http]]", other.get_ref()),
            )),
            None => Ok(()),
        }
    }

    fn convert(&self, raw: RawManifest, dir: &Path) -> Result<Manifest, ManifestError> {
        let application = Application {
            name: raw.application.name,
            version: raw.application.version,
            description: raw.application.description,
            authors: raw.application.authors,
        };
        if application.name.trim().is_empty() {
            return Err(self
                .invalid(FieldPath::root().key("application").key("name"), "the application name must not be empty"));
        }

        let mut variables = BTreeMap::new();
        for (name, var) in raw.variables {
            let field = FieldPath::root().key("variables").key(name.as_str());
            ids::check_variable_name(&name)
                .map_err(|why| self.invalid(field.clone(), "invalid variable name").caused_by(why))?;
            match (var.required, &var.default) {
                (true, Some(_)) => {
                    return Err(self.invalid(
                        field,
                        format!(
                            "variable `{name}` sets both `required = true` and a `default`; a \
                             required variable has no default"
                        ),
                    ));
                }
                (false, None) => {
                    return Err(self.invalid(
                        field,
                        format!(
                            "variable `{name}` must either set `required = true` or have a \
                             `default`"
                        ),
                    ));
                }
                _ => {}
            }
            variables.insert(
                name,
                Variable {
                    required: var.required,
                    default: var.default,
                    secret: var.secret,
                    description: var.description,
                },
            );
        }

        let mut components = BTreeMap::new();
        for (id, raw_component) in raw.component {
            let component = self.component(&id, raw_component, &variables)?;
            components.insert(id, component);
        }

        let triggers = self.triggers(raw.trigger.http, &components)?;

        Ok(Manifest { application, variables, triggers, components, dir: dir.to_path_buf() })
    }

    fn component(
        &self,
        id: &str,
        raw: RawComponent,
        app_variables: &BTreeMap<String, Variable>,
    ) -> Result<Component, ManifestError> {
        let field = FieldPath::root().key("component").key(id);
        ids::check_component_id(id)
            .map_err(|why| self.invalid(field.clone(), format!("invalid component id `{id}`")).caused_by(why))?;

        if raw.source.trim().is_empty() {
            return Err(self.invalid(field.key("source"), "`source` must not be empty"));
        }

        let mut allowed_outbound_hosts = Vec::with_capacity(raw.allowed_outbound_hosts.len());
        for (i, entry) in raw.allowed_outbound_hosts.iter().enumerate() {
            let entry_field = field.key("allowed_outbound_hosts").index(i);
            let entry = if AllowedHostEntry::is_template(entry) {
                // Parsed once rendered, as Spin does (`Manifest::resolve_allowed_hosts`).
                let template = Template::parse(entry).map_err(|why| self.invalid_value(entry_field.clone(), why))?;
                self.check_references(&entry_field, &template, app_variables)?;
                AllowedHostEntry::Template(template)
            } else {
                let host = AllowedHost::parse(entry)
                    .map_err(|why| self.invalid(entry_field, format!("{entry:?}")).caused_by(why))?;
                AllowedHostEntry::Parsed(host)
            };
            allowed_outbound_hosts.push(entry);
        }

        for (i, label) in raw.key_value_stores.iter().enumerate() {
            ids::check_store_label(label).map_err(|why| {
                let reason = format!("invalid key-value store label `{label}`");
                self.invalid(field.key("key_value_stores").index(i), reason).caused_by(why)
            })?;
        }

        let mut variables = BTreeMap::new();
        for (name, value) in raw.variables {
            let var_field = field.key("variables").key(name.as_str());
            ids::check_variable_name(&name)
                .map_err(|why| self.invalid(var_field.clone(), "invalid variable name").caused_by(why))?;
            let template = Template::parse(&value).map_err(|why| self.invalid_value(var_field.clone(), why))?;
            self.check_references(&var_field, &template, app_variables)?;
            variables.insert(name, template);
        }

        let files = raw
            .files
            .into_iter()
            .map(|f| match f {
                RawFileMount::Pattern(p) => FileMount::Pattern(p),
                RawFileMount::Placement { source, destination } => {
                    FileMount::Placement { source: PathBuf::from(source), destination }
                }
            })
            .collect();

        let build = raw.build.map(|b| BuildConfig {
            commands: b.command,
            workdir: b.workdir.map(PathBuf::from),
            watch: b.watch,
        });

        Ok(Component {
            source: PathBuf::from(raw.source),
            description: raw.description,
            allowed_outbound_hosts,
            environment: raw.environment,
            files,
            key_value_stores: raw.key_value_stores,
            variables,
            build,
        })
    }

    /// A template may reference only declared application variables.
    fn check_references(
        &self,
        field: &FieldPath,
        template: &Template,
        app_variables: &BTreeMap<String, Variable>,
    ) -> Result<(), ManifestError> {
        match template.variables().find(|v| !app_variables.contains_key(*v)) {
            Some(undefined) => Err(self.invalid(
                field.clone(),
                format!(
                    "template {:?} references `{undefined}`, which is not declared in the \
                     application's [variables]",
                    template.as_str()
                ),
            )),
            None => Ok(()),
        }
    }

    fn triggers(
        &self,
        raw: Vec<RawHttpTrigger>,
        components: &BTreeMap<String, Component>,
    ) -> Result<Vec<HttpTrigger>, ManifestError> {
        let mut triggers: Vec<HttpTrigger> = Vec::with_capacity(raw.len());
        let mut seen: HashMap<Route, usize> = HashMap::new();
        for (i, trigger) in raw.into_iter().enumerate() {
            let field = FieldPath::root().key("trigger").key("http").index(i);

            if !components.contains_key(&trigger.component) {
                let defined = if components.is_empty() {
                    "no components are defined".to_string()
                } else {
                    let ids: Vec<String> = components.keys().map(|k| format!("`{k}`")).collect();
                    format!("defined components: {}", ids.join(", "))
                };
                return Err(self.invalid(
                    field.key("component"),
                    format!("trigger refers to component `{}`, which is not defined ({defined})", trigger.component),
                ));
            }

            let route = match trigger.route {
                RawRoute::Path(path) => {
                    Route::parse(&path).map_err(|why| self.invalid_value(field.key("route"), why))?
                }
                RawRoute::Private(true) => Route::Private,
                RawRoute::Private(false) => {
                    return Err(self.invalid(
                        field.key("route"),
                        "`{ private = false }` is not a route; give a route string or \
                         `{ private = true }`",
                    ));
                }
            };

            if let Some(executor) = &trigger.executor {
                self.check_executor(&field.key("executor"), executor)?;
            }

            if !route.is_private() {
                if let Some(&first) = seen.get(&route) {
                    let first_field = FieldPath::root().key("trigger").key("http").index(first);
                    let at = match self.line_of(&first_field.key("route")) {
                        Some(line) => format!("{first_field} (line {line})"),
                        None => first_field.to_string(),
                    };
                    return Err(
                        self.invalid(field.key("route"), format!("duplicate route `{route}`: already used by {at}"))
                    );
                }
                seen.insert(route.clone(), i);
            }

            triggers.push(HttpTrigger { route, component: trigger.component });
        }
        Ok(triggers)
    }

    fn check_executor(&self, field: &FieldPath, executor: &BTreeMap<String, toml::Value>) -> Result<(), ManifestError> {
        match executor.get("type").and_then(|t| t.as_str()) {
            Some("spin") => {
                if let Some(extra) = executor.keys().find(|k| *k != "type") {
                    return Err(self.invalid(
                        field.key(extra.as_str()),
                        format!("unknown field `{extra}`; the spin executor takes no options"),
                    ));
                }
                Ok(())
            }
            Some(other) => Err(self.invalid(
                field.key("type"),
                format!(
                    "the `{other}` executor is not supported by wasm-host; only \
                     `{{ type = \"spin\" }}` is"
                ),
            )),
            None => Err(self.invalid(field.clone(), "executor must be `{ type = \"spin\" }`")),
        }
    }
}
