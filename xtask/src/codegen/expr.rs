//! Rust expressions for one field's type: its Rust type, its default, and the code that sizes,
//! writes, reads and generates (for proptest) a value of it.
//!
//! These are the only places that know how each wire type is encoded; `emit` arranges them into
//! structs and decides which versions carry which field.

use super::schema::{Field, FieldType};

pub(super) fn fixed_size(ty: &FieldType) -> Option<usize> {
    Some(match ty {
        FieldType::Bool | FieldType::Int8 => 1,
        FieldType::Int16 | FieldType::UInt16 => 2,
        FieldType::Int32 | FieldType::UInt32 => 4,
        FieldType::Int64 | FieldType::Float64 => 8,
        FieldType::Uuid => 16,
        _ => return None,
    })
}

pub(super) fn base_type(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "bool".into(),
        FieldType::Int8 => "i8".into(),
        FieldType::Int16 => "i16".into(),
        FieldType::UInt16 => "u16".into(),
        FieldType::Int32 => "i32".into(),
        FieldType::UInt32 => "u32".into(),
        FieldType::Int64 => "i64".into(),
        FieldType::Float64 => "f64".into(),
        FieldType::Uuid => "Uuid".into(),
        FieldType::String => "StrBytes".into(),
        FieldType::Bytes | FieldType::Records => "Bytes".into(),
        FieldType::Struct(name) => name.clone(),
        FieldType::Array(inner) => format!("Vec<{}>", base_type(inner)),
    }
}

pub(super) fn rust_type(field: &Field) -> String {
    let base = base_type(&field.ty);
    if field.nullable.is_some() {
        format!("Option<{base}>")
    } else {
        base
    }
}

pub(super) fn parse_int(text: &str) -> Result<i128, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => t.parse::<i128>(),
    }
    .map_err(|e| format!("bad integer default '{text}': {e}"))?;
    Ok(if neg { -v } else { v })
}

pub(super) fn rust_str_literal(s: &str) -> String {
    format!("{s:?}")
}

/// The default value of a field, as a Rust expression.
pub(super) fn default_expr(field: &Field) -> Result<String, String> {
    let d = field.default.as_deref();
    if field.nullable.is_some() && d == Some("null") {
        return Ok("None".into());
    }
    let base = match &field.ty {
        FieldType::Bool => match d {
            None | Some("false") => "false".into(),
            Some("true") => "true".into(),
            Some(o) => return Err(format!("bad bool default '{o}'")),
        },
        FieldType::Int8
        | FieldType::Int16
        | FieldType::UInt16
        | FieldType::Int32
        | FieldType::UInt32
        | FieldType::Int64 => match d {
            None | Some("") => "0".into(),
            Some(t) => parse_int(t)?.to_string(),
        },
        FieldType::Float64 => match d {
            None => "0.0".into(),
            Some(t) => format!("{:?}", t.parse::<f64>().map_err(|e| e.to_string())?),
        },
        FieldType::Uuid => "Uuid::ZERO".into(),
        FieldType::String => match d {
            None | Some("") => "StrBytes::new()".into(),
            Some(t) => format!("StrBytes::from_static_str({})", rust_str_literal(t)),
        },
        FieldType::Bytes | FieldType::Records => "Bytes::new()".into(),
        FieldType::Struct(name) => format!("{name}::default()"),
        FieldType::Array(_) => "Vec::new()".into(),
    };
    Ok(if field.nullable.is_some() {
        format!("Some({base})")
    } else {
        base
    })
}

/// An expression that is true when the field holds its default value.
pub(super) fn is_default_expr(field: &Field, access: &str) -> Result<String, String> {
    let default = default_expr(field)?;
    if default == "None" {
        return Ok(format!("{access}.is_none()"));
    }
    if field.nullable.is_none() {
        match &field.ty {
            FieldType::Array(_) | FieldType::Bytes | FieldType::Records => {
                return Ok(format!("{access}.is_empty()"));
            }
            FieldType::String if default == "StrBytes::new()" => {
                return Ok(format!("{access}.is_empty()"));
            }
            _ => {}
        }
    }
    Ok(format!("{access} == {default}"))
}

