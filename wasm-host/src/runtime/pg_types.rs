//! Conversions between `spin:postgres@4.0.0` values and PostgreSQL's wire formats.
//!
//! Parameters are encoded against the prepared statement's parameter types: a value whose
//! WIT variant matches the PostgreSQL type is sent in binary (with a range check when an
//! integer is narrowed); anything else is sent in PostgreSQL's *text* format, so the server
//! parses it with the target type's input function (a `str` into a `uuid`, `timestamptz` or
//! enum column, a `decimal` into `numeric`, arrays and ranges as literals, ...). `db-null`
//! binds as NULL whatever the type.
//!
//! Results arrive in binary and are decoded by [`Cell`], which accepts every type; types
//! without a WIT representation become `db-value::unsupported(raw bytes)`.

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

/// The type a domain is based on (binary formats are the base type's).
fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}

/// Encodes `value` for a parameter of type `ty`. The error is a message for the guest.
pub(crate) fn encode_param(value: ParameterValue, ty: &Type) -> Result<Param, String> {
    let base = base_type(ty).clone();
    let mismatch = |what: &str| format!("cannot bind a {what} value to a parameter of type {ty}");
    Ok(match value {
        ParameterValue::DbNull => Param::Null,
        ParameterValue::Boolean(b) => match base {
            Type::BOOL => Param::Binary(vec![u8::from(b)]),
            _ => Param::Text(if b { "true" } else { "false" }.to_owned()),
        },
        ParameterValue::Int8(v) => encode_int(i64::from(v), &base, ty)?,
        ParameterValue::Int16(v) => encode_int(i64::from(v), &base, ty)?,
        ParameterValue::Int32(v) => encode_int(i64::from(v), &base, ty)?,
        ParameterValue::Int64(v) => encode_int(v, &base, ty)?,
        ParameterValue::Floating32(v) => match base {
            Type::FLOAT4 => Param::Binary(v.to_be_bytes().to_vec()),
            Type::FLOAT8 => Param::Binary(f64::from(v).to_be_bytes().to_vec()),
            _ => Param::Text(float_text(f64::from(v))),
        },
        ParameterValue::Floating64(v) => match base {
            #[allow(clippy::cast_possible_truncation, reason = "float4 column: precision loss intended")]
            Type::FLOAT4 => Param::Binary((v as f32).to_be_bytes().to_vec()),
            Type::FLOAT8 => Param::Binary(v.to_be_bytes().to_vec()),
            _ => Param::Text(float_text(v)),
        },
        ParameterValue::Str(s) => Param::Text(s),
        ParameterValue::Binary(b) => match base {
            Type::BYTEA => Param::Binary(b),
            Type::JSON | Type::JSONB | Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Param::Text(
                String::from_utf8(b)
                    .map_err(|_| format!("binary value for a parameter of type {ty} is not valid UTF-8"))?,
            ),
            _ => return Err(mismatch("binary")),
        },
        ParameterValue::Date((y, m, d)) => {
            let days = days_from_ymd(y, m, d)?;
            match base {
                Type::DATE => {
                    let pg_days =
                        i32::try_from(days - PG_EPOCH_DAYS).map_err(|_| format!("date {y}-{m}-{d} out of range"))?;
                    Param::Binary(pg_days.to_be_bytes().to_vec())
                }
                _ => Param::Text(format_date(days)),
            }
        }
        ParameterValue::Time((h, mi, s, ns)) => {
            let micros = time_micros(h, mi, s, ns)?;
            match base {
                Type::TIME => Param::Binary(micros.to_be_bytes().to_vec()),
                _ => Param::Text(format_time(micros)),
            }
        }
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            let days = days_from_ymd(y, mo, d)?;
            let tod = time_micros(h, mi, s, ns)?;
            let micros = (days - PG_EPOCH_DAYS)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|v| v.checked_add(tod))
                .ok_or_else(|| "datetime out of range".to_owned())?;
            match base {
                Type::TIMESTAMP | Type::TIMESTAMPTZ => Param::Binary(micros.to_be_bytes().to_vec()),
                _ => Param::Text(format_pg_timestamp(micros)),
            }
        }
        ParameterValue::Timestamp(secs) => match base {
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                let micros = secs
                    .checked_sub(PG_EPOCH_UNIX_SECS)
                    .and_then(|s| s.checked_mul(1_000_000))
                    .ok_or_else(|| format!("timestamp {secs} out of range"))?;
                Param::Binary(micros.to_be_bytes().to_vec())
            }
            Type::INT2 | Type::INT4 | Type::INT8 => encode_int(secs, &base, ty)?,
            _ => {
                let micros = secs
                    .checked_sub(PG_EPOCH_UNIX_SECS)
                    .and_then(|s| s.checked_mul(1_000_000))
                    .ok_or_else(|| format!("timestamp {secs} out of range"))?;
                Param::Text(format_pg_timestamp(micros))
            }
        },
        ParameterValue::Uuid(s) => match base {
            Type::UUID => {
                let u = uuid::Uuid::parse_str(&s).map_err(|e| format!("invalid uuid {s:?}: {e}"))?;
                Param::Binary(u.as_bytes().to_vec())
            }
            _ => Param::Text(s),
        },
        ParameterValue::Jsonb(b) => {
            let text = String::from_utf8(b).map_err(|_| "jsonb value is not valid UTF-8".to_owned())?;
            match base {
                Type::JSONB => {
                    let mut v = Vec::with_capacity(text.len() + 1);
                    v.push(1);
                    v.extend_from_slice(text.as_bytes());
                    Param::Binary(v)
                }
                _ => Param::Text(text),
            }
        }
        ParameterValue::Decimal(s) => Param::Text(s),
        ParameterValue::RangeInt32((lo, hi)) => {
            Param::Text(range_text(lo.map(|(v, k)| (v.to_string(), k)), hi.map(|(v, k)| (v.to_string(), k))))
        }
        ParameterValue::RangeInt64((lo, hi)) => {
            Param::Text(range_text(lo.map(|(v, k)| (v.to_string(), k)), hi.map(|(v, k)| (v.to_string(), k))))
        }
        ParameterValue::RangeDecimal((lo, hi)) => Param::Text(range_text(lo, hi)),
        ParameterValue::ArrayInt32(v) => Param::Text(array_text(v.into_iter().map(|o| o.map(|x| x.to_string())))),
        ParameterValue::ArrayInt64(v) => Param::Text(array_text(v.into_iter().map(|o| o.map(|x| x.to_string())))),
        ParameterValue::ArrayDecimal(v) | ParameterValue::ArrayStr(v) => Param::Text(array_text(v.into_iter())),
        ParameterValue::Interval(Interval { micros, days, months }) => match base {
            Type::INTERVAL => {
                let mut v = Vec::with_capacity(16);
                v.extend_from_slice(&micros.to_be_bytes());
                v.extend_from_slice(&days.to_be_bytes());
                v.extend_from_slice(&months.to_be_bytes());
                Param::Binary(v)
            }
            _ => Param::Text(format!("{months} months {days} days {micros} microseconds")),
        },
    })
}

