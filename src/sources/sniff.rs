//! What a file is, told from its first bytes (never from its name).

use super::encoding::{self, Detected};

/// Bytes read from the start of every source to tell its kind.
pub const HEAD_LEN: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Evtx,
    Zip,
    Xml(Detected),
    /// Windows XP/2003 `.evt` (`LfLe`).
    LegacyEvt,
    /// `slmgr.vbs /dlv` or `/dli` output.
    Slmgr(Detected),
    /// Event Viewer "Copy details as text" rendering.
    EventText(Detected),
    /// A command output the collection script saves beside the logs.
    Probe(ProbeKind, Detected),
    Empty,
    /// Anything else, with what it looked like.
    Unknown(String),
}

/// Command outputs `scripts/collect-kms-bundle.ps1` saves beside the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `nslookup -type=srv _vlmcs._tcp.<domain>`.
    Srv,
    /// `w32tm /query /status`.
    Time,
    /// The script's `timezone.txt`.
    Zone,
}

/// What a source is, as the reports and the analysis tell sources apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Evtx,
    Xml,
    /// Event Viewer text rendering.
    Text,
    Slmgr,
    /// `nslookup` answer for the KMS SRV record.
    Nslookup,
    /// `w32tm /query /status` output.
    W32tm,
    /// The collection script's `timezone.txt`.
    TimeZone,
    Zip,
    /// Windows XP/2003 `.evt`.
    Evt,
    Empty,
    Other,
    /// A path given that could not be walked.
    Path,
    /// A file that could not be opened or sniffed.
    File,
    /// An archive entry that could not be opened.
    ZipEntry,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Evtx => "evtx",
            Self::Xml => "xml",
            Self::Text => "text",
            Self::Slmgr => "slmgr",
            Self::Nslookup => "nslookup",
            Self::W32tm => "w32tm",
            Self::TimeZone => "timezone",
            Self::Zip => "zip",
            Self::Evt => "evt",
            Self::Empty => "empty",
            Self::Other => "other",
            Self::Path => "path",
            Self::File => "file",
            Self::ZipEntry => "zip entry",
        }
    }

    /// An event log export: EVTX, XML or Event Viewer text.
    pub fn is_event_log(self) -> bool {
        matches!(self, Self::Evtx | Self::Xml | Self::Text)
    }

    /// A command's output saved beside the logs: it names no machine of its own.
    pub fn is_command_output(self) -> bool {
        matches!(
            self,
            Self::Slmgr | Self::Nslookup | Self::W32tm | Self::TimeZone
        )
    }

    /// Anything the analysis reads facts from: event logs and slmgr output.
    pub fn is_analysed(self) -> bool {
        self.is_event_log() || self == Self::Slmgr
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Sniffed {
    pub fn kind(&self) -> SourceKind {
        match self {
            Sniffed::Evtx => SourceKind::Evtx,
            Sniffed::Zip => SourceKind::Zip,
            Sniffed::Xml(_) => SourceKind::Xml,
            Sniffed::LegacyEvt => SourceKind::Evt,
            Sniffed::Slmgr(_) => SourceKind::Slmgr,
            Sniffed::EventText(_) => SourceKind::Text,
            Sniffed::Probe(ProbeKind::Srv, _) => SourceKind::Nslookup,
            Sniffed::Probe(ProbeKind::Time, _) => SourceKind::W32tm,
            Sniffed::Probe(ProbeKind::Zone, _) => SourceKind::TimeZone,
            Sniffed::Empty => SourceKind::Empty,
            Sniffed::Unknown(_) => SourceKind::Other,
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
    let detected = encoding::detect(head);
    let text = encoding::decode_as(&head[detected.bom_len..], detected.encoding);
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if body.starts_with('<') {
        if body.contains("<Event") {
            return Sniffed::Xml(detected);
        }
        return Sniffed::Unknown("XML without Windows event elements in its first 4 KiB".into());
    }
    if body.starts_with('{') || body.starts_with('[') {
        return Sniffed::Unknown("JSON document, not an event log".into());
    }
    if is_slmgr(body) {
        return Sniffed::Slmgr(detected);
    }
    if body.contains("Log Name:") && body.contains("Event ID:") {
        return Sniffed::EventText(detected);
    }
    if let Some(kind) = probe(body) {
        return Sniffed::Probe(kind, detected);
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

fn probe(text: &str) -> Option<ProbeKind> {
    // nslookup's own lines, not just the name: notes that mention the record are not answers.
    let nslookup = text.contains("svr hostname")
        || text.contains("*** ")
        || text.contains("Server:") && text.contains("Address:");
    if nslookup && text.to_ascii_lowercase().contains("_vlmcs._tcp") {
        Some(ProbeKind::Srv)
    } else if text.contains("Leap Indicator:") && text.contains("Stratum:")
        || text.starts_with("The following error occurred:")
    {
        Some(ProbeKind::Time)
    } else if text.starts_with("Time zone:") && text.contains("UTC offset:") {
        Some(ProbeKind::Zone)
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::encoding::TextEncoding;

    fn le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        v
    }

    fn xml(encoding: TextEncoding, bom_len: usize) -> Sniffed {
        Sniffed::Xml(Detected { encoding, bom_len })
    }

    #[test]
    fn kinds_by_content() {
        assert_eq!(sniff(b"ElfFile\0\0\0"), Sniffed::Evtx);
        assert_eq!(sniff(b"PK\x03\x04...."), Sniffed::Zip);
        assert_eq!(sniff(b"\x30\0\0\0LfLe\x01\0"), Sniffed::LegacyEvt);
        assert_eq!(sniff(b""), Sniffed::Empty);
        let x = xml(TextEncoding::Utf8, 0);
        assert_eq!(
            sniff(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"),
            x
        );
        assert_eq!(sniff(b"\r\n  <?xml version=\"1.0\"?><Events><Event>"), x);
        assert_eq!(sniff(b"\xEF\xBB\xBF<Events>"), xml(TextEncoding::Utf8, 3));
        assert_eq!(
            sniff(&le("<Event xmlns='x'>", true)),
            xml(TextEncoding::Utf16Le, 2)
        );
        assert_eq!(
            sniff(&le("<Event xmlns='x'>", false)),
            xml(TextEncoding::Utf16Le, 0)
        );
        assert_eq!(
            sniff(&le("Name: Windows\r\nLicense Status: Licensed\r\n", true)).kind(),
            SourceKind::Slmgr
        );
        assert_eq!(
            sniff(b"Log Name: Application\r\nSource: x\r\nEvent ID: 12288\r\n").kind(),
            SourceKind::Text
        );
        assert!(matches!(sniff(b"<html><body>"), Sniffed::Unknown(_)));
        // What the collection script writes beside the logs is named, not "unknown text".
        let srv = le(
            "> nslookup -type=srv _vlmcs._tcp.contoso.com\r\nServer:  dc01\r\nAddress:  10.0.0.1\r\n",
            true,
        );
        assert_eq!(sniff(&srv).kind(), SourceKind::Nslookup);
        let notes = b"Checked the _vlmcs._tcp record by hand, looks fine.\r\n";
        assert!(matches!(sniff(notes), Sniffed::Unknown(_)));
        let w32tm = le("Leap Indicator: 0(no warning)\r\nStratum: 3\r\n", true);
        assert_eq!(sniff(&w32tm).kind(), SourceKind::W32tm);
        let zone = le(
            "Time zone: W. Europe Standard Time\r\nUTC offset: 02:00:00\r\n",
            true,
        );
        assert_eq!(sniff(&zone).kind(), SourceKind::TimeZone);
        assert!(matches!(sniff(b"MSCF\0\0\0\0"), Sniffed::Unknown(m) if m.contains("expand")));
        assert!(
            matches!(sniff(b"MZ\x90\0\x03\0\0\0\x04\0"), Sniffed::Unknown(m) if m.contains("4D 5A"))
        );
    }
}
