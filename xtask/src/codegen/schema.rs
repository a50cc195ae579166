//! Kafka's JSON message schemas, parsed into a model the emitter can walk.
//!
//! The files are JSON with `//` comments. Only what affects the wire or the generated API is
//! kept: versions, nullability, tags, defaults, nested fields and common structs.

use std::collections::BTreeMap;

use serde_json::Value;

/// An inclusive version range; `None` as a whole means "no versions".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub min: i16,
    pub max: i16,
}

impl Versions {
    pub const ALL: Versions = Versions {
        min: 0,
        max: i16::MAX,
    };

    /// Parses "3", "3+", "3-7" or "none".
    pub fn parse(text: &str) -> Result<Option<Versions>, String> {
        let text = text.trim();
        if text == "none" {
            return Ok(None);
        }
        let num = |s: &str| {
            s.trim()
                .parse::<i16>()
                .map_err(|e| format!("bad version '{s}': {e}"))
        };
        if let Some(min) = text.strip_suffix('+') {
            return Ok(Some(Versions {
                min: num(min)?,
                max: i16::MAX,
            }));
        }
        if let Some((a, b)) = text.split_once('-') {
            return Ok(Some(Versions {
                min: num(a)?,
                max: num(b)?,
            }));
        }
        let v = num(text)?;
        Ok(Some(Versions { min: v, max: v }))
    }

    pub fn intersect(self, other: Versions) -> Option<Versions> {
        let min = self.min.max(other.min);
        let max = self.max.min(other.max);
        (min <= max).then_some(Versions { min, max })
    }

    pub fn contains_range(self, other: Versions) -> bool {
        self.min <= other.min && self.max >= other.max
    }

    pub fn describe(self) -> String {
        if self.max == i16::MAX {
            format!("{}+", self.min)
        } else if self.min == self.max {
            format!("{}", self.min)
        } else {
            format!("{}-{}", self.min, self.max)
        }
    }
}

/// What a schema file describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
    Header,
    Data,
}

/// A field's wire type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Bool,
    Int8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    Float64,
    Uuid,
    String,
    Bytes,
    Records,
    Struct(String),
    Array(Box<FieldType>),
}

impl FieldType {
    fn parse(text: &str) -> Result<FieldType, String> {
        if let Some(inner) = text.strip_prefix("[]") {
            return Ok(FieldType::Array(Box::new(FieldType::parse(inner)?)));
        }
        Ok(match text {
            "bool" => FieldType::Bool,
            "int8" => FieldType::Int8,
            "int16" => FieldType::Int16,
            "uint16" => FieldType::UInt16,
            "int32" => FieldType::Int32,
            "uint32" => FieldType::UInt32,
            "int64" => FieldType::Int64,
            "float64" => FieldType::Float64,
            "uuid" => FieldType::Uuid,
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            "records" => FieldType::Records,
            s if s.starts_with(|c: char| c.is_ascii_uppercase()) => FieldType::Struct(s.into()),
            s => return Err(format!("unknown field type '{s}'")),
        })
    }
}

/// One field of a struct.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// The versions that carry the field, already narrowed to the message's valid versions.
    pub versions: Versions,
    pub nullable: Option<Versions>,
    pub tagged: Option<Versions>,
    pub tag: Option<u32>,
    pub default: Option<String>,
    pub ignorable: bool,
    pub map_key: bool,
    /// A field-level override of the message's flexible versions (`RequestHeader.ClientId`).
    pub flexible_override: Option<Option<Versions>>,
    pub about: String,
}

/// A struct: the message itself, a nested struct or a common struct.
#[derive(Debug, Clone)]
pub struct StructDef {
    pub name: String,
    pub fields: Vec<Field>,
    /// The versions in which the struct appears at all.
    pub versions: Versions,
}

/// One schema file.
#[derive(Debug, Clone)]
pub struct Schema {
    pub name: String,
    pub kind: Kind,
    pub api_key: Option<i16>,
    pub valid: Versions,
    pub flexible: Option<Versions>,
    /// The message struct first, then every other struct, each once.
    pub structs: Vec<StructDef>,
}

