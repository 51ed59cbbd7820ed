//! Text renderings of events (§9.4): Event Viewer "Copy details as text" (the KB articles' shape:
//! `Log Name:`, `Source:`, `Date:`, `Event ID:` ... `Description:` then the message) and
//! `wevtutil qe /f:text` (`Event[0]:` blocks, two-space indented labels). Only the message is there,
//! so the payload is taken from the `Info:` line(s), and the DNS domain of 12293/12294 from the
//! sentence.

use crate::kms::RawEvent;
use crate::kms::ids;
use jiff::tz::TimeZone;

/// One event read from text, with the line it starts on (text has no record ids).
pub struct TextEvent {
    pub line: u64,
    pub raw: RawEvent,
    /// The `Date:` value could not be read.
    pub bad_date: Option<String>,
}

const LABELS: [&str; 14] = [
    "Log Name",
    "Source",
    "Date",
    "Event ID",
    "Task Category",
    "Task",
    "Level",
    "Opcode",
    "Keywords",
    "Keyword",
    "User",
    "User Name",
    "Computer",
    "Description",
];

fn label_of(line: &str) -> Option<(&'static str, &str)> {
    let t = line.trim();
    LABELS.iter().find_map(|l| {
        t.strip_prefix(l)
            .and_then(|rest| rest.trim_start().strip_prefix(':'))
            .map(|v| (*l, v.trim()))
    })
}

/// The provider a `Source:` value stands for (Event Viewer may shorten or show the source name).
fn provider(source: &str) -> String {
    let s = source.trim();
    if s.eq_ignore_ascii_case("Security-SPP")
        || s.eq_ignore_ascii_case("Software Protection Platform Service")
    {
        return ids::PROVIDER_SPP.to_string();
    }
    if s.eq_ignore_ascii_case("Security-Licensing-SLC")
        || s.eq_ignore_ascii_case("Software Licensing Service")
    {
        return ids::PROVIDER_SLC.to_string();
    }
    s.to_string()
}

/// Dates as Event Viewer and wevtutil print them, in the local time of the machine that rendered
/// them (no zone is written): read in `zone` (`--tz`, UTC by default). One ending in `Z` is UTC.
fn parse_date(s: &str, zone: &TimeZone) -> Option<jiff::Timestamp> {
    let s = s.trim();
    let (s, zone) = match s.strip_suffix('Z') {
        Some(utc) => (utc, &TimeZone::UTC),
        None => (s, zone),
    };
    if s.is_empty() {
        return None;
    }
    let iso = s.replace(' ', "T");
    let civil = match iso.parse::<jiff::civil::DateTime>() {
        Ok(dt) => dt,
        // The 12288 Info shapes (`2010/9/29 17:52`, `9/29/2010 5:52 PM`), read as UTC civil time.
        Err(_) => crate::kms::values::parse_client_time(s)?
            .to_zoned(TimeZone::UTC)
            .datetime(),
    };
    civil.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
}

pub fn parse(text: &str, zone: &TimeZone) -> Vec<TextEvent> {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(label_of(l), Some(("Log Name", _))))
        .map(|(k, _)| k)
        .collect();
    starts.push(lines.len());
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let block = &lines[w[0]..w[1]];
        let mut raw = RawEvent::default();
        let mut date = None;
        let mut description: Vec<&str> = Vec::new();
        let mut in_description = false;
        for line in block {
            if in_description {
                // wevtutil starts the next event with `Event[N]:`.
                if line.trim_start().starts_with("Event[") && line.trim_end().ends_with("]:") {
                    break;
                }
                description.push(line.trim_end());
                continue;
            }
            match label_of(line) {
                Some(("Log Name", v)) => raw.channel = v.to_string(),
                Some(("Source", v)) => raw.provider = provider(v),
                Some(("Date", v)) => date = Some(v.to_string()),
                Some(("Event ID", v)) => raw.event_id = v.parse().unwrap_or(0),
                Some(("Computer", v)) => raw.computer = v.to_string(),
                Some(("Description", v)) => {
                    in_description = true;
                    if !v.is_empty() {
                        description.push(v);
                    }
                }
                _ => {}
            }
        }
        let time = date.as_deref().and_then(|d| parse_date(d, zone));
        let bad_date = match (&date, time) {
            (Some(d), None) if !d.trim().is_empty() => Some(d.clone()),
            _ => None,
        };
        raw.time = time;
        raw.data = payload(raw.event_id, &description).into_iter().collect();
        out.push(TextEvent {
            line: w[0] as u64 + 1,
            raw,
            bad_date,
        });
    }
    out
}

/// The event's values, from its message.
fn payload(event_id: u16, description: &[&str]) -> Vec<String> {
    let lines: Vec<&str> = description
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let message = lines.join(" ");
    let info = lines
        .iter()
        .position(|l| l.starts_with("Info:"))
        .map(|k| {
            let same_line = lines[k].trim_start_matches("Info:").trim();
            if same_line.is_empty() {
                lines[k + 1..].join(" ")
            } else {
                same_line.to_string()
            }
        })
        // Some renderings drop the sentence and `Info:` and keep only the payload (§5.2).
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| l.matches(',').count() >= 7)
                .map(|l| l.to_string())
        });
    let domain = || {
        let after = message.split(" in the ").nth(1)?;
        let d = after.split(" domain").next()?;
        Some(d.trim().trim_matches(['\'', '`', '"']).to_string())
    };
    match event_id {
        ids::DNS_PUBLISH_FAILED => vec![info.unwrap_or_default(), domain().unwrap_or_default()],
        ids::DNS_PUBLISH_SUCCEEDED => vec![domain().unwrap_or_default()],
        ids::CLIENT_REQUEST | ids::CLIENT_RESPONSE | ids::HOST_REQUEST => {
            info.into_iter().collect()
        }
        // 12308: the SKU id and the activation object's DN read the same in every UI language.
        ids::AD_ACTIVATION => vec![
            first_guid(&message).unwrap_or_default(),
            String::new(),
            distinguished_name(&message).unwrap_or(message.clone()),
        ],
        _ => {
            // 8198, 8200, 8208 carry `hr=0x…` in the sentence.
            let hr = message
                .split_whitespace()
                .find(|w| w.starts_with("hr=") || w.starts_with("(hr="))
                .map(|w| w.trim_matches(['(', ')', '.', ',']).to_string());
            hr.into_iter()
                .chain((!message.is_empty()).then_some(message.clone()))
                .collect()
        }
    }
}

