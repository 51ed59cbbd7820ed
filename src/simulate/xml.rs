//! Writes a log as exported XML, in the shapes support engineers send (§9.4): a `wevtutil qe
//! /f:xml` stream (no root, single quotes, UTF-8) or an Event Viewer "Save as XML" file
//! (`<Events>` root, double quotes, UTF-16LE with BOM).

use super::model::{SimEvent, SimLog};
use super::rng::Rng;

const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn event_xml(e: &SimEvent, record_id: u64, log: &SimLog, q: char) -> String {
    let time = e.time.strftime("%Y-%m-%dT%H:%M:%S.%7fZ");
    let data: String = e
        .data
        .iter()
        .map(|d| format!("<Data>{}</Data>", esc(d)))
        .collect();
    let binary = e
        .binary
        .as_ref()
        .map(|b| {
            format!(
                "<Binary>{}</Binary>",
                b.iter().map(|x| format!("{x:02X}")).collect::<String>()
            )
        })
        .unwrap_or_default();
    let guid = if e.provider == crate::kms::ids::PROVIDER_SPP {
        format!(" Guid={q}{{E23B33B0-C8C9-472C-A5F9-F2BDFEA0F156}}{q}")
    } else {
        String::new()
    };
    format!(
        "<Event xmlns={q}{NS}{q}><System><Provider Name={q}{}{q}{guid} EventSourceName={q}{}{q}/><EventID Qualifiers={q}{}{q}>{}</EventID><Version>0</Version><Level>{}</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime={q}{time}{q}/><EventRecordID>{record_id}</EventRecordID><Correlation/><Execution ProcessID={q}0{q} ThreadID={q}0{q}/><Channel>{}</Channel><Computer>{}</Computer><Security/></System><EventData>{data}{binary}</EventData></Event>",
        esc(e.provider),
        esc(e.source_name),
        e.qualifiers,
        e.event_id,
        e.level,
        esc(log.channel),
        esc(&log.machine)
    )
}

/// Unrelated Application events around the KMS ones (as a real log has).
pub fn noise(log: &SimLog, per_event: u32, rng: &mut Rng) -> Vec<SimEvent> {
    const NOISE: [(&str, u16, &str); 4] = [
        (
            "Microsoft-Windows-RestartManager",
            10000,
            "Starting session 0",
        ),
        (
            "ESENT",
            326,
            "svchost (1234,D,0) SRUJet: The database engine attached a database",
        ),
        (
            "Microsoft-Windows-Winlogon",
            6000,
            "The winlogon notification subscriber was unavailable",
        ),
        (
            "MsiInstaller",
            1040,
            "Beginning a Windows Installer transaction",
        ),
    ];
    let mut out = Vec::new();
    for e in &log.events {
        for _ in 0..per_event {
            let (p, id, text) = NOISE[rng.range(0, NOISE.len() as u64) as usize];
            let t = e.time - jiff::SignedDuration::from_millis(rng.range(1, 3_600_000) as i64);
            out.push(SimEvent {
                time: t,
                provider: p,
                source_name: p,
                event_id: id,
                qualifiers: 0,
                level: 4,
                data: vec![text.into()],
                binary: None,
            });
        }
    }
    out
}

/// One log as a file: a wevtutil stream (UTF-8, single quotes) or an Event Viewer file
/// (`<Events>` root, double quotes, UTF-16LE with BOM).
pub fn encode(log: &SimLog, events: &[SimEvent], first_id: u64, viewer: bool) -> Vec<u8> {
    let q = if viewer { '"' } else { '\'' };
    let body: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(k, e)| event_xml(e, first_id + k as u64, log, q))
        .collect();
    if viewer {
        let text = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\" standalone=\"yes\"?>\r\n<Events>\r\n{}\r\n</Events>\r\n",
            body.join("\r\n")
        );
        let mut b = vec![0xFF, 0xFE];
        b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        b
    } else {
        (body.join("\r\n") + "\r\n").into_bytes()
    }
}
