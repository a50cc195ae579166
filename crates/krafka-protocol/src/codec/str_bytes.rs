//! `StrBytes`: a UTF-8 checked view into a received buffer.
//!
//! Kafka strings (topic names, group ids, client ids) arrive inside large response buffers.
//! Copying each into a `String` would allocate per field; `StrBytes` keeps a reference-counted
//! slice of the buffer instead and checks UTF-8 once, when it is made.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;

/// An immutable UTF-8 string that shares its storage with a `Bytes` buffer.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StrBytes(Bytes);

impl StrBytes {
    /// The empty string; no allocation.
    pub const fn new() -> Self {
        Self(Bytes::new())
    }

    /// Wraps bytes after checking that they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// A string with static storage; no allocation.
    pub const fn from_static_str(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Takes ownership of a `String` without copying it.
    pub fn from_string(s: String) -> Self {
        Self(Bytes::from(s))
    }

    /// The string.
    #[inline]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor either checks UTF-8 (`from_utf8`) or starts from a `str`
        // (`from_static_str`, `from_string`), and the bytes are immutable afterwards.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for StrBytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for StrBytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for StrBytes {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Copies the string (use [`StrBytes::from_static_str`] for a literal, which does not).
impl From<&str> for StrBytes {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for StrBytes {
    fn from(s: String) -> Self {
        Self::from_string(s)
    }
}

impl PartialEq<str> for StrBytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for StrBytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for StrBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StrBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_utf8_and_shares_storage() {
        assert!(StrBytes::from_utf8(Bytes::from_static(&[0xff])).is_err());
        let buf = Bytes::from_static(b"orders");
        let s = StrBytes::from_utf8(buf.clone()).unwrap();
        assert_eq!(s, "orders");
        assert_eq!(s.as_bytes().as_ptr(), buf.as_ptr());
    }
}
