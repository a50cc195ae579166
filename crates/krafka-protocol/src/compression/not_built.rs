//! The stand-in for a codec this build leaves out (zstd without the `zstd` feature): batches
//! that use it fail with a clear error naming the feature, never a panic.

use bytes::{Bytes, BytesMut};

use super::codec::CompressionCodec;
use crate::{DecodeError, EncodeError};

/// A codec that is not compiled in.
#[derive(Debug)]
pub(crate) struct NotBuilt {
    pub codec: &'static str,
    pub feature: &'static str,
}

impl CompressionCodec for NotBuilt {
    fn compress(
        &self,
        _input: &[u8],
        _level: Option<i32>,
        _out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::CodecNotBuilt {
            codec: self.codec,
            feature: self.feature,
        })
    }

    fn decompress(&self, _input: &[u8], _max_output: usize) -> Result<Bytes, DecodeError> {
        Err(DecodeError::CodecNotBuilt {
            codec: self.codec,
            feature: self.feature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codec_left_out_is_an_error_naming_its_feature() {
        let codec = NotBuilt {
            codec: "zstd",
            feature: "zstd",
        };
        let decoded = codec.decompress(b"\x28\xb5\x2f\xfd", 1024).unwrap_err();
        assert_eq!(
            decoded.to_string(),
            "zstd is not built into this client (enable krafka's `zstd` feature)"
        );
        let mut out = BytesMut::new();
        assert!(matches!(
            codec.compress(b"x", None, &mut out),
            Err(EncodeError::CodecNotBuilt { codec: "zstd", .. })
        ));
    }
}
