//! Typed reads from [`Row`]s. A wrong column type is a bug in our SQL, reported as a
//! [`DbError`] rather than a panic.

use crate::ports::{DbError, Row, Value};

impl Row {
    pub fn get(&self, name: &str) -> Result<&Value, DbError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| DbError::other(format!("column {name} missing")))
    }

    fn mismatch(name: &str, want: &str, got: &Value) -> DbError {
        DbError::other(format!("column {name}: expected {want}, got {got:?}"))
    }

    pub fn text(&self, name: &str) -> Result<String, DbError> {
        match self.get(name)? {
            Value::Text(s) => Ok(s.clone()),
            other => Err(Self::mismatch(name, "text", other)),
        }
    }
    pub fn opt_text(&self, name: &str) -> Result<Option<String>, DbError> {
        match self.get(name)? {
            Value::Null => Ok(None),
            _ => self.text(name).map(Some),
        }
    }
    pub fn int(&self, name: &str) -> Result<i64, DbError> {
        match self.get(name)? {
            Value::Int(i) => Ok(*i),
            other => Err(Self::mismatch(name, "integer", other)),
        }
    }
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, DbError> {
        match self.get(name)? {
            Value::Null => Ok(None),
            _ => self.int(name).map(Some),
        }
    }
    pub fn bool(&self, name: &str) -> Result<bool, DbError> {
        match self.get(name)? {
            Value::Bool(b) => Ok(*b),
            other => Err(Self::mismatch(name, "bool", other)),
        }
    }
    pub fn uuid(&self, name: &str) -> Result<uuid::Uuid, DbError> {
        match self.get(name)? {
            Value::Uuid(u) => Ok(*u),
            Value::Text(s) => uuid::Uuid::parse_str(s).map_err(|e| DbError::other(format!("column {name}: {e}"))),
            other => Err(Self::mismatch(name, "uuid", other)),
        }
    }
    pub fn opt_uuid(&self, name: &str) -> Result<Option<uuid::Uuid>, DbError> {
        match self.get(name)? {
            Value::Null => Ok(None),
            _ => self.uuid(name).map(Some),
        }
    }
    pub fn json(&self, name: &str) -> Result<serde_json::Value, DbError> {
        match self.get(name)? {
            Value::Json(v) => Ok(v.clone()),
            Value::Text(s) => serde_json::from_str(s).map_err(|e| DbError::other(format!("column {name}: {e}"))),
            other => Err(Self::mismatch(name, "json", other)),
        }
    }
    /// The JSON in column `name`, moved out of the row: a page of messages is built in
    /// PostgreSQL, and copying each message tree again cost more than parsing it.
    pub fn into_json(mut self, name: &str) -> Result<serde_json::Value, DbError> {
        let i = self.columns.iter().position(|c| c == name);
        match i.and_then(|i| self.values.get_mut(i)) {
            Some(Value::Json(v)) => Ok(std::mem::take(v)),
            _ => self.json(name),
        }
    }
}
