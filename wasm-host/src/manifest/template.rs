//! Component variable templates: literal text with `{{ name }}` references to application
//! variables (spaces inside the braces are optional).

use std::fmt;

use super::ids::{self, IdError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    Literal(String),
    /// A reference to an application variable, by name.
    Variable(String),
}

/// Why a template does not parse. Each message quotes the template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unterminated `{{{{` in template {template:?}")]
    Unterminated { template: String },
    #[error("invalid variable reference `{{{{ {name} }}}}` in template {template:?}")]
    InvalidReference {
        template: String,
        name: String,
        #[source]
        source: IdError,
    },
}

/// A parsed component variable value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<TemplatePart>,
}

impl Template {
    /// Parses `{{ name }}` references; everything else is literal text. Names follow the
    /// variable-name rule (lower-case snake case). An unterminated `{{` is an error.
    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(TemplatePart::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| TemplateError::Unterminated { template: raw.to_owned() })?;
            let name = after[..close].trim();
            ids::check_variable_name(name).map_err(|source| TemplateError::InvalidReference {
                template: raw.to_owned(),
                name: name.to_owned(),
                source,
            })?;
            parts.push(TemplatePart::Variable(name.to_string()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Literal(rest.to_string()));
        }
        Ok(Template { raw: raw.to_string(), parts })
    }

    /// The template as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// The application variables this template references, in order (may repeat).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            TemplatePart::Variable(name) => Some(name.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }

    /// Renders the template, asking `lookup` for each referenced variable's value.
    pub fn render<E>(&self, mut lookup: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                TemplatePart::Literal(text) => out.push_str(text),
                TemplatePart::Variable(name) => out.push_str(&lookup(name)?),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
