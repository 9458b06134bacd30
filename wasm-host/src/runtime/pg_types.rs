//! Conversions between `spin:postgres@4.0.0` values and PostgreSQL's wire formats, exactly
//! as Spin makes them, so that a component that works here works on Spin.
//!
//! Spin converts each WIT parameter to one Rust type and lets the driver check it against
//! the statement's parameter type: `int64` binds only to `int8`, `str` only to text-like
//! types (not `uuid`, not `timestamptz`), `datetime` only to `timestamp`, `timestamp`
//! (epoch seconds) only to `timestamptz`, `db-null` to anything. Results map a fixed list of
//! types; every other type (domains, enums, `json`, `name`, `uuid[]`...) is
//! `other(name)`/`unsupported(raw bytes)`, and a `timestamptz` column cannot be read at all.
//! Result columns come from the first row: a query that returns no rows reports none.

use ocomms_core::civil::{civil_from_days, days_from_civil};
use std::error::Error as StdError;
use std::fmt::Write as _;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use super::bindings::spin::postgres::postgres::{DbDataType, DbValue, Interval, ParameterValue, RangeBoundKind};

type BoxError = Box<dyn StdError + Sync + Send>;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i64 = 10_957;
const PG_EPOCH_UNIX_SECS: i64 = PG_EPOCH_DAYS * 86_400;
const MICROS_PER_DAY: i64 = 86_400_000_000;

// ---------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------

/// One encoded statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    /// SQL NULL, valid for any parameter type.
    Null,
    /// PostgreSQL binary format for the parameter's type.
    Binary(Vec<u8>),
    /// PostgreSQL text format: the server parses it with the type's input function.
    Text(String),
}

impl ToSql for Param {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Binary(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
            Param::Text(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> tokio_postgres::types::Format {
        match self {
            Param::Text(_) => tokio_postgres::types::Format::Text,
            Param::Null | Param::Binary(_) => tokio_postgres::types::Format::Binary,
        }
    }

    to_sql_checked!();
}

/// Why a parameter could not be bound. Spin reports the two differently: a value whose WIT
/// variant does not fit the statement's parameter type fails inside the driver (a
/// `query-failed` text error), a value that does not parse fails before the statement is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamError {
    /// The Rust type Spin converts this variant to does not accept the parameter's type.
    WrongType { rust: &'static str, pg: String },
    /// The value itself is invalid (a malformed uuid, date, decimal or JSON document).
    Invalid(String),
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongType { rust, pg } => {
                write!(f, "cannot convert between the Rust type `{rust}` and the Postgres type `{pg}`")
            }
            Self::Invalid(m) => f.write_str(m),
        }
    }
}

/// What postgres-types' `String` accepts: Spin binds `str` through it.
fn is_text_like(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN)
        || matches!(ty.name(), "citext" | "ltree" | "lquery" | "ltxtquery")
}

fn is_array_of(ty: &Type, member: impl Fn(&Type) -> bool) -> bool {
    matches!(ty.kind(), Kind::Array(m) if member(m))
}

