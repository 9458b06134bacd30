//! The API's [`Value`]s in PostgreSQL's binary format, shared by every tokio-postgres
//! adapter of the `Sql` port (the host's pool, the edge's Worker socket).
//!
//! The rules are Spin's spin:postgres rules, so SQL that works here works on Spin too: a
//! value binds only to the one PostgreSQL type Spin's driver converts it to (an integer to
//! `int8`, text to text-like types, a uuid to `uuid`), and only the column types Spin reads
//! can be read; a `timestamptz` column cannot (SQL reads times as epoch milliseconds).

use std::sync::Arc;

use bytes::BytesMut;
use ocomms_api::ports::{DbError, Row, Value};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// A [`Value`] bound to whatever type the statement's parameter has.
#[derive(Debug)]
pub struct Param<'a>(pub &'a Value);

impl Param<'_> {
    /// The values of one statement, bound.
    pub fn all(params: &[Value]) -> Vec<Param<'_>> {
        params.iter().map(Param).collect()
    }
}

/// What postgres-types' `String` accepts, as Spin binds `str`.
fn is_text_like(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN)
        || matches!(ty.name(), "citext" | "ltree" | "lquery" | "ltxtquery")
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let (rust, accepted) = match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Bool(_) => ("bool", *ty == Type::BOOL),
            Value::Int(_) => ("i64", *ty == Type::INT8),
            Value::Float(_) => ("f64", *ty == Type::FLOAT8),
            Value::Text(_) => ("String", is_text_like(ty)),
            Value::Uuid(_) => ("uuid::Uuid", *ty == Type::UUID),
            Value::Json(_) => ("serde_json::Value", matches!(*ty, Type::JSON | Type::JSONB)),
        };
        if !accepted {
            return Err(format!("cannot convert between the Rust type `{rust}` and the Postgres type `{ty}`").into());
        }
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Float(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Uuid(u) => u.to_sql(ty, out),
            Value::Json(j) => j.to_sql(ty, out),
        }
    }

    /// Every type is accepted here; `to_sql` refuses a mismatch with a clear error.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `i` of a row as a [`Value`].
pub fn read(row: &tokio_postgres::Row, i: usize) -> Result<Value, DbError> {
    let ty = row.columns()[i].type_().clone();
    let err = |e: tokio_postgres::Error| DbError::other(format!("column {i}: {e}"));
    macro_rules! get {
        ($t:ty, $f:expr) => {
            row.try_get::<_, Option<$t>>(i).map_err(err)?.map_or(Value::Null, $f)
        };
    }
    Ok(match ty {
        Type::BOOL => get!(bool, Value::Bool),
        Type::INT2 => get!(i16, |v| Value::Int(v.into())),
        Type::INT4 => get!(i32, |v| Value::Int(v.into())),
        Type::INT8 => get!(i64, Value::Int),
        Type::FLOAT4 => get!(f32, |v| Value::Float(v.into())),
        Type::FLOAT8 => get!(f64, Value::Float),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get!(String, Value::Text),
        Type::UUID => get!(uuid::Uuid, Value::Uuid),
        Type::JSONB => get!(serde_json::Value, Value::Json),
        // Spin reads other types as raw bytes, which no handler reads, and cannot read a
        // timestamptz at all: both are a bug in our SQL.
        other => return Err(DbError::other(format!("column {i}: type {other} is not readable on every runtime"))),
    })
}

/// Rows as the port's [`Row`]s, all sharing one list of column names.
pub fn rows(rows: &[tokio_postgres::Row]) -> Result<Vec<Row>, DbError> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|r| {
            let values = (0..r.len()).map(|i| read(r, i)).collect::<Result<_, _>>()?;
            Ok(Row { columns: columns.clone(), values })
        })
        .collect()
}

/// A tokio-postgres error as the port's [`DbError`]: SQLSTATE and constraint kept for the
/// API's conflict mapping; a closed connection is "unavailable" (503, worth a retry).
pub fn db_error(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(d) => DbError {
            code: Some(d.code().code().to_string()),
            constraint: d.constraint().map(str::to_string),
            message: d.message().to_string(),
        },
        None if e.is_closed() => DbError::unavailable(e.to_string()),
        None => DbError::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn binds(v: &Value, ty: &Type) -> bool {
        Param(v).to_sql(ty, &mut BytesMut::new()).is_ok()
    }

    #[test]
    fn values_bind_only_where_spin_binds_them() {
        let u = uuid::Uuid::from_u128(42);
        assert!(binds(&Value::Int(7), &Type::INT8));
        assert!(!binds(&Value::Int(7), &Type::INT4));
        assert!(!binds(&Value::Int(7), &Type::FLOAT8));
        assert!(binds(&Value::Float(1.5), &Type::FLOAT8));
        assert!(!binds(&Value::Float(1.5), &Type::FLOAT4));
        assert!(binds(&Value::Text("x".into()), &Type::VARCHAR));
        assert!(!binds(&Value::Text(u.to_string()), &Type::UUID));
        assert!(!binds(&Value::Text("2024-01-01".into()), &Type::TIMESTAMPTZ));
        assert!(binds(&Value::Uuid(u), &Type::UUID));
        assert!(!binds(&Value::Uuid(u), &Type::TEXT));
        assert!(binds(&Value::Json(serde_json::json!({"a": 1})), &Type::JSONB));
        assert!(binds(&Value::Null, &Type::TIMESTAMPTZ));
    }

    #[test]
    fn an_int_is_an_int8() {
        let mut out = BytesMut::new();
        Param(&Value::Int(7)).to_sql(&Type::INT8, &mut out).unwrap();
        assert_eq!(out.as_ref(), 7i64.to_be_bytes());
    }
}