/// Size of a non-null value held in place `v`.
pub(super) fn size_value(ty: &FieldType, v: &str, compact: &str, depth: usize) -> String {
    if let Some(n) = fixed_size(ty) {
        return n.to_string();
    }
    match ty {
        FieldType::String => format!("codec::string_size(&{v}, {compact})"),
        FieldType::Bytes | FieldType::Records => format!("codec::bytes_size(&{v}, {compact})"),
        FieldType::Struct(_) => format!("{v}.encoded_size(version)?"),
        FieldType::Array(inner) => {
            let len = format!("codec::array_len_size(Some({v}.len()), {compact})");
            if let Some(n) = fixed_size(inner) {
                format!("({len} + {v}.len() * {n})")
            } else {
                let item = format!("item{depth}");
                let inner_size = size_value(inner, &format!("(*{item})"), compact, depth + 1);
                format!(
                    "({len} + {{ let mut s = 0usize; for {item} in {v}.iter() {{ s += {inner_size}; }} s }})"
                )
            }
        }
        _ => unreachable!("fixed-size types handled above"),
    }
}

/// Size of a nullable value held in place `v` (an `Option`).
pub(super) fn size_nullable(ty: &FieldType, v: &str, compact: &str, depth: usize) -> String {
    match ty {
        FieldType::String => format!("codec::nullable_string_size({v}.as_deref(), {compact})"),
        FieldType::Bytes | FieldType::Records => {
            format!("codec::nullable_bytes_size({v}.as_deref(), {compact})")
        }
        FieldType::Struct(_) => {
            format!("match &{v} {{ None => 1, Some(s) => 1 + s.encoded_size(version)? }}")
        }
        FieldType::Array(_) => {
            let inner = size_value(ty, "(*a)", compact, depth);
            format!(
                "match &{v} {{ None => codec::array_len_size(None, {compact}), Some(a) => {inner} }}"
            )
        }
        other => {
            let inner = size_value(other, "(*x)", compact, depth);
            format!("match &{v} {{ None => 0, Some(x) => {inner} }}")
        }
    }
}

/// Statements writing a non-null value held in place `v`.
pub(super) fn put_value(ty: &FieldType, v: &str, compact: &str, depth: usize) -> String {
    match ty {
        FieldType::Bool => format!("buf.put_u8(u8::from({v}));"),
        FieldType::Int8 => format!("buf.put_i8({v});"),
        FieldType::Int16 => format!("buf.put_i16({v});"),
        FieldType::UInt16 => format!("buf.put_u16({v});"),
        FieldType::Int32 => format!("buf.put_i32({v});"),
        FieldType::UInt32 => format!("buf.put_u32({v});"),
        FieldType::Int64 => format!("buf.put_i64({v});"),
        FieldType::Float64 => format!("buf.put_f64({v});"),
        FieldType::Uuid => format!("codec::put_uuid(buf, &{v});"),
        FieldType::String => format!("codec::put_string(buf, &{v}, {compact})?;"),
        FieldType::Bytes | FieldType::Records => {
            format!("codec::put_bytes(buf, &{v}, {compact})?;")
        }
        FieldType::Struct(_) => format!("{v}.encode(buf, version)?;"),
        FieldType::Array(inner) => {
            let item = format!("item{depth}");
            let inner_put = put_value(inner, &format!("(*{item})"), compact, depth + 1);
            format!(
                "codec::put_array_len(buf, Some({v}.len()), {compact})?; for {item} in {v}.iter() {{ {inner_put} }}"
            )
        }
    }
}

/// Statements writing a nullable value held in place `v`, where null is allowed.
pub(super) fn put_nullable(ty: &FieldType, v: &str, compact: &str, depth: usize) -> String {
    match ty {
        FieldType::String => {
            format!("codec::put_nullable_string(buf, {v}.as_deref(), {compact})?;")
        }
        FieldType::Bytes => {
            format!("codec::put_nullable_bytes(buf, {v}.as_deref(), {compact})?;")
        }
        FieldType::Records => {
            format!("codec::put_nullable_records(buf, {v}.as_ref(), {compact})?;")
        }
        FieldType::Struct(_) => format!(
            "match &{v} {{ None => buf.put_i8(-1), Some(s) => {{ buf.put_i8(1); s.encode(buf, version)?; }} }}"
        ),
        FieldType::Array(_) => {
            let inner = put_value(ty, "(*a)", compact, depth);
            format!(
                "match &{v} {{ None => codec::put_array_len(buf, None, {compact})?, Some(a) => {{ {inner} }} }}"
            )
        }
        other => {
            let inner = put_value(other, "(*x)", compact, depth);
            format!("if let Some(x) = &{v} {{ {inner} }}")
        }
    }
}

