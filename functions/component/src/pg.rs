//! The `Sql` port over `spin:postgres@4.0.0`.

use ocomms_api::ports::{DbError, Row, Sql, Value};
#[cfg(target_arch = "wasm32")]
use spin_sdk::pg4::{self, DbValue, ParameterValue};

pub struct SpinPg {
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "used only on wasm32"))]
    address: String,
}

impl SpinPg {
    pub fn new(address: String) -> Self {
        Self { address }
    }
}

impl Sql for SpinPg {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        #[cfg(target_arch = "wasm32")]
        {
            // Never a query that matches no rows where the runtime would not answer it
            // (`one_row`): unless the runtime says it does, every query is padded.
            let pad = !crate::one_row::runtime_answers_empty_results();
            let wrapped;
            let statement = if pad {
                wrapped = crate::one_row::at_least_one_row(sql)?;
                wrapped.as_str()
            } else {
                sql
            };
            let conn = pg4::Connection::open(&self.address).map_err(map_err)?;
            let params: Vec<ParameterValue> = params.iter().map(to_param).collect();
            let set = conn.query(statement, &params).map_err(map_err)?;
            let columns: std::sync::Arc<[String]> = set.columns.iter().map(|c| c.name.clone()).collect();
            let rows = set
                .rows
                .into_iter()
                .map(|r| {
                    Ok(Row { columns: columns.clone(), values: r.into_iter().map(from_db).collect::<Result<_, _>>()? })
                })
                .collect::<Result<Vec<Row>, DbError>>()?;
            if pad { crate::one_row::unwrap_rows(rows) } else { Ok(rows) }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (sql, params);
            Err(DbError::other("spin:postgres is available only on wasm32"))
        }
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        #[cfg(target_arch = "wasm32")]
        {
            let conn = pg4::Connection::open(&self.address).map_err(map_err)?;
            let params: Vec<ParameterValue> = params.iter().map(to_param).collect();
            conn.execute(sql, &params).map_err(map_err)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (sql, params);
            Err(DbError::other("spin:postgres is available only on wasm32"))
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn to_param(v: &Value) -> ParameterValue {
    match v {
        Value::Null => ParameterValue::DbNull,
        Value::Bool(b) => ParameterValue::Boolean(*b),
        Value::Int(i) => ParameterValue::Int64(*i),
        Value::Float(f) => ParameterValue::Floating64(*f),
        Value::Text(s) => ParameterValue::Str(s.clone()),
        Value::Uuid(u) => ParameterValue::Uuid(u.to_string()),
        Value::Json(j) => ParameterValue::Jsonb(serde_json::to_vec(j).unwrap_or_default()),
    }
}

#[cfg(target_arch = "wasm32")]
fn from_db(v: DbValue) -> Result<Value, DbError> {
    Ok(match v {
        DbValue::DbNull => Value::Null,
        DbValue::Boolean(b) => Value::Bool(b),
        DbValue::Int8(i) => Value::Int(i.into()),
        DbValue::Int16(i) => Value::Int(i.into()),
        DbValue::Int32(i) => Value::Int(i.into()),
        DbValue::Int64(i) => Value::Int(i),
        DbValue::Floating32(f) => Value::Float(f.into()),
        DbValue::Floating64(f) => Value::Float(f),
        DbValue::Str(s) => Value::Text(s),
        DbValue::Uuid(s) => Value::Uuid(uuid::Uuid::parse_str(&s).map_err(|e| DbError::other(e.to_string()))?),
        DbValue::Jsonb(b) => Value::Json(serde_json::from_slice(&b).map_err(|e| DbError::other(e.to_string()))?),
        other => return Err(DbError::other(format!("unsupported column value {other:?}"))),
    })
}

#[cfg(target_arch = "wasm32")]
fn map_err(e: pg4::PgError) -> DbError {
    match e {
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(d)) => {
            let constraint = d.extras.iter().find(|(k, _)| k == "constraint").map(|(_, v)| v.clone());
            DbError { code: Some(d.code), constraint, message: d.message }
        }
        // The host could not get a connection or the one in use broke: a 503, not a 500.
        pg4::PgError::ConnectionFailed(m) => DbError::unavailable(m),
        pg4::PgError::QueryFailed(pg4::QueryError::Text(text)) => flattened_db_error(&text),
        other => DbError::other(other.to_string()),
    }
}

/// Spin 4.0's synchronous `query` reports a database error as `query-failed(text(..))`
/// holding the Debug text of the `db-error` it should have returned; SQLSTATE and
/// constraint are recovered from it, so a unique violation is still a 409 there.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "tested natively, used on wasm32"))]
fn flattened_db_error(text: &str) -> DbError {
    let quoted_after = |key: &str| -> Option<String> {
        let start = text.find(key)? + key.len();
        let len = text[start..].find('"')?;
        Some(text[start..start + len].to_owned())
    };
    let code = quoted_after(", code: \"")
        .filter(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    match code {
        Some(code) if text.starts_with("Error::QueryFailed(QueryError::DbError(") => {
            DbError { code: Some(code), constraint: quoted_after("(\"constraint\", \""), message: text.to_owned() }
        }
        _ => DbError::other(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::flattened_db_error;

    #[test]
    fn a_flattened_db_error_keeps_its_sqlstate_and_constraint() {
        let text = r#"Error::QueryFailed(QueryError::DbError(DbError { as-text: "Error { kind: Db, cause: Some(DbError { code: SqlState(E23505), constraint: Some(\"users_email_key\") }) }", severity: "ERROR", code: "23505", message: "duplicate key value violates unique constraint \"users_email_key\"", detail: Some("Key (email)=(a@x.io) already exists."), extras: [("constraint", "users_email_key"), ("table", "users")] }))"#;
        let e = flattened_db_error(text);
        assert!(e.is_unique_violation(), "{e:?}");
        assert_eq!(e.constraint.as_deref(), Some("users_email_key"));
        let other = flattened_db_error("query returned more rows than allowed");
        assert_eq!(other.code, None);
    }
}