/// The first GUID in a sentence, braces and punctuation around it dropped.
fn first_guid(message: &str) -> Option<String> {
    message
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|w| {
            w.len() == 36
                && w.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
        })
        .map(str::to_string)
}

/// The LDAP distinguished name in a sentence: from its first `CN=` to the end of its last `DC=`
/// component (its `CN=` parts hold spaces: `CN=Activation Objects`).
fn distinguished_name(message: &str) -> Option<String> {
    let dn = &message[message.find("CN=")?..];
    let last_dc = dn.rfind("DC=")?;
    let end = dn[last_dc..]
        .find(|c: char| c.is_whitespace() || c == ')')
        .map_or(dn.len(), |e| last_dc + e);
    Some(dn[..end].trim_end_matches(['.', ',']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_style_client_request() {
        let t = "Log Name: Application  \r\nSource: Microsoft-Windows-Security-SPP  \r\nDate:  \r\n\r\nEvent ID: 12288  \r\nTask Category: None  \r\nLevel: Information  \r\nKeywords: Classic  \r\nUser: N/A  \r\nComputer: PC1.contoso.com\r\nDescription:  \r\nThe client has sent an activation request to the key management service machine.  \r\nInfo:  \r\n0xC004F06C, 0x00000000, kms01.contoso.com:1688, 36f27b39-2fd5-440b-be67-a09996d27a38, 2010/09/29 17:52, 0, 2, 41760, 68531fb9-5511-4989-97be-d11a0f55633f, 5\r\n";
        let e = parse(t, &TimeZone::UTC);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].raw.event_id, 12288);
        assert_eq!(e[0].raw.provider, ids::PROVIDER_SPP);
        assert_eq!(e[0].raw.computer, "PC1.contoso.com");
        assert!(
            e[0].raw
                .data
                .first()
                .unwrap()
                .starts_with("0xC004F06C, 0x00000000, kms01")
        );
        assert_eq!(e[0].raw.time, None);
    }

    #[test]
    fn a_description_with_only_the_payload() {
        let t = "    Log Name:      Application\n    Source:        Microsoft-Windows-Security-SPP\n    Date:         \n    Event ID:      12288\n    Computer:     AZVM\n    Description:\n    0xC004F06C, 0x00000000, azkms.core.windows.net:1688, 08c3bda0-c556-4b61-9e4e-7bf6d4df80be, 2021/03/02 09:15, 1, 5, 0, 34e1ae55-27f8-4950-8877-7a03be5fb181, \n";
        let e = parse(t, &TimeZone::UTC);
        assert_eq!(e.len(), 1);
        assert!(
            e[0].raw
                .data
                .first()
                .unwrap()
                .starts_with("0xC004F06C, 0x00000000, azkms.core.windows.net:1688")
        );
    }

    #[test]
    fn ad_activation_takes_the_sku_and_the_activation_object_from_the_sentence() {
        let t = "Log Name: Application\nSource: Microsoft-Windows-Security-SPP\nEvent ID: 12308\nComputer: PC7.contoso.com\nDescription:\nActivation succeeded using Active Directory (SKU {73111121-5638-40F6-BC11-F1D7B0D64300}, activation object CN=br549-999-607319-0,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com).\n";
        let e = parse(t, &TimeZone::UTC);
        assert_eq!(
            e[0].raw.data.to_vec(),
            [
                "73111121-5638-40F6-BC11-F1D7B0D64300",
                "",
                "CN=br549-999-607319-0,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com"
            ]
        );
    }

    #[test]
    fn dns_events_take_the_domain_from_the_sentence() {
        let t = "Log Name: Application\nSource: Security-SPP\nEvent ID: 12293\nComputer: KMS1\nDescription:\nPublishing the Key Managment Service (KMS) to DNS in the `contoso.com` domain failed.\nInfo:  0x80072338\n";
        let e = parse(t, &TimeZone::UTC);
        assert_eq!(
            e[0].raw.data.to_vec(),
            vec!["0x80072338".to_string(), "contoso.com".to_string()]
        );
    }

    #[test]
    fn dates_are_read_in_the_zone_given() {
        let t = "Log Name: Application\nSource: Microsoft-Windows-Security-SPP\nDate: 2026-10-01T08:00:00.000\nEvent ID: 12288\nComputer: PC1\nDescription:\nx\n";
        let at = |zone: &TimeZone| parse(t, zone)[0].raw.time.unwrap().to_string();
        assert_eq!(at(&TimeZone::UTC), "2026-10-01T08:00:00Z");
        let rome = TimeZone::get("Europe/Rome").unwrap();
        assert_eq!(at(&rome), "2026-10-01T06:00:00Z");
        // A date written in UTC stays UTC whatever the zone.
        let utc = t.replace("08:00:00.000", "08:00:00.000Z");
        assert_eq!(
            parse(&utc, &rome)[0].raw.time.unwrap().to_string(),
            "2026-10-01T08:00:00Z"
        );
    }
}