/// The Rust type Spin converts `value` to, and whether that type accepts a parameter of
/// type `ty`. Exact types only: no domains, no widening or narrowing, no text fallback.
fn spin_param_type(value: &ParameterValue, ty: &Type) -> (&'static str, bool) {
    use ParameterValue as P;
    match value {
        P::DbNull => ("PgNull", true),
        P::Boolean(_) => ("bool", *ty == Type::BOOL),
        P::Int8(_) => ("i8", *ty == Type::CHAR),
        P::Int16(_) => ("i16", *ty == Type::INT2),
        P::Int32(_) => ("i32", *ty == Type::INT4),
        P::Int64(_) => ("i64", *ty == Type::INT8),
        P::Floating32(_) => ("f32", *ty == Type::FLOAT4),
        P::Floating64(_) => ("f64", *ty == Type::FLOAT8),
        P::Str(_) => ("alloc::string::String", is_text_like(ty)),
        P::Binary(_) => ("alloc::vec::Vec<u8>", *ty == Type::BYTEA),
        P::Date(_) => ("chrono::NaiveDate", *ty == Type::DATE),
        P::Time(_) => ("chrono::NaiveTime", *ty == Type::TIME),
        P::Datetime(_) => ("chrono::NaiveDateTime", *ty == Type::TIMESTAMP),
        P::Timestamp(_) => ("chrono::DateTime<chrono::Utc>", *ty == Type::TIMESTAMPTZ),
        P::Uuid(_) => ("uuid::Uuid", *ty == Type::UUID),
        P::Jsonb(_) => ("serde_json::Value", matches!(*ty, Type::JSON | Type::JSONB)),
        P::Decimal(_) => ("rust_decimal::Decimal", *ty == Type::NUMERIC),
        P::RangeInt32(_) => ("postgres_range::Range<i32>", *ty == Type::INT4_RANGE),
        P::RangeInt64(_) => ("postgres_range::Range<i64>", *ty == Type::INT8_RANGE),
        P::RangeDecimal(_) => ("postgres_range::Range<rust_decimal::Decimal>", *ty == Type::NUM_RANGE),
        P::ArrayInt32(_) => ("alloc::vec::Vec<Option<i32>>", is_array_of(ty, |m| *m == Type::INT4)),
        P::ArrayInt64(_) => ("alloc::vec::Vec<Option<i64>>", is_array_of(ty, |m| *m == Type::INT8)),
        P::ArrayDecimal(_) => {
            ("alloc::vec::Vec<Option<rust_decimal::Decimal>>", is_array_of(ty, |m| *m == Type::NUMERIC))
        }
        P::ArrayStr(_) => ("alloc::vec::Vec<Option<alloc::string::String>>", is_array_of(ty, is_text_like)),
        P::Interval(_) => ("Interval", *ty == Type::INTERVAL),
    }
}

/// The PostgreSQL type a value names by itself, for statements sent unnamed with their
/// types ([`tokio_postgres::Client::query_typed_raw`]) through a transaction-pooling proxy:
/// the server checks the statement's casts against it instead of describing it first. A
/// null names none and lets the server infer it.
pub(crate) fn natural_type(value: &ParameterValue) -> Type {
    use ParameterValue as P;
    match value {
        P::DbNull => unspecified_type(),
        P::Boolean(_) => Type::BOOL,
        P::Int8(_) => Type::CHAR,
        P::Int16(_) => Type::INT2,
        P::Int32(_) => Type::INT4,
        P::Int64(_) => Type::INT8,
        P::Floating32(_) => Type::FLOAT4,
        P::Floating64(_) => Type::FLOAT8,
        P::Str(_) => Type::TEXT,
        P::Binary(_) => Type::BYTEA,
        P::Date(_) => Type::DATE,
        P::Time(_) => Type::TIME,
        P::Datetime(_) => Type::TIMESTAMP,
        P::Timestamp(_) => Type::TIMESTAMPTZ,
        P::Uuid(_) => Type::UUID,
        P::Jsonb(_) => Type::JSONB,
        P::Decimal(_) => Type::NUMERIC,
        P::RangeInt32(_) => Type::INT4_RANGE,
        P::RangeInt64(_) => Type::INT8_RANGE,
        P::RangeDecimal(_) => Type::NUM_RANGE,
        P::ArrayInt32(_) => Type::INT4_ARRAY,
        P::ArrayInt64(_) => Type::INT8_ARRAY,
        P::ArrayDecimal(_) => Type::NUMERIC_ARRAY,
        P::ArrayStr(_) => Type::TEXT_ARRAY,
        P::Interval(_) => Type::INTERVAL,
    }
}

/// Type OID 0 in a `Parse` message: "unspecified", inferred by the server.
pub fn unspecified_type() -> Type {
    Type::new("unspecified".to_owned(), 0, tokio_postgres::types::Kind::Pseudo, "pg_catalog".to_owned())
}

