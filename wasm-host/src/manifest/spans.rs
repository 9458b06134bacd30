//! Mapping between byte spans and field paths, using toml's spanned document tree.
//!
//! toml's serde errors carry a byte span but no usable path, and validation errors know the path
//! but not the span; the spanned [`DeTable`] answers both questions.
//!
//! Spans in a `DeTable`: keys and inline values carry their exact source range; a table opened
//! by a `[header]` (or `[[header]]`) spans only its header line; a table created implicitly by a
//! dotted header or key spans the key that created it.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{FieldPath, Segment};

/// The field whose key or value most tightly encloses `target` (the deepest one on ties).
/// Returns the root path when nothing smaller than the document encloses it.
pub(super) fn path_at(root: &DeTable<'_>, target: &Range<usize>) -> FieldPath {
    let mut walker = Walker { target, current: FieldPath::root(), best: None };
    walker.table(root);
    walker.best.map(|(_, _, path)| path).unwrap_or_default()
}

struct Walker<'t> {
    target: &'t Range<usize>,
    current: FieldPath,
    /// (span length, depth, path)
    best: Option<(usize, usize, FieldPath)>,
}

impl Walker<'_> {
    fn table(&mut self, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            self.current.push(Segment::Key(key.get_ref().to_string()));
            self.consider(key.span());
            self.value(value);
            self.current.pop();
        }
    }

    fn value(&mut self, value: &Spanned<DeValue<'_>>) {
        self.consider(value.span());
        match value.get_ref() {
            DeValue::Table(table) => self.table(table),
            DeValue::Array(array) => {
                for (i, element) in array.iter().enumerate() {
                    self.current.push(Segment::Index(i));
                    self.value(element);
                    self.current.pop();
                }
            }
            _ => {}
        }
    }

    fn consider(&mut self, span: Range<usize>) {
        if !encloses(&span, self.target) {
            return;
        }
        let len = span.len();
        let depth = self.current.segments().len();
        let better = match &self.best {
            None => true,
            Some((best_len, best_depth, _)) => len < *best_len || (len == *best_len && depth > *best_depth),
        };
        if better {
            self.best = Some((len, depth, self.current.clone()));
        }
    }
}

fn encloses(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    if outer.is_empty() {
        return false;
    }
    if inner.is_empty() {
        outer.start <= inner.start && inner.start < outer.end
    } else {
        outer.start <= inner.start && inner.end <= outer.end
    }
}

/// The span of the field at `path`: the key's span when the path ends in a key, the element's
/// span when it ends in an array index. `None` if the path is not in the document.
pub(super) fn span_of(root: &DeTable<'_>, path: &FieldPath) -> Option<Range<usize>> {
    let mut table = Some(root);
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    let mut span = None;
    for segment in path.segments() {
        match segment {
            Segment::Key(key) => {
                let (k, v) = table?.get_key_value(key.as_str())?;
                span = Some(k.span());
                value = Some(v);
            }
            Segment::Index(i) => {
                let DeValue::Array(array) = value?.get_ref() else {
                    return None;
                };
                let element = array.get(*i)?;
                span = Some(element.span());
                value = Some(element);
            }
        }
        table = match value.map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    span
}