/// An expression reading a non-null value from `buf`.
pub(super) fn read_value(ty: &FieldType, buf: &str, compact: &str) -> String {
    match ty {
        FieldType::Bool => format!("codec::get_bool({buf})?"),
        FieldType::Int8 => format!("codec::get_i8({buf})?"),
        FieldType::Int16 => format!("codec::get_i16({buf})?"),
        FieldType::UInt16 => format!("codec::get_u16({buf})?"),
        FieldType::Int32 => format!("codec::get_i32({buf})?"),
        FieldType::UInt32 => format!("codec::get_u32({buf})?"),
        FieldType::Int64 => format!("codec::get_i64({buf})?"),
        FieldType::Float64 => format!("codec::get_f64({buf})?"),
        FieldType::Uuid => format!("codec::get_uuid({buf})?"),
        FieldType::String => format!("codec::get_string({buf}, {compact})?"),
        FieldType::Bytes | FieldType::Records => format!("codec::get_bytes({buf}, {compact})?"),
        FieldType::Struct(name) => format!("{name}::decode({buf}, version)?"),
        FieldType::Array(inner) => {
            let elem = read_value(inner, buf, compact);
            format!(
                "{{ let n = codec::get_non_null_array_len({buf}, {compact})?; let mut v = codec::bounded_vec(n); for _ in 0..n {{ v.push({elem}); }} v }}"
            )
        }
    }
}

/// An expression reading an `Option` value that may be null.
pub(super) fn read_nullable(ty: &FieldType, buf: &str, compact: &str) -> String {
    match ty {
        FieldType::String => format!("codec::get_nullable_string({buf}, {compact})?"),
        FieldType::Bytes | FieldType::Records => {
            format!("codec::get_nullable_bytes({buf}, {compact})?")
        }
        FieldType::Struct(name) => format!(
            "if codec::get_struct_present({buf})? {{ Some({name}::decode({buf}, version)?) }} else {{ None }}"
        ),
        FieldType::Array(inner) => {
            let elem = read_value(inner, buf, compact);
            format!(
                "match codec::get_array_len({buf}, {compact})? {{ None => None, Some(n) => {{ let mut v = codec::bounded_vec(n); for _ in 0..n {{ v.push({elem}); }} Some(v) }} }}"
            )
        }
        other => format!("Some({})", read_value(other, buf, compact)),
    }
}

pub(super) fn strategy_value(ty: &FieldType) -> String {
    match ty {
        FieldType::Bool => "any::<bool>().boxed()".into(),
        FieldType::Int8 => "any::<i8>().boxed()".into(),
        FieldType::Int16 => "any::<i16>().boxed()".into(),
        FieldType::UInt16 => "any::<u16>().boxed()".into(),
        FieldType::Int32 => "any::<i32>().boxed()".into(),
        FieldType::UInt32 => "any::<u32>().boxed()".into(),
        FieldType::Int64 => "any::<i64>().boxed()".into(),
        // Whole numbers only: NaN would make a round trip compare unequal to itself.
        FieldType::Float64 => "any::<i32>().prop_map(f64::from).boxed()".into(),
        FieldType::Uuid => "any::<u128>().prop_map(Uuid::from_u128).boxed()".into(),
        FieldType::String => "codec::testing::string_strategy()".into(),
        FieldType::Bytes | FieldType::Records => "codec::testing::bytes_strategy()".into(),
        FieldType::Struct(name) => format!("<{name} as ArbitraryMessage>::arbitrary(version)"),
        FieldType::Array(inner) => format!(
            "proptest::collection::vec({}, 0..codec::testing::MAX_ARRAY_LEN).boxed()",
            strategy_value(inner)
        ),
    }
}
