//! The manifest error type, field paths and byte-offset → line:column conversion.

use std::fmt;
use std::path::PathBuf;

use super::hosts::HostError;
use super::ids::IdError;
use super::routes::RouteError;
use super::template::TemplateError;

/// What went wrong, for callers that want to branch on it. The rendered text is in
/// [`ManifestError`]'s `Display`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The manifest file could not be read.
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// The TOML does not have the manifest's shape: unknown field, missing field, wrong type.
    Schema,
    /// The shape is right but a value breaks a rule (ids, routes, hosts, templates, references).
    Invalid,
    /// [`Manifest::resolve_variables`](super::Manifest::resolve_variables) was asked about a
    /// component the manifest does not define.
    UnknownComponent,
    /// A variable needed at run time has no value (required and not provided).
    MissingVariable,
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Converts a byte offset into `text` to a 1-based line and column. Offsets past the end (or
    /// inside a multi-byte character) are clamped.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where in the document a value lives, e.g. `component.api.allowed_outbound_hosts[1]`.
/// Keys that are not bare TOML keys are quoted: `environment."MY.KEY"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a table key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.into()));
        path
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub(super) fn pop(&mut self) {
        self.0.pop();
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare =
                        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Every error this module reports.
///
/// Displays as `[<file>: ]line L, column C: <field path>: <reason>`; the parts that are not
/// known are left out (no file for [`parse`](super::parse), no location for run-time variable
/// errors, no path for errors about the document as a whole).
///
/// When a typed error says what is wrong (a bad id, route, template or outbound host, a file
/// that cannot be read) it is the [`source`](std::error::Error::source), as [`Cause`], and not
/// repeated in the text: the reason gives only the context, or is empty. Show users the whole
/// chain, as the wasm-host binary does with anyhow's `{:#}`:
///
/// ```text
/// line 10, column 12: component.rooms_api: invalid component id `rooms_api`: words must be separated with '-', not '_'
/// ```
#[derive(Debug)]
pub struct ManifestError {
    pub kind: ErrorKind,
    /// The manifest file, when it was read by [`load`](super::load).
    pub file: Option<PathBuf>,
    /// Where the offending key or value starts.
    pub location: Option<Location>,
    /// The offending field; empty for the document itself.
    pub field: FieldPath,
    /// Why it is wrong, or the context of [`source`](Self::source) (empty when the source says
    /// it all).
    pub reason: String,
    /// The typed error behind this one, if any (boxed: some are large, and errors travel in
    /// every `Result` of the parser).
    pub source: Option<Box<Cause>>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(self))
    }
}

impl std::error::Error for ManifestError {
    /// The [`Cause`] (not its box, so that it downcasts).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

/// The typed error a [`ManifestError`] wraps. Each variant displays (and chains) as the error
/// it holds.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// The manifest file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A component id, variable name or key-value store label breaks the id rules.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A `[[trigger.http]]` route does not parse.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// A component variable or outbound host template does not parse.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An `allowed_outbound_hosts` entry (literal, or a rendered template) does not parse.
    #[error(transparent)]
    Host(#[from] HostError),
}

impl ManifestError {
    pub(super) fn new(kind: ErrorKind, field: FieldPath, reason: impl Into<String>) -> Self {
        ManifestError { kind, file: None, location: None, field, reason: reason.into(), source: None }
    }

    pub(super) fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        self.source = Some(Box::new(cause.into()));
        self
    }

    pub(super) fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub(super) fn in_file(mut self, file: PathBuf) -> Self {
        self.file = Some(file);
        self
    }
}

fn render(e: &ManifestError) -> String {
    let mut parts = Vec::with_capacity(4);
    if let Some(file) = &e.file {
        parts.push(file.display().to_string());
    }
    if let Some(location) = e.location {
        parts.push(location.to_string());
    }
    if !e.field.is_root() {
        parts.push(e.field.to_string());
    }
    if !e.reason.is_empty() {
        parts.push(e.reason.clone());
    }
    parts.join(": ")
}

/// An error and its sources on one line, joined with `: ` (what anyhow's `{:#}` prints).
#[cfg(test)]
pub(super) use ocomms_api::error::chain as report;