fn encode_int(v: i64, base: &Type, ty: &Type) -> Result<Param, String> {
    let out_of_range = || format!("value {v} is out of range for a parameter of type {ty}");
    Ok(match *base {
        Type::INT2 => Param::Binary(i16::try_from(v).map_err(|_| out_of_range())?.to_be_bytes().to_vec()),
        Type::INT4 => Param::Binary(i32::try_from(v).map_err(|_| out_of_range())?.to_be_bytes().to_vec()),
        Type::INT8 => Param::Binary(v.to_be_bytes().to_vec()),
        #[allow(clippy::cast_precision_loss, reason = "float column: rounding intended")]
        Type::FLOAT4 => Param::Binary((v as f32).to_be_bytes().to_vec()),
        #[allow(clippy::cast_precision_loss, reason = "float column: rounding intended")]
        Type::FLOAT8 => Param::Binary((v as f64).to_be_bytes().to_vec()),
        _ => Param::Text(v.to_string()),
    })
}

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        v.to_string()
    }
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

/// `YYYY-MM-DD` (with ` BC` for years before 1), from days since 1970-01-01.
fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if y <= 0 { format!("{:04}-{m:02}-{d:02} BC", 1 - y) } else { format!("{y:04}-{m:02}-{d:02}") }
}

fn format_time(micros: i64) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    format!("{:02}:{:02}:{:02}.{frac:06}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A UTC timestamp literal from microseconds since 2000-01-01.
fn format_pg_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY) + PG_EPOCH_DAYS;
    let tod = micros.rem_euclid(MICROS_PER_DAY);
    let date = format_date(days);
    match date.strip_suffix(" BC") {
        Some(d) => format!("{d} {}+00 BC", format_time(tod)),
        None => format!("{date} {}+00", format_time(tod)),
    }
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/// The WIT data type reported for a column of type `ty`.
pub(crate) fn data_type(ty: &Type) -> DbDataType {
    match ty.kind() {
        Kind::Domain(inner) => return data_type(inner),
        Kind::Enum(_) => return DbDataType::Str,
        Kind::Array(member) if matches!(member.kind(), Kind::Enum(_)) => {
            return DbDataType::ArrayStr;
        }
        _ => {}
    }
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 | Type::OID => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::UUID => DbDataType::Uuid,
        Type::JSON | Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT2_ARRAY | Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY | Type::NAME_ARRAY | Type::UUID_ARRAY => {
            DbDataType::ArrayStr
        }
        Type::INTERVAL => DbDataType::Interval,
        _ if ty.name() == "citext" => DbDataType::Str,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
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
    match ty.kind() {
        Kind::Domain(inner) => return decode(inner, raw),
        Kind::Enum(_) => return Ok(DbValue::Str(std::str::from_utf8(raw)?.to_owned())),
        Kind::Array(member) if matches!(member.kind(), Kind::Enum(_)) => {
            return Ok(DbValue::ArrayStr(
                decode_array::<TextString>(ty, raw)?.into_iter().map(|o| o.map(|t| t.0)).collect(),
            ));
        }
        _ => {}
    }
    Ok(match *ty {
        Type::BOOL => DbValue::Boolean(bool::from_sql(ty, raw)?),
        Type::CHAR => DbValue::Int8(i8::from_sql(ty, raw)?),
        Type::INT2 => DbValue::Int16(i16::from_sql(ty, raw)?),
        Type::INT4 => DbValue::Int32(i32::from_sql(ty, raw)?),
        Type::INT8 => DbValue::Int64(i64::from_sql(ty, raw)?),
        Type::OID => DbValue::Int64(i64::from(u32::from_sql(ty, raw)?)),
        Type::FLOAT4 => DbValue::Floating32(f32::from_sql(ty, raw)?),
        Type::FLOAT8 => DbValue::Floating64(f64::from_sql(ty, raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            DbValue::Str(std::str::from_utf8(raw)?.to_owned())
        }
        Type::BYTEA => DbValue::Binary(raw.to_vec()),
        Type::UUID => DbValue::Uuid(UuidString::from_sql(ty, raw)?.0),
        Type::JSON => DbValue::Jsonb(raw.to_vec()),
        Type::JSONB => match raw.split_first() {
            Some((1, json)) => DbValue::Jsonb(json.to_vec()),
            _ => return Err("unsupported jsonb binary version".into()),
        },
        Type::DATE => {
            let days = i32::from_sql(ty, raw)?;
            if days == i32::MAX || days == i32::MIN {
                // 'infinity' / '-infinity'
                return Ok(DbValue::Unsupported(raw.to_vec()));
            }
            let (y, m, d) = civil_from_days(i64::from(days) + PG_EPOCH_DAYS);
            DbValue::Date((i32::try_from(y)?, u8::try_from(m)?, u8::try_from(d)?))
        }
        Type::TIME => {
            let (h, m, s, ns) = split_time(i64::from_sql(ty, raw)?)?;
            DbValue::Time((h, m, s, ns))
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_sql(ty, raw)?;
            if micros == i64::MAX || micros == i64::MIN {
                return Ok(DbValue::Unsupported(raw.to_vec()));
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
            None => DbValue::RangeInt32(empty_range(0)),
        },
        Type::INT8_RANGE => match decode_range(raw, |b| i64::from_sql(&Type::INT8, b))? {
            Some((lo, hi)) => DbValue::RangeInt64((lo, hi)),
            None => DbValue::RangeInt64(empty_range(0)),
        },
        Type::NUM_RANGE => match decode_range(raw, numeric_to_string)? {
            Some((lo, hi)) => DbValue::RangeDecimal((lo, hi)),
            None => DbValue::RangeDecimal(empty_range("0".to_owned())),
        },
        Type::INT2_ARRAY => {
            DbValue::ArrayInt32(decode_array::<i16>(ty, raw)?.into_iter().map(|o| o.map(i32::from)).collect())
        }
        Type::INT4_ARRAY => DbValue::ArrayInt32(decode_array::<i32>(ty, raw)?),
        Type::INT8_ARRAY => DbValue::ArrayInt64(decode_array::<i64>(ty, raw)?),
        Type::NUMERIC_ARRAY => {
            DbValue::ArrayDecimal(decode_array::<NumericString>(ty, raw)?.into_iter().map(|o| o.map(|n| n.0)).collect())
        }
        Type::UUID_ARRAY => {
            DbValue::ArrayStr(decode_array::<UuidString>(ty, raw)?.into_iter().map(|o| o.map(|u| u.0)).collect())
        }
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY | Type::NAME_ARRAY => {
            DbValue::ArrayStr(decode_array::<TextString>(ty, raw)?.into_iter().map(|o| o.map(|t| t.0)).collect())
        }
        _ if ty.name() == "citext" => DbValue::Str(std::str::from_utf8(raw)?.to_owned()),
        _ => DbValue::Unsupported(raw.to_vec()),
    })
}

/// An empty range, expressed as `(v,v)`, which PostgreSQL also reads as empty.
fn empty_range<T: Clone>(v: T) -> Bounds<T> {
    (Some((v.clone(), RangeBoundKind::Exclusive)), Some((v, RangeBoundKind::Exclusive)))
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
        assert_eq!(format_pg_timestamp(0), "2000-01-01 00:00:00.000000+00");
        assert_eq!(format_pg_timestamp(-1), "1999-12-31 23:59:59.999999+00");
    }

    #[test]
    fn params_follow_the_target_type() {
        assert_eq!(encode_param(ParameterValue::Int64(7), &Type::INT4), Ok(Param::Binary(7i32.to_be_bytes().to_vec())));
        assert!(encode_param(ParameterValue::Int64(1 << 40), &Type::INT4).is_err());
        assert_eq!(encode_param(ParameterValue::Int64(7), &Type::NUMERIC), Ok(Param::Text("7".into())));
        assert_eq!(encode_param(ParameterValue::Str("x".into()), &Type::UUID), Ok(Param::Text("x".into())));
        assert!(encode_param(ParameterValue::Uuid("nope".into()), &Type::UUID).is_err());
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
}
