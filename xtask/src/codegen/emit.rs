//! Turns one parsed schema into one Rust module: a struct per schema struct, with `Default`,
//! `Encode`, `Decode` and (for tests) a proptest strategy per version.
//!
//! Every version condition is computed here, at generation time, against the versions in which
//! the enclosing struct can appear, so the generated code tests only what can vary.

use std::fmt::Write as _;

use super::expr::{
    default_expr, is_default_expr, put_nullable, put_value, read_nullable, read_value, rust_type,
    size_nullable, size_value, strategy_value,
};
use super::schema::{Field, FieldType, Kind, Schema, StructDef, Versions, snake_case};

/// Names the generated code imports; a schema struct with one of these names would clash.
pub const RESERVED_NAMES: &[&str] = &[
    "Bytes",
    "BytesMut",
    "BufMut",
    "StrBytes",
    "Uuid",
    "RawTaggedField",
    "Encode",
    "Decode",
    "Message",
    "DecodeError",
    "EncodeError",
    "ApiKey",
    "VersionRange",
    "Vec",
    "Option",
    "String",
    "Result",
];

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

pub fn field_ident(field: &Field) -> String {
    let name = snake_case(&field.name);
    if RUST_KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// A condition on `version` that is true exactly in `range`, given that `version` is known to
/// lie in `within`; `None` when it always holds there.
fn cond(range: Versions, within: Versions) -> Option<String> {
    if range.contains_range(within) {
        return None;
    }
    let lower = range.min > within.min;
    let upper = range.max < within.max;
    Some(match (lower, upper) {
        (true, true) if range.min == range.max => format!("version == {}", range.min),
        (true, true) => format!("({}..={}).contains(&version)", range.min, range.max),
        (true, false) => format!("version >= {}", range.min),
        (false, true) => format!("version <= {}", range.max),
        (false, false) => "true".into(),
    })
}

/// Whether a range is empty within `within` (no overlap).
fn never(range: Versions, within: Versions) -> bool {
    range.intersect(within).is_none()
}

/// Per-schema generation context.
pub struct Ctx<'a> {
    pub schema: &'a Schema,
}

impl Ctx<'_> {
    fn flexible_cond(&self, within: Versions) -> String {
        match self.schema.flexible {
            None => "false".into(),
            Some(f) if never(f, within) => "false".into(),
            Some(f) => cond(f, within).unwrap_or_else(|| "true".into()),
        }
    }

    /// The expression telling whether a field uses compact encodings.
    fn compact_expr(&self, field: &Field, within: Versions) -> String {
        match field.flexible_override {
            Some(None) => "false".into(),
            Some(Some(f)) if never(f, within) => "false".into(),
            Some(Some(f)) => cond(f, within).unwrap_or_else(|| "true".into()),
            None => "flexible".into(),
        }
    }

    fn has_flexible(&self) -> bool {
        self.schema.flexible.is_some()
    }
}

