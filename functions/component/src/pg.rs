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
            let conn = pg4::Connection::open(&self.address).map_err(map_err)?;
            let params: Vec<ParameterValue> = params.iter().map(to_param).collect();
            let set = conn.query(sql, &params).map_err(map_err)?;
            let columns: std::sync::Arc<[String]> = set.columns.iter().map(|c| c.name.clone()).collect();
            set.rows
                .into_iter()
                .map(|r| {
                    Ok(Row { columns: columns.clone(), values: r.into_iter().map(from_db).collect::<Result<_, _>>()? })
                })
                .collect()
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
        Value::Timestamp(us) => {
            let (y, mo, d, h, mi, s, ns) = civil::from_micros(*us);
            ParameterValue::Datetime((y, mo, d, h, mi, s, ns))
        }
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
        DbValue::Str(s) | DbValue::Decimal(s) => Value::Text(s),
        DbValue::Uuid(s) => Value::Uuid(uuid::Uuid::parse_str(&s).map_err(|e| DbError::other(e.to_string()))?),
        DbValue::Jsonb(b) => Value::Json(serde_json::from_slice(&b).map_err(|e| DbError::other(e.to_string()))?),
        DbValue::Datetime((y, mo, d, h, mi, s, ns)) => Value::Timestamp(civil::to_micros(y, mo, d, h, mi, s, ns)),
        DbValue::Timestamp(secs) => Value::Timestamp(secs.saturating_mul(1_000_000)),
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
        other => DbError::other(other.to_string()),
    }
}

/// Proleptic Gregorian calendar arithmetic for the `datetime` tuples of spin:postgres.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "tested natively, used on wasm32"))]
mod civil {
    use ocomms_core::civil::{civil_from_days, days_from_civil};

    pub fn to_micros(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, ns: u32) -> i64 {
        let days = days_from_civil(y.into(), mo.into(), d.into());
        let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        secs * 1_000_000 + i64::from(ns / 1000)
    }

    pub fn from_micros(us: i64) -> (i32, u8, u8, u8, u8, u8, u32) {
        let secs = us.div_euclid(1_000_000);
        let ns = (us.rem_euclid(1_000_000) * 1000) as u32;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        (y as i32, m as u8, d as u8, (rem / 3600) as u8, ((rem % 3600) / 60) as u8, (rem % 60) as u8, ns)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trips() {
            assert_eq!(to_micros(1970, 1, 1, 0, 0, 0, 0), 0);
            assert_eq!(to_micros(2000, 3, 1, 12, 30, 15, 5_000), 951_913_815_000_005);
            for us in [0, 951_913_815_000_005, -1, 4_102_444_800_000_000, 1_709_164_800_123_456] {
                let (y, mo, d, h, mi, s, ns) = from_micros(us);
                assert_eq!(to_micros(y, mo, d, h, mi, s, ns), us);
            }
            assert_eq!(from_micros(1_709_164_800_000_000), (2024, 2, 29, 0, 0, 0, 0));
        }
    }
}
