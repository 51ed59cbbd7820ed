//! What a file is, told from its first bytes (never from its name).

use crate::ingest::xml::XmlEncoding;

/// Bytes read from the start of every source to tell its kind.
pub const HEAD_LEN: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Evtx,
    Zip,
    Xml {
        encoding: XmlEncoding,
        bom: bool,
    },
    /// Windows XP/2003 `.evt` (`LfLe`).
    LegacyEvt,
    /// `slmgr.vbs /dlv` or `/dli` output.
    Slmgr,
    /// Event Viewer "Copy details as text" rendering.
    EventText,
    Empty,
    /// Anything else, with what it looked like.
    Unknown(String),
}

impl Sniffed {
    pub fn name(&self) -> &'static str {
        match self {
            Sniffed::Evtx => "evtx",
            Sniffed::Zip => "zip",
            Sniffed::Xml { .. } => "xml",
            Sniffed::LegacyEvt => "evt",
            Sniffed::Slmgr => "slmgr",
            Sniffed::EventText => "text",
            Sniffed::Empty => "empty",
            Sniffed::Unknown(_) => "other",
        }
    }
}

pub fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Empty;
    }
    if head.starts_with(b"ElfFile\0") {
        return Sniffed::Evtx;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Sniffed::Zip;
    }
    if head.len() >= 8 && &head[4..8] == b"LfLe" {
        return Sniffed::LegacyEvt;
    }
    // Archives kmslens does not open: say how to get at what they hold.
    for (magic, what) in [
        (
            &b"MSCF"[..],
            "CAB archive (licensingdiag writes one): extract it with `expand -F:* FILE.cab DIR` and add the folder",
        ),
        (
            &b"7z\xBC\xAF\x27\x1C"[..],
            "7-Zip archive: extract it, or re-pack the bundle as .zip",
        ),
        (
            &b"Rar!\x1A\x07"[..],
            "RAR archive: extract it, or re-pack the bundle as .zip",
        ),
        (&b"\x1F\x8B"[..], "gzip file: decompress it first"),
    ] {
        if head.starts_with(magic) {
            return Sniffed::Unknown(what.into());
        }
    }
    let (text, encoding, bom) = decode_head(head);
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if body.starts_with('<') {
        if body.contains("<Event") {
            return Sniffed::Xml { encoding, bom };
        }
        return Sniffed::Unknown("XML without Windows event elements in its first 4 KiB".into());
    }
    if body.starts_with('{') || body.starts_with('[') {
        return Sniffed::Unknown("JSON document, not an event log".into());
    }
    if is_slmgr(body) {
        return Sniffed::Slmgr;
    }
    if body.contains("Log Name:") && body.contains("Event ID:") {
        return Sniffed::EventText;
    }
    let printable = body
        .chars()
        .take(512)
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    if printable * 10 >= body.chars().take(512).count() * 9 {
        Sniffed::Unknown("text that is neither an event export nor slmgr output".into())
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02X}")).collect();
        Sniffed::Unknown(format!(
            "binary data of unknown format (starts {})",
            hex.join(" ")
        ))
    }
}

fn is_slmgr(text: &str) -> bool {
    // English and German labels, and what any language keeps: the CMID acronym, channel names.
    const MARKERS: [&str; 9] = [
        "Software licensing service version",
        "License Status:",
        "Lizenzstatus:",
        "Key Management Service client information",
        "Key Management Service is enabled on this machine",
        "(CMID)",
        "VOLUME_KMS",
        "Volume:GVLK",
        "Volume:CSVLK",
    ];
    MARKERS.iter().any(|m| text.contains(m))
}

/// Decodes the head as UTF-8 or UTF-16 (BOM, or zero bytes where ASCII would be).
fn decode_head(head: &[u8]) -> (String, XmlEncoding, bool) {
    if let Some(rest) = head.strip_prefix(b"\xEF\xBB\xBF") {
        return (
            String::from_utf8_lossy(rest).into_owned(),
            XmlEncoding::Utf8,
            true,
        );
    }
    if let Some(rest) = head.strip_prefix(b"\xFF\xFE") {
        return (utf16(rest, true), XmlEncoding::Utf16Le, true);
    }
    if let Some(rest) = head.strip_prefix(b"\xFE\xFF") {
        return (utf16(rest, false), XmlEncoding::Utf16Be, true);
    }
    let pairs = head.len() / 2;
    if pairs >= 2 {
        let zero_odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
        let zero_even = head.iter().step_by(2).filter(|b| **b == 0).count();
        if zero_odd * 10 >= pairs * 9 && zero_even * 10 < pairs {
            return (utf16(head, true), XmlEncoding::Utf16Le, false);
        }
        if zero_even * 10 >= pairs * 9 && zero_odd * 10 < pairs {
            return (utf16(head, false), XmlEncoding::Utf16Be, false);
        }
    }
    (
        String::from_utf8_lossy(head).into_owned(),
        XmlEncoding::Utf8,
        false,
    )
}

fn utf16(bytes: &[u8], le: bool) -> String {
    let units = bytes.chunks_exact(2).map(|p| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        v
    }

    #[test]
    fn kinds_by_content() {
        assert_eq!(sniff(b"ElfFile\0\0\0"), Sniffed::Evtx);
        assert_eq!(sniff(b"PK\x03\x04...."), Sniffed::Zip);
        assert_eq!(sniff(b"\x30\0\0\0LfLe\x01\0"), Sniffed::LegacyEvt);
        assert_eq!(sniff(b""), Sniffed::Empty);
        let x = Sniffed::Xml {
            encoding: XmlEncoding::Utf8,
            bom: false,
        };
        assert_eq!(
            sniff(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"),
            x
        );
        assert_eq!(sniff(b"\r\n  <?xml version=\"1.0\"?><Events><Event>"), x);
        assert_eq!(
            sniff(b"\xEF\xBB\xBF<Events>"),
            Sniffed::Xml {
                encoding: XmlEncoding::Utf8,
                bom: true
            }
        );
        assert_eq!(
            sniff(&le("<Event xmlns='x'>", true)),
            Sniffed::Xml {
                encoding: XmlEncoding::Utf16Le,
                bom: true
            }
        );
        assert_eq!(
            sniff(&le("<Event xmlns='x'>", false)),
            Sniffed::Xml {
                encoding: XmlEncoding::Utf16Le,
                bom: false
            }
        );
        assert_eq!(
            sniff(&le("Name: Windows\r\nLicense Status: Licensed\r\n", true)),
            Sniffed::Slmgr
        );
        assert_eq!(
            sniff(b"Log Name: Application\r\nSource: x\r\nEvent ID: 12288\r\n"),
            Sniffed::EventText
        );
        assert!(matches!(sniff(b"<html><body>"), Sniffed::Unknown(_)));
        assert!(matches!(sniff(b"MSCF\0\0\0\0"), Sniffed::Unknown(m) if m.contains("expand")));
        assert!(
            matches!(sniff(b"MZ\x90\0\x03\0\0\0\x04\0"), Sniffed::Unknown(m) if m.contains("4D 5A"))
        );
    }
}
