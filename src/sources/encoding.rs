//! The text encoding of a file, told once for every text input (event XML, Event Viewer text,
//! slmgr output): a BOM through `encoding_rs`, else the zero bytes UTF-16 puts where ASCII would
//! be, else UTF-8 (and Windows-1252 for bytes that are not UTF-8, as `cmd` redirects write them).

use encoding_rs::Encoding;
use std::borrow::Cow;

/// The encodings Windows writes text logs and console output in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// What the first bytes of a file say about its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    pub encoding: TextEncoding,
    /// Length of the byte-order mark the file starts with (0 without one).
    pub bom_len: usize,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
        }
    }

    /// The decoder a UTF-16 file needs; `None` for UTF-8, which parsers read as it is.
    pub fn utf16_decoder(self) -> Option<&'static Encoding> {
        match self {
            Self::Utf8 => None,
            Self::Utf16Le => Some(encoding_rs::UTF_16LE),
            Self::Utf16Be => Some(encoding_rs::UTF_16BE),
        }
    }

    fn encoding_rs(self) -> &'static Encoding {
        self.utf16_decoder().unwrap_or(encoding_rs::UTF_8)
    }
}

impl Detected {
    pub fn has_bom(self) -> bool {
        self.bom_len > 0
    }
}

/// The encoding of a file from its first bytes (a few hundred are enough).
pub fn detect(head: &[u8]) -> Detected {
    if let Some((enc, bom_len)) = Encoding::for_bom(head) {
        let encoding = if enc == encoding_rs::UTF_16LE {
            TextEncoding::Utf16Le
        } else if enc == encoding_rs::UTF_16BE {
            TextEncoding::Utf16Be
        } else {
            TextEncoding::Utf8
        };
        return Detected { encoding, bom_len };
    }
    let encoding = utf16_by_zeros(head).unwrap_or(TextEncoding::Utf8);
    Detected {
        encoding,
        bom_len: 0,
    }
}

/// UTF-16 without a BOM: nine in ten of one byte of each pair zero, almost none of the other.
fn utf16_by_zeros(head: &[u8]) -> Option<TextEncoding> {
    let head = &head[..head.len().min(4096)];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zero_odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let zero_even = head.iter().step_by(2).filter(|b| **b == 0).count();
    if zero_odd * 10 >= pairs * 9 && zero_even * 10 < pairs {
        Some(TextEncoding::Utf16Le)
    } else if zero_even * 10 >= pairs * 9 && zero_odd * 10 < pairs {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

/// A whole text file as text, whatever Windows wrote it in.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let d = detect(bytes);
    decode_as(&bytes[d.bom_len..], d.encoding)
}

/// Bytes known to be in `encoding` (without their BOM) as text; invalid sequences become U+FFFD,
/// and UTF-8 that is not valid is read as Windows-1252 (an ANSI console redirect).
pub fn decode_as(bytes: &[u8], encoding: TextEncoding) -> Cow<'_, str> {
    if encoding == TextEncoding::Utf8 && std::str::from_utf8(bytes).is_err() {
        return encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0;
    }
    encoding.encoding_rs().decode_without_bom_handling(bytes).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = if bom { "\u{feff}" } else { "" }
            .encode_utf16()
            .chain(s.encode_utf16());
        for u in units {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    #[test]
    fn every_shape_windows_writes_decodes_to_the_same_text() {
        let text = "License Status: Licensed\r\nKMS machine name: kms01 (Zürich)\r\n";
        let mut utf8_bom = b"\xEF\xBB\xBF".to_vec();
        utf8_bom.extend(text.as_bytes());
        let shapes: [(Vec<u8>, TextEncoding, usize); 6] = [
            (text.as_bytes().to_vec(), TextEncoding::Utf8, 0),
            (utf8_bom, TextEncoding::Utf8, 3),
            (utf16(text, true, true), TextEncoding::Utf16Le, 2),
            (utf16(text, true, false), TextEncoding::Utf16Le, 0),
            (utf16(text, false, true), TextEncoding::Utf16Be, 2),
            // The case the slmgr and text readers used to read as UTF-8.
            (utf16(text, false, false), TextEncoding::Utf16Be, 0),
        ];
        for (bytes, encoding, bom_len) in shapes {
            assert_eq!(detect(&bytes), Detected { encoding, bom_len });
            assert_eq!(decode(&bytes), text, "{encoding:?} bom {bom_len}");
        }
    }

    #[test]
    fn ansi_console_output_is_read_as_windows_1252() {
        assert_eq!(decode(b"Name: Z\xFCrich\r\n"), "Name: Zürich\r\n");
    }

    #[test]
    fn binary_data_is_not_taken_for_utf16() {
        assert_eq!(detect(&[0u8; 64]).encoding, TextEncoding::Utf8);
        assert_eq!(detect(b"A").encoding, TextEncoding::Utf8);
    }
}
