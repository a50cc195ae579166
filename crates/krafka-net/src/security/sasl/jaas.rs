//! Java's `sasl.jaas.config`: one JAAS login module entry, parsed without trusting the text.
//!
//! `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice"
//! password="secret";` is a module class, a control flag, `key=value` options (values quoted
//! with `"`, in which `\` escapes the next character, or bare words) and a closing `;`. Kafka
//! takes exactly one module; so does this parser. Option values are kept as [`Secret`]s, since
//! `password` is one; errors never quote a value.

use std::fmt;

use crate::security::Secret;

/// The login modules Krafka understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginModule {
    /// `org.apache.kafka.common.security.plain.PlainLoginModule`.
    Plain,
    /// `org.apache.kafka.common.security.scram.ScramLoginModule`.
    Scram,
    /// `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule`.
    OAuthBearer,
}

/// A parsed `sasl.jaas.config`.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    /// The login module.
    pub module: LoginModule,
    /// Its options in order.
    pub options: Vec<(String, Secret)>,
}

impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("JaasConfig")
            .field("module", &self.module)
            .field("option_keys", &keys)
            .finish()
    }
}

/// Why a `sasl.jaas.config` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasError(pub String);

impl fmt::Display for JaasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JaasError {}

impl JaasConfig {
    /// Parses one login module entry.
    pub fn parse(text: &str) -> Result<Self, JaasError> {
        let mut tokens = Tokens::new(text);
        let class = match tokens.next()? {
            Some(Token::Word(w)) => w,
            _ => return Err(JaasError("expected a login module class name".into())),
        };
        let module = match class.rsplit('.').next().unwrap_or(&class) {
            "PlainLoginModule" => LoginModule::Plain,
            "ScramLoginModule" => LoginModule::Scram,
            "OAuthBearerLoginModule" => LoginModule::OAuthBearer,
            _ => {
                return Err(JaasError(format!(
                    "unknown login module '{class}' (Krafka knows PlainLoginModule, ScramLoginModule and OAuthBearerLoginModule)"
                )));
            }
        };
        match tokens.next()? {
            Some(Token::Word(flag))
                if ["required", "requisite", "sufficient", "optional"]
                    .contains(&flag.to_ascii_lowercase().as_str()) => {}
            _ => {
                return Err(JaasError(format!(
                    "expected a control flag (required) after {class}"
                )));
            }
        }
        let mut options = Vec::new();
        loop {
            match tokens.next()? {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key)) => {
                    if tokens.next()? != Some(Token::Equals) {
                        return Err(JaasError(format!("option '{key}' has no '='")));
                    }
                    let value = match tokens.next()? {
                        Some(Token::Word(v) | Token::Quoted(v)) => v,
                        _ => return Err(JaasError(format!("option '{key}' has no value"))),
                    };
                    options.push((key, Secret::new(value)));
                }
                None => return Err(JaasError("missing ';' at the end".into())),
                Some(_) => return Err(JaasError("expected key=value or ';'".into())),
            }
        }
        if tokens.next()?.is_some() {
            return Err(JaasError(
                "more than one login module (Kafka takes exactly one)".into(),
            ));
        }
        Ok(Self { module, options })
    }

    /// The value of option `key`.
    pub fn option(&self, key: &str) -> Option<&Secret> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The `username` and `password` options, both required.
    pub fn credentials(&self) -> Result<(String, Secret), JaasError> {
        let user = self
            .option("username")
            .ok_or_else(|| JaasError("the login module has no username option".into()))?;
        let password = self
            .option("password")
            .ok_or_else(|| JaasError("the login module has no password option".into()))?;
        Ok((user.expose().to_owned(), password.clone()))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

struct Tokens<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
        }
    }

    fn next(&mut self) -> Result<Option<Token>, JaasError> {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(c) = self.chars.next() else {
            return Ok(None);
        };
        match c {
            '=' => Ok(Some(Token::Equals)),
            ';' => Ok(Some(Token::Semicolon)),
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                loop {
                    match self.chars.next() {
                        None => return Err(JaasError("a quoted value is not closed".into())),
                        Some('\\') => match self.chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(JaasError("a quoted value is not closed".into())),
                        },
                        Some(q) if q == quote => return Ok(Some(Token::Quoted(value))),
                        Some(other) => value.push(other),
                    }
                }
            }
            c => {
                let mut word = String::from(c);
                while let Some(c) = self
                    .chars
                    .next_if(|c| !c.is_whitespace() && !matches!(c, '=' | ';' | '"' | '\''))
                {
                    word.push(c);
                }
                Ok(Some(Token::Word(word)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_with_quoted_credentials() {
        let j = JaasConfig::parse(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a\"b;c";"#,
        )
        .unwrap();
        assert_eq!(j.module, LoginModule::Scram);
        let (user, password) = j.credentials().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("alice", "a\"b;c"));
        assert!(!format!("{j:?}").contains("a\"b"));
    }

    #[test]
    fn plain_over_several_lines_and_bare_values() {
        let j = JaasConfig::parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required\n  username=bob\n  password='x y';",
        )
        .unwrap();
        assert_eq!(j.module, LoginModule::Plain);
        assert_eq!(j.credentials().unwrap().1.expose(), "x y");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let err = |t: &str| JaasConfig::parse(t).unwrap_err().0;
        assert!(
            err("com.example.KerberosLoginModule required;")
                .contains("com.example.KerberosLoginModule")
        );
        assert!(err("x.PlainLoginModule username=\"a\";").contains("control flag"));
        assert!(err("x.PlainLoginModule required username=\"a\"").contains("';'"));
        assert!(err("x.PlainLoginModule required username=\"a;").contains("not closed"));
        assert!(err("x.PlainLoginModule required username;").contains("no '='"));
        assert!(
            err("x.PlainLoginModule required a=b; y.PlainLoginModule required;")
                .contains("exactly one")
        );
        assert!(err("").contains("class name"));
        let j = JaasConfig::parse("x.PlainLoginModule required username=a;").unwrap();
        assert!(j.credentials().unwrap_err().0.contains("password"));
    }
}