/// Removes `//` comments outside string literals.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn parse_schema(text: &str) -> Result<Schema, String> {
    let json: Value = serde_json::from_str(&strip_comments(text)).map_err(|e| e.to_string())?;
    let name = str_of(&json, "name").ok_or("missing name")?.to_string();
    let kind = match str_of(&json, "type").ok_or("missing type")? {
        "request" => Kind::Request,
        "response" => Kind::Response,
        "header" => Kind::Header,
        "data" => Kind::Data,
        other => return Err(format!("unknown schema type '{other}'")),
    };
    let api_key = json.get("apiKey").and_then(Value::as_i64).map(|k| k as i16);
    let valid = Versions::parse(str_of(&json, "validVersions").ok_or("missing validVersions")?)?
        .ok_or("no valid versions")?;
    let flexible = match str_of(&json, "flexibleVersions") {
        Some(text) => Versions::parse(text)?.and_then(|v| v.intersect(valid)),
        None => None,
    };
    let mut structs: BTreeMap<String, StructDef> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();

    // Common structs are declared once at the top and referenced by name.
    if let Some(common) = json.get("commonStructs").and_then(Value::as_array) {
        for s in common {
            let sname = str_of(s, "name")
                .ok_or("common struct without name")?
                .to_string();
            let versions = match str_of(s, "versions") {
                Some(t) => Versions::parse(t)?.and_then(|v| v.intersect(valid)),
                None => Some(valid),
            };
            let Some(versions) = versions else { continue };
            let fields = parse_fields(s, versions, &mut structs, &mut order)?;
            insert_struct(
                &mut structs,
                &mut order,
                StructDef {
                    name: sname,
                    fields,
                    versions,
                },
            )?;
        }
    }
    let fields = parse_fields(&json, valid, &mut structs, &mut order)?;
    let mut out = vec![StructDef {
        name: name.clone(),
        fields,
        versions: valid,
    }];
    for n in order {
        if let Some(s) = structs.remove(&n) {
            out.push(s);
        }
    }
    Ok(Schema {
        name,
        kind,
        api_key,
        valid,
        flexible,
        structs: out,
    })
}

fn insert_struct(
    structs: &mut BTreeMap<String, StructDef>,
    order: &mut Vec<String>,
    def: StructDef,
) -> Result<(), String> {
    if let Some(existing) = structs.get_mut(&def.name) {
        if existing.fields.len() != def.fields.len() {
            return Err(format!("struct {} is defined twice, differently", def.name));
        }
        // The same struct reached through two fields: it appears in the union of their versions.
        existing.versions = Versions {
            min: existing.versions.min.min(def.versions.min),
            max: existing.versions.max.max(def.versions.max),
        };
        return Ok(());
    }
    order.push(def.name.clone());
    structs.insert(def.name.clone(), def);
    Ok(())
}

