//! The API's [`Value`]s in PostgreSQL's binary format, shared by every tokio-postgres
//! adapter of the `Sql` port (the host's pool, the edge's Worker socket), so a value binds
//! and reads back the same wherever the component runs.
//!
//! Timestamps travel as raw microseconds (PostgreSQL's int8 since 2000-01-01) rather than
//! through `SystemTime`: that works on wasm32-unknown-unknown, which has no clock, and for
//! instants before 1970.

use std::sync::Arc;

use bytes::BytesMut;
use ocomms_api::ports::{DbError, Row, Value};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

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

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Float(f) => f.to_sql(ty, out),
            Value::Text(s) if *ty == Type::UUID => uuid::Uuid::parse_str(s)?.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Uuid(u) if *ty == Type::TEXT => u.to_string().to_sql(ty, out),
            Value::Uuid(u) => u.to_sql(ty, out),
            Value::Json(j) => j.to_sql(ty, out),
            Value::Timestamp(us) => {
                if *ty != Type::TIMESTAMPTZ && *ty != Type::TIMESTAMP {
                    return Err(format!("a timestamp cannot bind to {ty}").into());
                }
                // Both timestamp types are an int8 of microseconds since 2000-01-01.
                us.checked_sub(PG_EPOCH_MICROS).ok_or("timestamp out of range")?.to_sql(&Type::INT8, out)
            }
        }
    }

    /// Every type is accepted here; `to_sql` refuses a mismatch with a clear error.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A `timestamp`/`timestamptz` read as microseconds since the Unix epoch.
struct Micros(i64);

impl<'a> FromSql<'a> for Micros {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let pg = i64::from_sql(&Type::INT8, raw)?;
        Ok(Self(pg.checked_add(PG_EPOCH_MICROS).ok_or("timestamp out of range")?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
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
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => get!(String, Value::Text),
        Type::UUID => get!(uuid::Uuid, Value::Uuid),
        Type::JSON | Type::JSONB => get!(serde_json::Value, Value::Json),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => get!(Micros, |m| Value::Timestamp(m.0)),
        other => return Err(DbError::other(format!("column {i}: unsupported type {other}"))),
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

    #[test]
    fn timestamps_are_raw_microseconds_since_2000() {
        let mut out = BytesMut::new();
        // 2000-01-01T00:00:01Z
        let us = PG_EPOCH_MICROS + 1_000_000;
        Param(&Value::Timestamp(us)).to_sql(&Type::TIMESTAMPTZ, &mut out).unwrap();
        assert_eq!(out.as_ref(), 1_000_000i64.to_be_bytes());
        assert_eq!(Micros::from_sql(&Type::TIMESTAMPTZ, &out).unwrap().0, us);
        assert!(Param(&Value::Timestamp(us)).to_sql(&Type::TEXT, &mut out).is_err());
    }

    #[test]
    fn instants_before_1970_bind() {
        let mut out = BytesMut::new();
        let us = -86_400_000_000; // 1969-12-31
        Param(&Value::Timestamp(us)).to_sql(&Type::TIMESTAMPTZ, &mut out).unwrap();
        assert_eq!(Micros::from_sql(&Type::TIMESTAMPTZ, &out).unwrap().0, us);
    }

    #[test]
    fn integers_fit_the_parameter_type() {
        let mut out = BytesMut::new();
        Param(&Value::Int(7)).to_sql(&Type::INT4, &mut out).unwrap();
        assert_eq!(out.as_ref(), 7i32.to_be_bytes());
        assert!(Param(&Value::Int(i64::MAX)).to_sql(&Type::INT4, &mut out).is_err());
    }

    #[test]
    fn uuids_bind_to_text_and_text_to_uuids() {
        let u = uuid::Uuid::from_u128(42);
        let mut out = BytesMut::new();
        Param(&Value::Uuid(u)).to_sql(&Type::TEXT, &mut out).unwrap();
        assert_eq!(out.as_ref(), u.to_string().as_bytes());
        out.clear();
        Param(&Value::Text(u.to_string())).to_sql(&Type::UUID, &mut out).unwrap();
        assert_eq!(out.as_ref(), u.as_bytes());
        assert!(Param(&Value::Text("not a uuid".into())).to_sql(&Type::UUID, &mut out).is_err());
    }
}