/// A decimal as rust_decimal parses it: digits with an optional sign and fraction.
fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && frac.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// Checks what Spin checks while converting a parameter, before the statement is prepared.
pub(crate) fn validate_param(value: &ParameterValue) -> Result<(), ParamError> {
    let invalid = |m: String| Err(ParamError::Invalid(m));
    match value {
        ParameterValue::Date((y, m, d)) => days_from_ymd(*y, *m, *d).map(drop).map_err(ParamError::Invalid),
        ParameterValue::Time((h, mi, s, ns)) => time_micros(*h, *mi, *s, *ns).map(drop).map_err(ParamError::Invalid),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            days_from_ymd(*y, *mo, *d).map_err(ParamError::Invalid)?;
            time_micros(*h, *mi, *s, *ns).map(drop).map_err(ParamError::Invalid)
        }
        ParameterValue::Uuid(s) if uuid::Uuid::parse_str(s).is_err() => invalid(format!("invalid uuid {s:?}")),
        ParameterValue::Jsonb(b) => serde_json::from_slice::<serde_json::Value>(b)
            .map(drop)
            .map_err(|e| ParamError::Invalid(format!("invalid JSON: {e}"))),
        ParameterValue::Decimal(d) if !is_decimal(d) => invalid(format!("invalid decimal {d:?}")),
        ParameterValue::RangeDecimal((lo, hi)) => match lo.iter().chain(hi.iter()).find(|(d, _)| !is_decimal(d)) {
            Some((d, _)) => invalid(format!("invalid decimal {d:?}")),
            None => Ok(()),
        },
        ParameterValue::ArrayDecimal(v) => match v.iter().flatten().find(|d| !is_decimal(d)) {
            Some(d) => invalid(format!("invalid decimal {d:?}")),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Encodes `value` for a parameter of type `ty`, accepting exactly what Spin accepts.
pub(crate) fn encode_param(value: ParameterValue, ty: &Type) -> Result<Param, ParamError> {
    let (rust, accepted) = spin_param_type(&value, ty);
    if !accepted {
        return Err(ParamError::WrongType { rust, pg: ty.name().to_owned() });
    }
    let invalid = ParamError::Invalid;
    Ok(match value {
        ParameterValue::DbNull => Param::Null,
        ParameterValue::Boolean(b) => Param::Binary(vec![u8::from(b)]),
        ParameterValue::Int8(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Int16(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Int32(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Int64(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Floating32(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Floating64(v) => Param::Binary(v.to_be_bytes().to_vec()),
        ParameterValue::Str(s) => Param::Text(s),
        ParameterValue::Binary(b) => Param::Binary(b),
        ParameterValue::Date((y, m, d)) => {
            let days = days_from_ymd(y, m, d).map_err(invalid)?;
            let pg_days = i32::try_from(days - PG_EPOCH_DAYS)
                .map_err(|_| ParamError::Invalid(format!("date {y}-{m}-{d} out of range")))?;
            Param::Binary(pg_days.to_be_bytes().to_vec())
        }
        ParameterValue::Time((h, mi, s, ns)) => {
            Param::Binary(time_micros(h, mi, s, ns).map_err(invalid)?.to_be_bytes().to_vec())
        }
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            let days = days_from_ymd(y, mo, d).map_err(invalid)?;
            let tod = time_micros(h, mi, s, ns).map_err(invalid)?;
            let micros = (days - PG_EPOCH_DAYS)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|v| v.checked_add(tod))
                .ok_or_else(|| ParamError::Invalid("datetime out of range".to_owned()))?;
            Param::Binary(micros.to_be_bytes().to_vec())
        }
        ParameterValue::Timestamp(secs) => {
            let micros = secs
                .checked_sub(PG_EPOCH_UNIX_SECS)
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or_else(|| ParamError::Invalid(format!("timestamp {secs} out of range")))?;
            Param::Binary(micros.to_be_bytes().to_vec())
        }
        ParameterValue::Uuid(s) => {
            let u = uuid::Uuid::parse_str(&s).map_err(|e| ParamError::Invalid(format!("invalid uuid {s:?}: {e}")))?;
            Param::Binary(u.as_bytes().to_vec())
        }
        ParameterValue::Jsonb(b) => {
            let doc: serde_json::Value =
                serde_json::from_slice(&b).map_err(|e| ParamError::Invalid(format!("invalid JSON: {e}")))?;
            let text = doc.to_string();
            if *ty == Type::JSONB {
                let mut v = Vec::with_capacity(text.len() + 1);
                v.push(1);
                v.extend_from_slice(text.as_bytes());
                Param::Binary(v)
            } else {
                Param::Binary(text.into_bytes())
            }
        }
        ParameterValue::Decimal(s) => {
            if !is_decimal(&s) {
                return Err(ParamError::Invalid(format!("invalid decimal {s:?}")));
            }
            Param::Text(s)
        }
        ParameterValue::RangeInt32((lo, hi)) => {
            Param::Text(range_text(lo.map(|(v, k)| (v.to_string(), k)), hi.map(|(v, k)| (v.to_string(), k))))
        }
        ParameterValue::RangeInt64((lo, hi)) => {
            Param::Text(range_text(lo.map(|(v, k)| (v.to_string(), k)), hi.map(|(v, k)| (v.to_string(), k))))
        }
        ParameterValue::RangeDecimal((lo, hi)) => {
            for (v, _) in lo.iter().chain(hi.iter()) {
                if !is_decimal(v) {
                    return Err(ParamError::Invalid(format!("invalid decimal {v:?}")));
                }
            }
            Param::Text(range_text(lo, hi))
        }
        ParameterValue::ArrayInt32(v) => Param::Text(array_text(v.into_iter().map(|o| o.map(|x| x.to_string())))),
        ParameterValue::ArrayInt64(v) => Param::Text(array_text(v.into_iter().map(|o| o.map(|x| x.to_string())))),
        ParameterValue::ArrayDecimal(v) => {
            if let Some(bad) = v.iter().flatten().find(|d| !is_decimal(d)) {
                return Err(ParamError::Invalid(format!("invalid decimal {bad:?}")));
            }
            Param::Text(array_text(v.into_iter()))
        }
        ParameterValue::ArrayStr(v) => Param::Text(array_text(v.into_iter())),
        ParameterValue::Interval(Interval { micros, days, months }) => {
            let mut v = Vec::with_capacity(16);
            v.extend_from_slice(&micros.to_be_bytes());
            v.extend_from_slice(&days.to_be_bytes());
            v.extend_from_slice(&months.to_be_bytes());
            Param::Binary(v)
        }
    })
}

fn quote_element(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A one-dimensional array literal, e.g. `{"a","b",NULL}`.
fn array_text(items: impl Iterator<Item = Option<String>>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Some(s) => out.push_str(&quote_element(&s)),
            None => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

/// A range literal, e.g. `[1,10)`; a missing bound is unbounded.
fn range_text(lo: Option<(String, RangeBoundKind)>, hi: Option<(String, RangeBoundKind)>) -> String {
    let mut out = String::new();
    match &lo {
        Some((v, k)) => {
            out.push(if matches!(k, RangeBoundKind::Inclusive) { '[' } else { '(' });
            out.push_str(&quote_element(v));
        }
        None => out.push('('),
    }
    out.push(',');
    match &hi {
        Some((v, k)) => {
            out.push_str(&quote_element(v));
            out.push(if matches!(k, RangeBoundKind::Inclusive) { ']' } else { ')' });
        }
        None => out.push(')'),
    }
    out
}

// ---------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, astronomical year numbering like chrono)
// ---------------------------------------------------------------------------------------

fn days_from_ymd(y: i32, m: u8, d: u8) -> Result<i64, String> {
    let days = days_from_civil(i64::from(y), u32::from(m), u32::from(d));
    if (1..=12).contains(&m) && civil_from_days(days) == (i64::from(y), u32::from(m), u32::from(d)) {
        Ok(days)
    } else {
        Err(format!("invalid date {y:04}-{m:02}-{d:02}"))
    }
}

fn time_micros(h: u8, m: u8, s: u8, ns: u32) -> Result<i64, String> {
    if h > 23 || m > 59 || s > 59 || ns >= 1_000_000_000 {
        return Err(format!("invalid time {h:02}:{m:02}:{s:02}.{ns:09}"));
    }
    Ok(((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000 + i64::from(ns / 1000))
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/// The WIT data type Spin reports for a column of type `ty`: exact types only (a domain, an
/// enum, `json`, `name` or `uuid[]` is `other`).
pub(crate) fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
}

/// Why Spin cannot read any row of a column of type `ty`, if it cannot: it reads a
/// `timestamptz` as a zone-less datetime, which the driver refuses (NULLs included).
pub(crate) fn unreadable_column(ty: &Type) -> Option<String> {
    (*ty == Type::TIMESTAMPTZ).then(|| {
        "cannot convert between the Rust type `core::option::Option<chrono::NaiveDateTime>` and the Postgres type \
         `timestamptz`"
            .to_owned()
    })
}

/// One result cell, decoded from PostgreSQL's binary format. Accepts every column type.
#[derive(Debug)]
pub(crate) struct Cell(pub(crate) DbValue);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(ty, raw).map(Cell)
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(Cell(DbValue::DbNull))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// A `numeric` decoded to its exact decimal string.
struct NumericString(String);

impl<'a> FromSql<'a> for NumericString {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        numeric_to_string(raw).map(NumericString)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// A `uuid` decoded to its hyphenated string.
struct UuidString(String);

impl<'a> FromSql<'a> for UuidString {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(UuidString(uuid::Uuid::from_slice(raw)?.hyphenated().to_string()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID
    }
}

/// A text-like value (text, varchar, enum labels, ...) decoded as UTF-8.
struct TextString(String);

impl<'a> FromSql<'a> for TextString {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(TextString(std::str::from_utf8(raw)?.to_owned()))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn decode(ty: &Type, raw: &[u8]) -> Result<DbValue, BoxError> {
    Ok(match *ty {
        Type::BOOL => DbValue::Boolean(bool::from_sql(ty, raw)?),
        Type::INT2 => DbValue::Int16(i16::from_sql(ty, raw)?),
        Type::INT4 => DbValue::Int32(i32::from_sql(ty, raw)?),
        Type::INT8 => DbValue::Int64(i64::from_sql(ty, raw)?),
        Type::FLOAT4 => DbValue::Floating32(f32::from_sql(ty, raw)?),
        Type::FLOAT8 => DbValue::Floating64(f64::from_sql(ty, raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbValue::Str(std::str::from_utf8(raw)?.to_owned()),
        Type::BYTEA => DbValue::Binary(raw.to_vec()),
        Type::UUID => DbValue::Uuid(UuidString::from_sql(ty, raw)?.0),
        Type::JSONB => match raw.split_first() {
            Some((1, json)) => DbValue::Jsonb(json.to_vec()),
            _ => return Err("unsupported jsonb binary version".into()),
        },
        Type::DATE => {
            let days = i32::from_sql(ty, raw)?;
            if days == i32::MAX || days == i32::MIN {
                return Err("value too large to decode: infinite date".into());
            }
            let (y, m, d) = civil_from_days(i64::from(days) + PG_EPOCH_DAYS);
            DbValue::Date((i32::try_from(y)?, u8::try_from(m)?, u8::try_from(d)?))
        }
        Type::TIME => {
            let (h, m, s, ns) = split_time(i64::from_sql(ty, raw)?)?;
            DbValue::Time((h, m, s, ns))
        }
        Type::TIMESTAMP => {
            let micros = i64::from_sql(ty, raw)?;
            if micros == i64::MAX || micros == i64::MIN {
                return Err("value too large to decode: infinite timestamp".into());
            }
            let (y, mo, d) = civil_from_days(micros.div_euclid(MICROS_PER_DAY) + PG_EPOCH_DAYS);
            let (h, mi, s, ns) = split_time(micros.rem_euclid(MICROS_PER_DAY))?;
            DbValue::Datetime((i32::try_from(y)?, u8::try_from(mo)?, u8::try_from(d)?, h, mi, s, ns))
        }
        Type::INTERVAL => {
            if raw.len() != 16 {
                return Err("invalid interval length".into());
            }
            let micros = i64::from_sql(&Type::INT8, &raw[..8])?;
            let days = i32::from_sql(&Type::INT4, &raw[8..12])?;
            let months = i32::from_sql(&Type::INT4, &raw[12..])?;
            DbValue::Interval(Interval { micros, days, months })
        }
        Type::NUMERIC => DbValue::Decimal(numeric_to_string(raw)?),
        Type::INT4_RANGE => match decode_range(raw, |b| i32::from_sql(&Type::INT4, b))? {
            Some((lo, hi)) => DbValue::RangeInt32((lo, hi)),
            None => DbValue::RangeInt32((None, None)),
        },
        Type::INT8_RANGE => match decode_range(raw, |b| i64::from_sql(&Type::INT8, b))? {
            Some((lo, hi)) => DbValue::RangeInt64((lo, hi)),
            None => DbValue::RangeInt64((None, None)),
        },
        Type::NUM_RANGE => match decode_range(raw, numeric_to_string)? {
            Some((lo, hi)) => DbValue::RangeDecimal((lo, hi)),
            None => DbValue::RangeDecimal((None, None)),
        },
        Type::INT4_ARRAY => DbValue::ArrayInt32(decode_array::<i32>(ty, raw)?),
        Type::INT8_ARRAY => DbValue::ArrayInt64(decode_array::<i64>(ty, raw)?),
        Type::NUMERIC_ARRAY => {
            DbValue::ArrayDecimal(decode_array::<NumericString>(ty, raw)?.into_iter().map(|o| o.map(|n| n.0)).collect())
        }
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            DbValue::ArrayStr(decode_array::<TextString>(ty, raw)?.into_iter().map(|o| o.map(|t| t.0)).collect())
        }
        // Spin passes every other type through as its raw binary value.
        _ => DbValue::Unsupported(raw.to_vec()),
    })
}

/// A one-dimensional array (multi-dimensional arrays are an error).
fn decode_array<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<Vec<Option<T>>, BoxError> {
    if !matches!(ty.kind(), Kind::Array(_)) {
        return Err(format!("{ty} is not an array type").into());
    }
    Vec::<Option<T>>::from_sql(ty, raw)
}

fn split_time(micros: i64) -> Result<(u8, u8, u8, u32), BoxError> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err(format!("time of day out of range: {micros}").into());
    }
    let secs = micros / 1_000_000;
    Ok((
        u8::try_from(secs / 3600)?,
        u8::try_from(secs / 60 % 60)?,
        u8::try_from(secs % 60)?,
        u32::try_from(micros % 1_000_000 * 1000)?,
    ))
}

type Bound<T> = Option<(T, RangeBoundKind)>;
type Bounds<T> = (Bound<T>, Bound<T>);

/// Decodes a binary range; `None` for an empty range.
fn decode_range<T>(raw: &[u8], elem: impl Fn(&[u8]) -> Result<T, BoxError>) -> Result<Option<Bounds<T>>, BoxError> {
    const EMPTY: u8 = 0x01;
    const LB_INC: u8 = 0x02;
    const UB_INC: u8 = 0x04;
    const LB_INF: u8 = 0x08;
    const UB_INF: u8 = 0x10;

    let (&flags, mut rest) = raw.split_first().ok_or("empty range value")?;
    if flags & EMPTY != 0 {
        return Ok(None);
    }
    let mut take = |inc: bool| -> Result<(T, RangeBoundKind), BoxError> {
        if rest.len() < 4 {
            return Err("truncated range value".into());
        }
        let (len, tail) = rest.split_at(4);
        let len = usize::try_from(i32::from_be_bytes([len[0], len[1], len[2], len[3]]))?;
        if tail.len() < len {
            return Err("truncated range value".into());
        }
        let (value, tail) = tail.split_at(len);
        rest = tail;
        let kind = if inc { RangeBoundKind::Inclusive } else { RangeBoundKind::Exclusive };
        Ok((elem(value)?, kind))
    };
    let lo = if flags & LB_INF == 0 { Some(take(flags & LB_INC != 0)?) } else { None };
    let hi = if flags & UB_INF == 0 { Some(take(flags & UB_INC != 0)?) } else { None };
    Ok(Some((lo, hi)))
}

/// The exact decimal text of a binary `numeric`.
fn numeric_to_string(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric value".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)?.cast_signed());
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    let digits = (0..ndigits).map(|i| word(4 + i)).collect::<Result<Vec<u16>, _>>()?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        other => return Err(format!("invalid numeric sign {other:#x}").into()),
    }
    let digit = |i: i64| -> u16 { usize::try_from(i).ok().and_then(|i| digits.get(i).copied()).unwrap_or(0) };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                let _ = write!(s, "{}", digit(i));
            } else {
                let _ = write!(s, "{:04}", digit(i));
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit(i));
            i += 1;
        }
        frac.truncate(dscale);
        s.push('.');
        s.push_str(&frac);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&ndigits.to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_decoding() {
        let n = |a, b, c, d, e: &[i16]| numeric_to_string(&numeric(a, b, c, d, e)).expect("numeric");
        assert_eq!(n(0, 0, 0, 0, &[]), "0");
        assert_eq!(n(0, 0, 0, 2, &[]), "0.00");
        assert_eq!(n(1, 0, 0, 0, &[42]), "42");
        assert_eq!(n(2, 1, 0, 0, &[1, 0]), "10000");
        assert_eq!(n(3, 1, 0x4000, 3, &[12, 3456, 7800]), "-123456.780");
        assert_eq!(n(1, -1, 0, 4, &[1]), "0.0001");
        assert_eq!(n(1, -2, 0, 8, &[1]), "0.00000001");
        assert_eq!(n(0, 0, 0xC000, 0, &[]), "NaN");
    }

    #[test]
    fn calendar_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
        for days in [-800_000, -1, 0, 59, 60, 10_957, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert!(days_from_ymd(2023, 2, 29).is_err());
        assert!(days_from_ymd(2024, 2, 29).is_ok());
        assert!(days_from_ymd(2024, 13, 1).is_err());
    }

    #[test]
    fn params_bind_only_to_the_type_spin_converts_them_to() {
        let wrong = |v, ty: &Type| matches!(encode_param(v, ty), Err(ParamError::WrongType { .. }));
        assert_eq!(encode_param(ParameterValue::Int64(7), &Type::INT8), Ok(Param::Binary(7i64.to_be_bytes().to_vec())));
        assert!(wrong(ParameterValue::Int64(7), &Type::INT4));
        assert!(wrong(ParameterValue::Int64(7), &Type::NUMERIC));
        assert!(wrong(ParameterValue::Int32(7), &Type::INT8));
        assert!(wrong(ParameterValue::Str("x".into()), &Type::UUID));
        assert!(wrong(ParameterValue::Str("2024-01-01".into()), &Type::TIMESTAMPTZ));
        assert_eq!(encode_param(ParameterValue::Str("x".into()), &Type::VARCHAR), Ok(Param::Text("x".into())));
        assert!(wrong(ParameterValue::Datetime((2024, 1, 1, 0, 0, 0, 0)), &Type::TIMESTAMPTZ));
        assert!(wrong(ParameterValue::Timestamp(0), &Type::TIMESTAMP));
        assert!(wrong(ParameterValue::Floating64(1.0), &Type::FLOAT4));
        assert!(wrong(ParameterValue::Boolean(true), &Type::TEXT));
        assert!(wrong(ParameterValue::ArrayInt64(vec![]), &Type::INT4_ARRAY));
        assert!(wrong(ParameterValue::ArrayStr(vec![]), &Type::UUID_ARRAY));
        assert!(matches!(encode_param(ParameterValue::Uuid("nope".into()), &Type::UUID), Err(ParamError::Invalid(_))));
        assert_eq!(encode_param(ParameterValue::DbNull, &Type::TIMESTAMPTZ), Ok(Param::Null));
        assert_eq!(
            encode_param(ParameterValue::Timestamp(PG_EPOCH_UNIX_SECS + 1), &Type::TIMESTAMPTZ),
            Ok(Param::Binary(1_000_000i64.to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode_param(ParameterValue::ArrayStr(vec![Some("a\"b".into()), None]), &Type::TEXT_ARRAY),
            Ok(Param::Text(r#"{"a\"b",NULL}"#.into()))
        );
        assert_eq!(
            encode_param(ParameterValue::RangeInt32((Some((1, RangeBoundKind::Inclusive)), None)), &Type::INT4_RANGE),
            Ok(Param::Text(r#"["1",)"#.into()))
        );
    }

    #[test]
    fn values_are_checked_before_the_statement() {
        assert!(validate_param(&ParameterValue::Uuid("nope".into())).is_err());
        assert!(validate_param(&ParameterValue::Date((2023, 2, 29))).is_err());
        assert!(validate_param(&ParameterValue::Jsonb(b"{".to_vec())).is_err());
        assert!(validate_param(&ParameterValue::Decimal("1e5".into())).is_err());
        assert!(validate_param(&ParameterValue::Decimal("-12.50".into())).is_ok());
        assert!(validate_param(&ParameterValue::Str("anything".into())).is_ok());
    }

    #[test]
    fn columns_map_exact_types_only() {
        assert!(matches!(data_type(&Type::INT8), DbDataType::Int64));
        assert!(matches!(data_type(&Type::JSON), DbDataType::Other(n) if n == "json"));
        assert!(matches!(data_type(&Type::NAME), DbDataType::Other(n) if n == "name"));
        assert!(matches!(data_type(&Type::UUID_ARRAY), DbDataType::Other(n) if n == "_uuid"));
        assert!(unreadable_column(&Type::TIMESTAMPTZ).is_some());
        assert!(unreadable_column(&Type::TIMESTAMP).is_none());
    }
}
