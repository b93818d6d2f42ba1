//! UTF-16LE text, the encoding of registry strings, `.reg` exports, media files and PowerShell
//! `-EncodedCommand` payloads. One decoder for every format module.

/// The UTF-16 code units of little-endian bytes; `None` for an odd byte count.
pub fn utf16le_units(bytes: &[u8]) -> Option<Vec<u16>> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            // chunks_exact(2) yields exactly two bytes per chunk.
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// Decodes UTF-16LE strictly: `None` for an odd byte count or an unpaired surrogate.
pub fn decode_utf16le(bytes: &[u8]) -> Option<String> {
    String::from_utf16(&utf16le_units(bytes)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_rejects() {
        assert_eq!(decode_utf16le(b"h\0i\0").as_deref(), Some("hi"));
        assert_eq!(decode_utf16le(b"h\0i"), None);
        // An unpaired high surrogate (0xD800).
        assert_eq!(decode_utf16le(&[0x00, 0xD8]), None);
        assert_eq!(
            utf16le_units(&[0x3D, 0xD8, 0x00, 0xDE]),
            Some(vec![0xD83D, 0xDE00])
        );
    }
}