fn parse_fields(
    parent: &Value,
    parent_versions: Versions,
    structs: &mut BTreeMap<String, StructDef>,
    order: &mut Vec<String>,
) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    let Some(fields) = parent.get("fields").and_then(Value::as_array) else {
        return Ok(out);
    };
    for f in fields {
        let name = str_of(f, "name").ok_or("field without name")?.to_string();
        let ty_text = str_of(f, "type").ok_or("field without type")?;
        let ty = FieldType::parse(ty_text)?;
        let declared = Versions::parse(str_of(f, "versions").ok_or("field without versions")?)?;
        // A field outside every version of its parent never reaches the wire: leave it out.
        let Some(versions) = declared.and_then(|v| v.intersect(parent_versions)) else {
            continue;
        };
        let nullable = match str_of(f, "nullableVersions") {
            Some(t) => Versions::parse(t)?.and_then(|v| v.intersect(versions)),
            None => None,
        };
        let tagged = match str_of(f, "taggedVersions") {
            Some(t) => Versions::parse(t)?.and_then(|v| v.intersect(versions)),
            None => None,
        };
        if tagged.is_some_and(|t| t != versions) {
            return Err(format!(
                "{name}: tagged versions must equal the field's versions"
            ));
        }
        // Tags are numbers, or occasionally numeric strings ("tag": "0").
        let tag = match f.get("tag") {
            Some(Value::Number(n)) => n.as_u64().map(|t| t as u32),
            Some(Value::String(s)) => {
                Some(s.parse::<u32>().map_err(|e| format!("{name}: tag: {e}"))?)
            }
            _ => None,
        };
        if tagged.is_some() != tag.is_some() && str_of(f, "taggedVersions").is_some() {
            return Err(format!("{name}: taggedVersions without tag"));
        }
        let default = match f.get("default") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let flexible_override = match str_of(f, "flexibleVersions") {
            Some(t) => Some(Versions::parse(t)?),
            None => None,
        };
        let inner_struct = match &ty {
            FieldType::Struct(s) => Some(s.clone()),
            FieldType::Array(inner) => match inner.as_ref() {
                FieldType::Struct(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        if let (Some(sname), true) = (&inner_struct, f.get("fields").is_some()) {
            let fields = parse_fields(f, versions, structs, order)?;
            insert_struct(
                structs,
                order,
                StructDef {
                    name: sname.clone(),
                    fields,
                    versions,
                },
            )?;
        }
        out.push(Field {
            name,
            ty,
            versions,
            nullable,
            tagged: tagged.filter(|_| tag.is_some()),
            tag,
            default,
            ignorable: f.get("ignorable").and_then(Value::as_bool).unwrap_or(false),
            map_key: f.get("mapKey").and_then(Value::as_bool).unwrap_or(false),
            flexible_override,
            about: str_of(f, "about").unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

/// `FetchRequest` → `fetch_request`; `ISRVersion` → `isr_version`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `FetchRequest` → `FETCH_REQUEST`.
pub fn screaming_case(name: &str) -> String {
    snake_case(name).to_ascii_uppercase()
}

/// `Produce` for `ProduceRequest`; `None` for headers and data schemas.
pub fn api_name(schema: &Schema) -> Option<String> {
    match schema.kind {
        Kind::Request => schema.name.strip_suffix("Request").map(str::to_string),
        Kind::Response => schema.name.strip_suffix("Response").map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_specs() {
        assert_eq!(
            Versions::parse("3+").unwrap(),
            Some(Versions {
                min: 3,
                max: i16::MAX
            })
        );
        assert_eq!(
            Versions::parse("0-7").unwrap(),
            Some(Versions { min: 0, max: 7 })
        );
        assert_eq!(
            Versions::parse("4").unwrap(),
            Some(Versions { min: 4, max: 4 })
        );
        assert_eq!(Versions::parse("none").unwrap(), None);
        assert!(Versions::parse("x+").is_err());
        let v = Versions { min: 2, max: 9 };
        assert_eq!(
            v.intersect(Versions { min: 5, max: 20 }),
            Some(Versions { min: 5, max: 9 })
        );
        assert_eq!(v.intersect(Versions { min: 10, max: 20 }), None);
    }

    #[test]
    fn names() {
        assert_eq!(snake_case("FetchRequest"), "fetch_request");
        assert_eq!(snake_case("ISRVersion"), "isr_version");
        assert_eq!(snake_case("TopicId"), "topic_id");
        assert_eq!(snake_case("V3AndBelowTopics"), "v3_and_below_topics");
        assert_eq!(screaming_case("ListOffsets"), "LIST_OFFSETS");
    }

    #[test]
    fn comments_are_stripped_outside_strings_only() {
        let text = "{ // a comment\n \"about\": \"see https://kafka.apache.org\" }";
        let json: Value = serde_json::from_str(&strip_comments(text)).unwrap();
        assert_eq!(json["about"], "see https://kafka.apache.org");
    }

    #[test]
    fn a_schema_with_tagged_nullable_and_common_fields() {
        let schema = parse_schema(
            r#"{
              "apiKey": 99, "type": "request", "name": "DemoRequest",
              "validVersions": "0-3", "flexibleVersions": "2+",
              "fields": [
                { "name": "Name", "type": "string", "versions": "0+", "nullableVersions": "1+" },
                { "name": "Old", "type": "int32", "versions": "0-1", "default": "0x10" },
                { "name": "Items", "type": "[]Item", "versions": "0+" },
                { "name": "Extra", "type": "uuid", "versions": "3+", "taggedVersions": "3+", "tag": "0" }
              ],
              "commonStructs": [
                { "name": "Item", "versions": "0+", "fields": [
                  { "name": "Id", "type": "int64", "versions": "0+" } ] }
              ]
            }"#,
        )
        .unwrap();
        assert_eq!((schema.kind, schema.api_key), (Kind::Request, Some(99)));
        assert_eq!(schema.flexible, Some(Versions { min: 2, max: 3 }));
        let top = &schema.structs[0];
        assert_eq!(top.name, "DemoRequest");
        assert_eq!(top.fields[0].nullable, Some(Versions { min: 1, max: 3 }));
        assert_eq!(top.fields[1].default.as_deref(), Some("0x10"));
        assert_eq!(
            (top.fields[3].tag, top.fields[3].tagged),
            (Some(0), Some(Versions { min: 3, max: 3 }))
        );
        assert!(schema.structs.iter().any(|s| s.name == "Item"));
        // A field outside every valid version is dropped rather than generated dead.
        let narrowed = parse_schema(
            r#"{ "type": "data", "name": "D", "validVersions": "2-3", "flexibleVersions": "none",
                 "fields": [ { "name": "Gone", "type": "int8", "versions": "0-1" } ] }"#,
        )
        .unwrap();
        assert!(narrowed.structs[0].fields.is_empty());
    }
}
