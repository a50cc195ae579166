//! The text of a Java `.properties` file, read as `java.util.Properties.load` reads it:
//! `key=value`, `key: value` or `key value`; `#` and `!` comment lines; a line ending in an odd
//! number of backslashes continues on the next (whose leading whitespace is dropped); escapes
//! `\t \n \r \f \uXXXX` and `\` before any other character for that character. A later key
//! replaces an earlier one.

use super::lookup::PropertyError;

/// The key/value pairs of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, PropertyError> {
    let mut pairs = Vec::new();
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .peekable();
    let mut line_no = 0usize;
    while let Some(first) = lines.next() {
        line_no += 1;
        let start = first.trim_start_matches([' ', '\t', '\x0c']);
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        // Join the continuation lines into one logical line.
        let mut logical = String::from(start);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => {
                    line_no += 1;
                    logical.push_str(next.trim_start_matches([' ', '\t', '\x0c']));
                }
                None => break,
            }
        }
        let (key, value) = split(&logical);
        let key = unescape(key).map_err(|reason| PropertyError {
            key: format!("line {line_no}"),
            reason,
        })?;
        let value = unescape(value).map_err(|reason| PropertyError {
            key: key.clone(),
            reason,
        })?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace; the separator and the
/// whitespace around it are dropped.
fn split(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let key_end = i.min(bytes.len());
    let mut rest = &line[key_end..];
    rest = rest.trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (&line[..key_end], rest)
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed \\uXXXX escape '\\u{hex}'"))?;
                // A surrogate pair is two escapes; join them.
                if (0xd800..0xdc00).contains(&code) {
                    let rest: String = chars.clone().take(6).collect();
                    let low = rest
                        .strip_prefix("\\u")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .filter(|l| (0xdc00..0xe000).contains(l))
                        .ok_or("a \\u surrogate escape without its pair")?;
                    chars.by_ref().take(6).for_each(drop);
                    let joined = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    out.push(char::from_u32(joined).ok_or("invalid \\u escape")?);
                } else {
                    out.push(char::from_u32(code).ok_or("invalid \\u escape")?);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        assert_eq!(
            pairs("# c\n! c\n\n a=1\nb : 2\nc 3\nd\ne=\n  f  =  x y  "),
            [
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", ""),
                ("e", ""),
                ("f", "x y  ")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn continuation_lines() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    username=\"alice\" \\\n    password=\"alice-secret\";\nnext=1\r\n";
        let p = pairs(text);
        assert_eq!(
            p[0].1,
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"alice-secret\";"
        );
        assert_eq!(p[1], ("next".into(), "1".into()));
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(pairs("a=x\\\\\nb=y").len(), 2);
        assert_eq!(pairs("a=x\\\\\nb=y")[0].1, "x\\");
    }

    #[test]
    fn escapes() {
        let p = pairs("k\\=ey\\ a=v\\tw\\u00e9\\q\nsmile=\\ud83d\\ude00");
        assert_eq!(p[0], ("k=ey a".into(), "v\twéq".into()));
        assert_eq!(p[1].1, "😀");
        assert!(parse("a=\\u12").is_err());
        assert!(parse("a=\\uzzzz").is_err());
        assert!(parse("a=\\ud83d").is_err());
    }

    /// Java's `Properties.store` escaping, for the round trip.
    fn escape(s: &str, is_key: bool) -> String {
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0c' => out.push_str("\\f"),
                '=' | ':' | '#' | '!' => {
                    out.push('\\');
                    out.push(c);
                }
                ' ' if is_key || i == 0 => out.push_str("\\ "),
                c => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn stored_pairs_read_back(key in "\\PC{1,20}", value in "\\PC{0,40}") {
            let text = format!("{}={}\n", escape(&key, true), escape(&value, false));
            let parsed = parse(&text).unwrap();
            proptest::prop_assert_eq!(parsed, vec![(key, value)]);
        }

        #[test]
        fn any_text_is_a_result(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }
    }
}