fn doc_text(text: &str) -> String {
    text.replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Ctx<'_> {
    /// Emits one struct with all its impls.
    pub fn emit_struct(
        &self,
        out: &mut String,
        def: &StructDef,
        is_top: bool,
    ) -> Result<(), String> {
        let schema = self.schema;
        let within = def.versions;
        let name = &def.name;
        let flexible_possible =
            self.has_flexible() && !never(schema.flexible.unwrap_or(Versions::ALL), within);

        // Tagged fields by ascending tag, for encoding order.
        let mut tagged: Vec<&Field> = def.fields.iter().filter(|f| f.tagged.is_some()).collect();
        tagged.sort_by_key(|f| f.tag);
        for w in tagged.windows(2) {
            if w[0].tag == w[1].tag {
                return Err(format!("{name}: duplicate tag {:?}", w[0].tag));
            }
        }
        let plain: Vec<&Field> = def.fields.iter().filter(|f| f.tagged.is_none()).collect();

        // The struct.
        if is_top {
            let _ = writeln!(
                out,
                "/// {name}, versions {} (flexible from {}).",
                schema.valid.describe(),
                schema
                    .flexible
                    .map_or("never".into(), |f| f.min.to_string())
            );
        } else {
            let _ = writeln!(
                out,
                "/// A `{name}` of [`{}`], versions {}.",
                schema.name,
                within.describe()
            );
        }
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq)]\npub struct {name} {{"
        );
        for f in &def.fields {
            let mut doc = doc_text(f.about.trim());
            if !doc.is_empty() && !doc.ends_with('.') {
                doc.push('.');
            }
            let _ = write!(
                out,
                "    /// {doc}\n    ///\n    /// Versions {}",
                f.versions.describe()
            );
            if let Some(n) = f.nullable {
                let _ = write!(out, "; nullable in {}", n.describe());
            }
            if let (Some(t), Some(tag)) = (f.tagged, f.tag) {
                let _ = write!(out, "; tagged (tag {tag}) in {}", t.describe());
            }
            if f.map_key {
                out.push_str("; the key of its list");
            }
            if f.ignorable {
                out.push_str("; ignorable (dropped when a version cannot carry it)");
            }
            let _ = writeln!(out, ".\n    pub {}: {},", field_ident(f), rust_type(f));
        }
        if flexible_possible {
            out.push_str(
                "    /// Tagged fields this schema revision does not know, kept for re-encoding.\n    pub unknown_tagged_fields: codec::UnknownTaggedFields,\n",
            );
        }
        out.push_str("}\n\n");

        // Default.
        let _ = writeln!(
            out,
            "impl Default for {name} {{\n    fn default() -> Self {{\n        Self {{"
        );
        for f in &def.fields {
            let _ = writeln!(out, "            {}: {},", field_ident(f), default_expr(f)?);
        }
        if flexible_possible {
            out.push_str("            unknown_tagged_fields: codec::UnknownTaggedFields::new(),\n");
        }
        out.push_str("        }\n    }\n}\n\n");

        let api_key = schema.api_key.map_or(-1, i64::from);
        let version_check_enc = if is_top {
            format!(
                "if !<Self as Message>::VERSIONS.contains(version) {{ return Err(EncodeError::UnsupportedVersion {{ api_key: {api_key}, version }}); }}\n"
            )
        } else {
            String::new()
        };
        let version_check_dec = version_check_enc.replace("EncodeError", "DecodeError");
        let flexible = self.flexible_cond(within);

        // Encode: size.
        let _ = writeln!(
            out,
            "impl Encode for {name} {{\n    fn encoded_size(&self, version: i16) -> Result<usize, EncodeError> {{\n{version_check_enc}        let flexible = {flexible};\n        let mut size = 0usize;"
        );
        for f in &plain {
            let ident = field_ident(f);
            let access = format!("self.{ident}");
            let compact = self.compact_expr(f, within);
            let size = if f.nullable.is_some() {
                size_nullable(&f.ty, &access, &compact, 0)
            } else {
                size_value(&f.ty, &access, &compact, 0)
            };
            self.emit_plain_field_step(out, def, f, &format!("size += {size};"))?;
        }
        if flexible_possible {
            out.push_str("        if flexible {\n            let mut tagged_count = self.unknown_tagged_fields.len();\n            let mut tagged_size = codec::unknown_tagged_size(self.unknown_tagged_fields.as_slice());\n");
            for f in &tagged {
                let (tag_versions, tag) = (f.tagged.unwrap_or(f.versions), f.tag.unwrap_or(0));
                let ident = field_ident(f);
                let access = format!("self.{ident}");
                let size = if f.nullable.is_some() {
                    size_nullable(&f.ty, &access, "true", 0)
                } else {
                    size_value(&f.ty, &access, "true", 0)
                };
                let is_default = is_default_expr(f, &access)?;
                let present = cond(tag_versions, within).unwrap_or_else(|| "true".into());
                let _ = writeln!(
                    out,
                    "            if {present} {{ if !({is_default}) {{ tagged_count += 1; tagged_size += codec::tagged_field_size({tag}, {size}); }} }}"
                );
                if !f.ignorable {
                    let _ = writeln!(
                        out,
                        "            else if !({is_default}) {{ return Err(EncodeError::FieldNotSupported {{ message: \"{name}\", field: \"{}\", version }}); }}",
                        f.name
                    );
                }
            }
            out.push_str("            size += codec::uvarint_len(tagged_count as u32) + tagged_size;\n        }\n");
        }
        out.push_str("        Ok(size)\n    }\n\n");

        // Encode: write.
        let _ = writeln!(
            out,
            "    fn encode<B: codec::WriteBuf>(&self, buf: &mut B, version: i16) -> Result<(), EncodeError> {{\n{version_check_enc}        let flexible = {flexible};"
        );
        for f in &plain {
            let ident = field_ident(f);
            let access = format!("self.{ident}");
            let compact = self.compact_expr(f, within);
            let put = self.put_field(f, &access, &compact, within);
            self.emit_plain_field_step(out, def, f, &put)?;
        }
        if flexible_possible {
            out.push_str("        if flexible {\n            let mut tagged_count = self.unknown_tagged_fields.len();\n");
            for f in &tagged {
                let tag_versions = f.tagged.unwrap_or(f.versions);
                let access = format!("self.{}", field_ident(f));
                let is_default = is_default_expr(f, &access)?;
                let present = cond(tag_versions, within).unwrap_or_else(|| "true".into());
                let _ = writeln!(
                    out,
                    "            if {present} && !({is_default}) {{ tagged_count += 1; }}"
                );
            }
            out.push_str("            codec::put_uvarint(buf, tagged_count as u32);\n            let mut next_unknown = 0usize;\n");
            for f in &tagged {
                let (tag_versions, tag) = (f.tagged.unwrap_or(f.versions), f.tag.unwrap_or(0));
                let access = format!("self.{}", field_ident(f));
                let is_default = is_default_expr(f, &access)?;
                let present = cond(tag_versions, within).unwrap_or_else(|| "true".into());
                let (size, put) = if f.nullable.is_some() {
                    (
                        size_nullable(&f.ty, &access, "true", 0),
                        put_nullable(&f.ty, &access, "true", 0),
                    )
                } else {
                    (
                        size_value(&f.ty, &access, "true", 0),
                        put_value(&f.ty, &access, "true", 0),
                    )
                };
                let _ = writeln!(
                    out,
                    "            codec::put_unknown_tagged_below(buf, self.unknown_tagged_fields.as_slice(), &mut next_unknown, {tag})?;\n            if {present} && !({is_default}) {{ codec::put_tagged_field_header(buf, {tag}, {size})?; {put} }}"
                );
            }
            out.push_str("            codec::put_unknown_tagged_below(buf, self.unknown_tagged_fields.as_slice(), &mut next_unknown, u64::MAX)?;\n            let _ = tagged_count;\n        }\n");
        }
        out.push_str("        Ok(())\n    }\n}\n\n");

        // Decode.
        let _ = writeln!(
            out,
            "impl Decode for {name} {{\n    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {{\n{version_check_dec}        let flexible = {flexible};"
        );
        for f in &plain {
            let ident = field_ident(f);
            let compact = self.compact_expr(f, within);
            let read = self.read_field(f, "buf", &compact, within);
            match cond(f.versions, within) {
                None => {
                    let _ = writeln!(out, "        let {ident} = {read};");
                }
                Some(c) => {
                    let _ = writeln!(
                        out,
                        "        let {ident} = if {c} {{ {read} }} else {{ {} }};",
                        default_expr(f)?
                    );
                }
            }
        }
        for f in &tagged {
            let _ = writeln!(
                out,
                "        let mut {} = {};",
                field_ident(f),
                default_expr(f)?
            );
        }
        if flexible_possible {
            out.push_str("        let mut unknown_tagged_fields = codec::UnknownTaggedFields::new();\n        if flexible {\n            let count = codec::get_tagged_count(buf)?;\n            let mut last_tag = None;\n            for _ in 0..count {\n                let (tag, mut data) = codec::get_tagged_field(buf, &mut last_tag)?;\n                match tag {\n");
            for f in &tagged {
                let (tag_versions, tag) = (f.tagged.unwrap_or(f.versions), f.tag.unwrap_or(0));
                let guard = cond(tag_versions, within)
                    .map(|c| format!(" if {c}"))
                    .unwrap_or_default();
                let read = self.read_field(f, "&mut data", "true", within);
                let _ = writeln!(
                    out,
                    "                    {tag}{guard} => {{ {} = {read}; codec::expect_empty(&data, \"{name}.{}\")?; }}",
                    field_ident(f),
                    f.name
                );
            }
            out.push_str("                    _ => unknown_tagged_fields.push(RawTaggedField { tag, data }),\n                }\n            }\n        }\n");
        } else {
            out.push_str("        let _ = flexible;\n");
        }
        out.push_str("        Ok(Self {\n");
        for f in &def.fields {
            let _ = writeln!(out, "            {},", field_ident(f));
        }
        if flexible_possible {
            out.push_str("            unknown_tagged_fields,\n");
        }
        out.push_str("        })\n    }\n}\n\n");

        self.emit_strategy(out, def, &plain, &tagged, flexible_possible)?;
        Ok(())
    }

    /// Emits `step` (sizing or writing a non-tagged field) for the versions that carry the
    /// field, after its null check; in the other versions a non-default value is an error
    /// unless the schema marks the field ignorable. Sizing and writing share this so the two
    /// can never disagree about which versions carry a field.
    fn emit_plain_field_step(
        &self,
        out: &mut String,
        def: &StructDef,
        f: &Field,
        step: &str,
    ) -> Result<(), String> {
        let null_check = self.null_check(def, f, def.versions);
        match cond(f.versions, def.versions) {
            None => {
                let _ = writeln!(out, "        {null_check}{step}");
            }
            Some(c) => {
                let _ = writeln!(out, "        if {c} {{ {null_check}{step} }}");
                if !f.ignorable {
                    let _ = writeln!(
                        out,
                        "        else if !({}) {{ return Err(EncodeError::FieldNotSupported {{ message: \"{}\", field: \"{}\", version }}); }}",
                        is_default_expr(f, &format!("self.{}", field_ident(f)))?,
                        def.name,
                        f.name
                    );
                }
            }
        }
        Ok(())
    }

    /// A statement that fails when a field is null in a version that cannot carry a null.
    fn null_check(&self, def: &StructDef, f: &Field, within: Versions) -> String {
        let Some(nullable) = f.nullable else {
            return String::new();
        };
        let Some(field_range) = f.versions.intersect(within) else {
            return String::new();
        };
        match cond(nullable, field_range) {
            None => String::new(),
            Some(c) => format!(
                "if !({c}) && self.{}.is_none() {{ return Err(EncodeError::NullNotAllowed {{ message: \"{}\", field: \"{}\", version }}); }} ",
                field_ident(f),
                def.name,
                f.name
            ),
        }
    }

    fn put_field(&self, f: &Field, access: &str, compact: &str, within: Versions) -> String {
        if f.nullable.is_none() {
            return put_value(&f.ty, access, compact, 0);
        }
        // Nullable structs carry a presence byte only in versions where they may be null.
        if let FieldType::Struct(_) = f.ty {
            let field_range = f.versions.intersect(within).unwrap_or(f.versions);
            if let Some(c) = f.nullable.and_then(|n| cond(n, field_range)) {
                let put_null = put_nullable(&f.ty, access, compact, 0);
                return format!(
                    "if {c} {{ {put_null} }} else if let Some(s) = &{access} {{ s.encode(buf, version)?; }}"
                );
            }
        }
        put_nullable(&f.ty, access, compact, 0)
    }

    fn read_field(&self, f: &Field, buf: &str, compact: &str, within: Versions) -> String {
        let Some(nullable) = f.nullable else {
            return read_value(&f.ty, buf, compact);
        };
        let field_range = f.versions.intersect(within).unwrap_or(f.versions);
        match cond(nullable, field_range) {
            None => read_nullable(&f.ty, buf, compact),
            Some(c) => format!(
                "if {c} {{ {} }} else {{ Some({}) }}",
                read_nullable(&f.ty, buf, compact),
                read_value(&f.ty, buf, compact)
            ),
        }
    }

    fn emit_strategy(
        &self,
        out: &mut String,
        def: &StructDef,
        plain: &[&Field],
        tagged: &[&Field],
        flexible_possible: bool,
    ) -> Result<(), String> {
        let within = def.versions;
        let name = &def.name;
        let mut strategies = Vec::new();
        for f in plain.iter().chain(tagged.iter()) {
            let present = f.tagged.unwrap_or(f.versions);
            let value = strategy_value(&f.ty);
            let live = match f.nullable {
                None => value,
                Some(n) => {
                    let field_range = f.versions.intersect(within).unwrap_or(f.versions);
                    match cond(n, field_range) {
                        None => format!("proptest::option::of({value}).boxed()"),
                        Some(c) => format!(
                            "if {c} {{ proptest::option::of({value}).boxed() }} else {{ {value}.prop_map(Some).boxed() }}"
                        ),
                    }
                }
            };
            let s = match cond(present, within) {
                None => live,
                Some(c) => format!(
                    "if {c} {{ {live} }} else {{ Just({}).boxed() }}",
                    default_expr(f)?
                ),
            };
            strategies.push((field_ident(f), s));
        }
        if flexible_possible {
            let flexible = self.flexible_cond(within);
            strategies.push((
                "unknown_tagged_fields".into(),
                format!("if {flexible} {{ codec::testing::unknown_tagged_strategy() }} else {{ Just(codec::UnknownTaggedFields::new()).boxed() }}"),
            ));
        }
        let _ = writeln!(
            out,
            "#[cfg(any(test, feature = \"arbitrary\"))]\nimpl ArbitraryMessage for {name} {{\n    fn arbitrary(version: i16) -> proptest::strategy::BoxedStrategy<Self> {{\n        use proptest::prelude::*;"
        );
        if strategies.is_empty() {
            out.push_str(
                "        let _ = version;\n        Just(Self::default()).boxed()\n    }\n}\n\n",
            );
            return Ok(());
        }
        // Proptest implements strategies for tuples of up to 12: group fields by 10.
        let chunks: Vec<&[(String, String)]> = strategies.chunks(10).collect();
        let mut tuple = String::from("(");
        let mut pattern = String::from("(");
        for chunk in &chunks {
            tuple.push('(');
            pattern.push('(');
            for (ident, s) in chunk.iter() {
                let _ = write!(tuple, "{s}, ");
                let _ = write!(pattern, "{ident}, ");
            }
            tuple.push_str("), ");
            pattern.push_str("), ");
        }
        tuple.push(')');
        pattern.push(')');
        let mut fields = String::new();
        for (ident, _) in &strategies {
            let _ = write!(fields, "{ident}, ");
        }
        let _ = writeln!(
            out,
            "        {tuple}.prop_map(|{pattern}| Self {{ {fields} }}).boxed()\n    }}\n}}\n\n"
        );
        Ok(())
    }

    /// The whole module for the schema.
    pub fn emit_module(&self) -> Result<String, String> {
        let schema = self.schema;
        let mut out = String::new();
        let kind = match schema.kind {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Header => "header",
            Kind::Data => "data schema",
        };
        let _ = writeln!(
            out,
            "//! `{}`: the {kind}{}, versions {}.\n//!\n//! Generated by `cargo xtask codegen` from `{}.json`; do not edit.\n",
            schema.name,
            schema
                .api_key
                .map(|k| format!(" of API key {k}"))
                .unwrap_or_default(),
            schema.valid.describe(),
            schema.name
        );
        out.push_str(concat!(
            "#![allow(unused_mut, unused_variables, unused_imports, unused_parens, unreachable_patterns)]\n",
            "#![allow(clippy::all)]\n\n",
            "use bytes::{BufMut, Bytes, BytesMut};\n\n",
            "use crate::codec::{self, Decode, Encode, Message, RawTaggedField, StrBytes, Uuid, VersionRange};\n",
            "#[cfg(any(test, feature = \"arbitrary\"))]\n",
            "use crate::codec::ArbitraryMessage;\n",
            "use crate::{ApiKey, DecodeError, EncodeError};\n\n",
        ));
        for (i, def) in schema.structs.iter().enumerate() {
            if RESERVED_NAMES.contains(&def.name.as_str()) {
                return Err(format!("struct name {} clashes with an import", def.name));
            }
            self.emit_struct(&mut out, def, i == 0)?;
        }
        let name = &schema.name;
        let flexible = schema
            .flexible
            .map_or("None".into(), |f| format!("Some({})", f.min));
        let _ = writeln!(
            out,
            "impl Message for {name} {{\n    const NAME: &'static str = \"{name}\";\n    const VERSIONS: VersionRange = VersionRange::new({}, {});\n    const FLEXIBLE_FROM: Option<i16> = {flexible};\n}}\n",
            schema.valid.min, schema.valid.max
        );
        if let (Some(key), Some(api)) = (schema.api_key, super::schema::api_name(schema)) {
            let konst = super::schema::screaming_case(&api);
            match schema.kind {
                Kind::Request => {
                    let _ = writeln!(
                        out,
                        "impl crate::codec::RequestMessage for {name} {{\n    const API_KEY: ApiKey = ApiKey::{konst};\n    type Response = super::{api}Response;\n}}\n"
                    );
                }
                Kind::Response => {
                    let _ = writeln!(
                        out,
                        "impl crate::codec::ResponseMessage for {name} {{\n    const API_KEY: ApiKey = ApiKey::{konst};\n}}\n"
                    );
                }
                _ => {}
            }
            let _ = key;
        }
        let _ = writeln!(
            out,
            "#[cfg(test)]\nmod tests {{\n    #[test]\n    fn round_trip_every_version() {{\n        crate::codec::testing::check_round_trip::<super::{name}>();\n    }}\n}}"
        );
        Ok(out)
    }
}
