//! `slmgr.vbs /dlv` and `/dli` text (§7): label tables per language (`kms::slmgr`), 4-space
//! indentation or none, lines wrapped at 80 columns by the console, CRLF, UTF-16LE/BE with BOM,
//! UTF-8 or ANSI (windows-1252).

use crate::kms::slmgr::{Field, LANGUAGES, Language, SlmgrProduct, Statement};
use crate::kms::values::{Guid, split_host_port};

/// What one output gave.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    /// Language of the labels (`en`, `de`), `None` when no known label was found.
    pub language: Option<&'static str>,
    pub products: Vec<SlmgrProduct>,
}

/// Console output wraps at 80 columns, splitting words (`VOLUME_KMSCLIENT chan` / `nel`).
const WRAP: usize = 79;

fn statement(line: &str) -> Option<Statement> {
    LANGUAGES
        .iter()
        .flat_map(|l| l.statements.iter())
        .find(|(t, _)| t.eq_ignore_ascii_case(line))
        .map(|(_, s)| *s)
}

/// Logical lines: trimmed, with console-wrapped continuations joined back.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev_len = 0usize;
    for raw in text.lines() {
        let raw = raw.trim_end_matches(['\r', '\n']);
        let line = raw.trim();
        let continues = prev_len >= WRAP
            && !line.is_empty()
            && !line.contains(": ")
            && statement(line).is_none();
        match out.last_mut() {
            Some(last) if continues => last.push_str(line),
            _ => out.push(line.to_string()),
        }
        prev_len = raw.chars().count();
    }
    out
}

fn label_field(lang: &Language, label: &str) -> Option<Field> {
    lang.labels
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(label))
        .map(|(_, f)| *f)
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

pub fn parse(text: &str) -> Parsed {
    let lines = logical_lines(text);
    // The language whose labels match most lines.
    let language = LANGUAGES
        .iter()
        .map(|l| {
            let hits = lines
                .iter()
                .filter_map(|x| x.split_once(": "))
                .filter(|(k, _)| label_field(l, k.trim()).is_some())
                .count();
            (hits, *l)
        })
        .filter(|(hits, _)| *hits > 0)
        .max_by_key(|(hits, _)| *hits)
        .map(|(_, l)| l);
    let mut products = Vec::new();
    let mut cur = SlmgrProduct::default();
    let mut seen_any = false;
    for line in &lines {
        if line.is_empty() {
            continue;
        }
        if let Some(s) = statement(line) {
            match s {
                Statement::HostCachingEnabled => cur.host_caching = Some(true),
                Statement::HostCachingDisabled => cur.host_caching = Some(false),
                Statement::DnsPublishingEnabled => cur.dns_publishing = Some(true),
                Statement::DnsPublishingDisabled => cur.dns_publishing = Some(false),
                Statement::KmsEnabledOnThisMachine => cur.kms_enabled = true,
            }
            seen_any = true;
            continue;
        }
        let Some((label, value)) = line
            .split_once(": ")
            .or_else(|| line.strip_suffix(':').map(|l| (l, "")))
        else {
            continue;
        };
        let (label, value) = (label.trim(), value.trim());
        let field = language
            .and_then(|l| label_field(l, label))
            .or_else(|| structural(label, value));
        let Some(field) = field else { continue };
        if field == Field::Name && seen_any {
            products.push(std::mem::take(&mut cur));
        }
        seen_any = true;
        set(&mut cur, field, value, language);
    }
    if seen_any {
        products.push(cur);
    }
    products.retain(|p| {
        p.partial_key.is_some() || p.license_status.is_some() || p.cmid.is_some() || p.kms_enabled
    });
    Parsed {
        language: language.map(|l| l.code),
        products,
    }
}

/// For a language without a label table: a CMID line and a `host:port` line are recognised by
/// the shape of their values.
fn structural(label: &str, value: &str) -> Option<Field> {
    if label.contains("CMID") && Guid::parse(value).is_some() {
        return Some(Field::Cmid);
    }
    let host_port = value
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !h.contains(' ') && p.parse::<u16>().is_ok());
    host_port.then_some(Field::KmsFromDns)
}

fn set(p: &mut SlmgrProduct, field: Field, value: &str, language: Option<&Language>) {
    let v = Some(value.to_string()).filter(|v| !v.is_empty());
    match field {
        Field::Name => p.name = v,
        Field::Description => p.description = v,
        Field::ActivationId => p.activation_id = Guid::parse(value).map(|g| g.to_string()),
        Field::ProductChannel => p.product_channel = v,
        Field::PartialKey => p.partial_key = v,
        Field::LicenseStatus => {
            let english = language
                .and_then(|l| {
                    l.statuses
                        .iter()
                        .find(|(t, _)| t.eq_ignore_ascii_case(value))
                })
                .map(|(_, e)| e.to_string());
            p.license_status = english.or(v);
        }
        Field::MinutesLeft => p.minutes_left = leading_number(value),
        Field::Cmid => p.cmid = Guid::parse(value).map(|g| g.to_string()),
        Field::KmsFromDns | Field::KmsRegistered => {
            if let Some((host, port)) = split_host_port(value).filter(|(h, _)| !h.contains(' ')) {
                p.kms_host = Some(host.to_string());
                p.kms_port = port;
                p.kms_host_source = Some(if field == Field::KmsFromDns {
                    "dns"
                } else {
                    "registered"
                });
            }
        }
        Field::CurrentCount => p.current_count = leading_number(value),
        Field::ActivationObject => p.activation_object = v,
        Field::Port => p.port = leading_number(value).and_then(|n| u16::try_from(n).ok()),
        Field::TotalRequests => p.total_requests = leading_number(value),
        Field::FailedRequests => p.failed_requests = leading_number(value),
    }
}

/// The machine an output belongs to by its path: the file name without slmgr words
/// (`kms01-dlv.txt`), else the folder the file sits in (`PC001/slmgr.txt`), else the zip it sits in
/// at its root (`PC042.contoso.com.zip!slmgr.txt`). The event logs beside it, when they name one
/// computer, come first (`ingest::name_output_machines`).
pub fn machine_from_label(label: &str) -> Option<String> {
    machine_from_path(label).filter(|m| !crate::kms::values::machine_id(m).is_empty())
}

fn machine_from_path(label: &str) -> Option<String> {
    let mut levels = label.rsplit('!');
    let path = levels.next().unwrap_or(label);
    let archive = levels.next();
    let parts: Vec<&str> = path
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let file = parts.last()?;
    let stem = file.rsplit_once('.').map_or(*file, |(s, _)| s);
    // Words of the file names command outputs are saved under (slmgr, and what
    // `scripts/collect-kms-bundle.ps1` writes), which are not machine names.
    const WORDS: [&str; 13] = [
        "slmgr", "dlv", "dli", "output", "out", "txt", "vbs", "result", "nslookup", "vlmcs",
        "w32tm", "status", "timezone",
    ];
    let from_name: Vec<&str> = stem
        .split(['_', '-', ' ', '.'])
        .filter(|w| !w.is_empty() && !WORDS.contains(&w.to_ascii_lowercase().as_str()))
        .collect();
    if !from_name.is_empty() {
        return Some(from_name.join("-"));
    }
    if let Some(folder) = parts.iter().rev().nth(1) {
        return Some(folder.to_string());
    }
    // At the root of a zip: the zip's own name, without `.zip`.
    let zip = archive?.rsplit(['/', '\\']).next()?;
    let name = zip
        .strip_suffix(".zip")
        .or_else(|| zip.strip_suffix(".ZIP"))
        .unwrap_or(zip);
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_from_paths() {
        assert_eq!(
            machine_from_label("bundle/PC001/slmgr-dlv.txt").as_deref(),
            Some("PC001")
        );
        assert_eq!(
            machine_from_label("case.zip!kms01/slmgr.txt").as_deref(),
            Some("kms01")
        );
        assert_eq!(
            machine_from_label("bundle/kms01_slmgr_dlv.txt").as_deref(),
            Some("kms01")
        );
        assert_eq!(machine_from_label("out.txt").as_deref(), None);
        // The collection script's file names are not machine names: the folder or zip is.
        for label in [
            "bundle/PC07/nslookup-vlmcs.txt",
            "case.zip!PC07/w32tm-status.txt",
            "bundle/PC07/timezone.txt",
        ] {
            assert_eq!(
                machine_from_label(label).as_deref(),
                Some("PC07"),
                "{label}"
            );
        }
        assert_eq!(
            machine_from_label("case/PC042.contoso.com.zip!slmgr-dlv.txt").as_deref(),
            Some("PC042.contoso.com")
        );
        assert_eq!(
            machine_from_label("all.zip!sites/PC7.ZIP!slmgr.txt").as_deref(),
            Some("PC7")
        );
    }

    #[test]
    fn wrapped_lines_join_back() {
        let t = format!(
            "Description: {}chan\r\nnel\r\nLicense Status: Licensed\r\n",
            "x".repeat(63)
        );
        let p = parse(&t);
        assert_eq!(
            p.products[0].description.as_deref(),
            Some(format!("{}channel", "x".repeat(63)).as_str())
        );
    }

    #[test]
    fn german_license_status() {
        let p = parse("Name: Windows(R), Enterprise edition\r\nLizenzstatus: Lizenziert\r\n");
        assert_eq!(p.language, Some("de"));
        assert_eq!(p.products[0].license_status.as_deref(), Some("Licensed"));
    }

    #[test]
    fn unknown_language_by_structure() {
        let p = parse(
            "Nome: Windows(R)\r\nStato licenza: Con licenza\r\nID macchina client (CMID): f9d4e20a-cb8f-4050-9c0c-56420455ada1\r\nNome computer KMS da DNS: kms01.contoso.com:1688\r\n",
        );
        assert_eq!(p.language, None);
        assert_eq!(
            p.products[0].cmid.as_deref(),
            Some("f9d4e20a-cb8f-4050-9c0c-56420455ada1")
        );
        assert_eq!(p.products[0].kms_host.as_deref(), Some("kms01.contoso.com"));
        assert_eq!(p.products[0].license_status, None);
    }
}
