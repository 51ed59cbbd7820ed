//! Raw records → typed KMS events: the parsing of each event's `Info` payload.

use super::event::*;
use super::hresult::Hresult;
use super::ids::{EventKind, classify};
use super::raw::{Data, RawEvent};
use super::values::{
    Guid, LicenseStatus, StatusFlags, parse_client_time, split_host_port, trimmed,
};
use jiff::Timestamp;
use std::sync::Arc;

/// What decoding one record gave.
#[derive(Debug)]
pub struct Decoded {
    pub event: KmsEvent,
    /// Problems worth a diagnostic (the event is kept either way).
    pub problems: Vec<String>,
}

/// `None` for records that are not about KMS activation.
pub fn decode(raw: &RawEvent, source: &Arc<str>, names: &mut Names) -> Option<Decoded> {
    let kind = classify(&raw.provider, &raw.channel, raw.event_id)?;
    let mut problems = Vec::new();
    let body = match body(kind, raw, &mut problems, names) {
        Ok(body) => body,
        Err(reason) => {
            problems.push(format!(
                "event {} payload does not parse: {reason}",
                raw.event_id
            ));
            KmsBody::Malformed(Malformed {
                kind,
                reason,
                data: raw.data.to_vec(),
            })
        }
    };
    let time = raw.time.unwrap_or_else(|| {
        problems.push("record has no TimeCreated".to_string());
        Timestamp::UNIX_EPOCH
    });
    Some(Decoded {
        event: KmsEvent {
            origin: names.origin(source, &raw.computer, &raw.channel, &raw.provider),
            record_id: raw.record_id.unwrap_or(0),
            time,
            event_id: raw.event_id,
            body,
        },
        problems,
    })
}

fn body(
    kind: EventKind,
    raw: &RawEvent,
    problems: &mut Vec<String>,
    names: &mut Names,
) -> Result<KmsBody, String> {
    let d = &raw.data;
    Ok(match kind {
        EventKind::ClientRequest => {
            let f = info_fields(d, 10, problems)?;
            KmsBody::ClientRequest(client_request(&f, problems, names)?)
        }
        EventKind::ClientResponse => {
            KmsBody::ClientResponse(client_response(&info_fields(d, 8, problems)?, problems)?)
        }
        EventKind::HostRequest => {
            KmsBody::HostRequest(host_request(&host_fields(d, problems)?, problems)?)
        }
        EventKind::DnsPublishFailed => KmsBody::DnsPublishFailed(DnsPublishFailed {
            hresult: hresult(first(d)?, "Info")?,
            domain: nonempty(d.get(1), "domain")?,
        }),
        EventKind::DnsPublishSucceeded => KmsBody::DnsPublishSucceeded(DnsPublishSucceeded {
            domain: nonempty(d.first(), "domain")?,
        }),
        EventKind::SppError => KmsBody::SppError(spp_error(d)),
        EventKind::LicensingStatus => KmsBody::LicensingStatus(LicensingStatus {
            app_id: d.first().and_then(Guid::parse),
            status: names.status(d.get(1).map(str::trim).unwrap_or_default()),
        }),
        EventKind::OtherActivation => KmsBody::OtherActivation(other_activation(raw.event_id, d)?),
        EventKind::OtherSpp => KmsBody::OtherSpp(OtherEvent {
            data: d.to_vec(),
            has_binary: raw.has_binary,
        }),
        EventKind::OtherKmsLog => KmsBody::OtherKmsLog(OtherEvent {
            data: d.to_vec(),
            has_binary: raw.has_binary,
        }),
    })
}

/// 12308: Data[0] SKU id, Data[1] activation object name, Data[2] its DN (§4.6). 12309: Data[0]
/// the returned HRESULT (`0x0`, or `hr=0x…` as the message renders it), Data[1] the info (§1).
fn other_activation(event_id: u16, d: &Data) -> Result<OtherActivation, String> {
    let detail = |from: usize| {
        d.iter()
            .skip(from)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if event_id == super::ids::AD_ACTIVATION {
        return Ok(OtherActivation {
            channel: ActivationChannel::Ad,
            act_id: Some(guid(first(d)?, "SKU id")?),
            hresult: Hresult::S_OK,
            detail: detail(1),
        });
    }
    Ok(OtherActivation {
        channel: ActivationChannel::Avma,
        act_id: None,
        // `Hresult::parse` takes the `hr=` form the message renders too.
        hresult: hresult(first(d)?, "Returned hr")?,
        detail: detail(1),
    })
}

/// The most fields an Info string has (12288: ten).
const MAX_FIELDS: usize = 10;

/// The `n` fields of a client Info string: Data[1..=n] when the event carries them one by one,
/// else Data[0] split on `,` (both `", "` and `","` occur, §4.5), with an empty trailing field
/// allowed. Slots past `n` are empty. On the stack: this runs for every kept record.
fn info_fields<'d>(
    data: &'d Data,
    n: usize,
    problems: &mut Vec<String>,
) -> Result<[&'d str; MAX_FIELDS], String> {
    let info = first(data)?;
    let mut out = [""; MAX_FIELDS];
    if data.len() > n {
        for (slot, value) in out.iter_mut().zip(data.iter().skip(1).take(n)) {
            *slot = trimmed(value);
        }
        if !same_fields(info, &out[..n]) {
            problems.push(format!(
                "Data[0] ({}) and Data[1..{n}] disagree; Data[1..{n}] used",
                info.trim()
            ));
        }
        return Ok(out);
    }
    let mut found = 0;
    for field in split_info(info) {
        if let Some(slot) = out.get_mut(found) {
            *slot = field;
        }
        found += 1;
    }
    if found == n {
        return Ok(out);
    }
    // Real 12288s end with ", " and an empty N-Policy (§5.2); a shorter one lost fields.
    Err(format!(
        "expected {n} comma-separated fields, found {found}: {:?}",
        info.trim()
    ))
}

/// 12290 prefers Data[1..9] (§4.1), else splits Data[0].
fn host_fields<'d>(
    data: &'d Data,
    problems: &mut Vec<String>,
) -> Result<[&'d str; MAX_FIELDS], String> {
    info_fields(data, 9, problems)
}

/// Whether Data[0] holds these (trimmed) fields: byte for byte as `a,b,c` first, which is what
/// Windows writes, else split and trimmed as `split_info` does.
fn same_fields(info: &str, fields: &[&str]) -> bool {
    joined_by_commas(info, fields) || split_info(info).eq(fields.iter().copied())
}

/// `info` is the fields joined by `,`. With exactly one comma fewer than fields, no field holds
/// one, so splitting would give these fields back.
fn joined_by_commas(info: &str, fields: &[&str]) -> bool {
    let info = info_body(info).as_bytes();
    if memchr::memchr_iter(b',', info).count() + 1 != fields.len() {
        return false;
    }
    let mut rest = info;
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            match rest.split_first() {
                Some((b',', r)) => rest = r,
                _ => return false,
            }
        }
        match rest.strip_prefix(field.as_bytes()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn split_info(info: &str) -> impl Iterator<Item = &str> {
    info_body(info).split(',').map(trimmed)
}

/// An Info string without the line ends and spaces around it.
fn info_body(info: &str) -> &str {
    info.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ')
}

fn first(data: &Data) -> Result<&str, String> {
    data.first().ok_or_else(|| "no <Data> element".to_string())
}

fn hresult(text: &str, what: &str) -> Result<Hresult, String> {
    Hresult::parse(text).ok_or_else(|| format!("{what} {:?} is not an HRESULT", text.trim()))
}

fn guid(text: &str, what: &str) -> Result<Guid, String> {
    Guid::parse(text).ok_or_else(|| format!("{what} {:?} is not a GUID", text.trim()))
}

fn number(text: &str, what: &str) -> Result<u32, String> {
    trimmed(text)
        .parse()
        .map_err(|_| format!("{what} {:?} is not a number", text.trim()))
}

fn flag(text: &str, what: &str) -> Result<bool, String> {
    match trimmed(text) {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("{what} {other:?} is not 0 or 1")),
    }
}

fn flags(text: &str) -> Result<StatusFlags, String> {
    StatusFlags::parse(text).ok_or_else(|| format!("status {:?} is not hex flags", text.trim()))
}

fn nonempty<T: for<'a> From<&'a str>>(text: Option<&str>, what: &str) -> Result<T, String> {
    match text.map(trimmed) {
        Some(t) if !t.is_empty() => Ok(T::from(t)),
        _ => Err(format!("{what} is missing")),
    }
}

fn client_time(text: &str, problems: &mut Vec<String>) -> Option<Timestamp> {
    let t = parse_client_time(text);
    if t.is_none() && !trimmed(text).is_empty() {
        problems.push(format!(
            "client time {:?} is not a known timestamp format",
            text.trim()
        ));
    }
    t
}

fn client_request(
    f: &[&str],
    problems: &mut Vec<String>,
    names: &mut Names,
) -> Result<ClientRequest, String> {
    let (kms_host, kms_port) = match split_host_port(f[2]) {
        Some((host, port)) => (Some(names.kms_host(host)), port),
        None if trimmed(f[2]).is_empty() => (None, None),
        None => return Err(format!("KMS host {:?} is not host:port", f[2])),
    };
    Ok(ClientRequest {
        hresult: hresult(f[0], "HRESULT")?,
        status_flags: flags(f[1])?,
        kms_host,
        kms_port,
        cmid: guid(f[3], "CMID")?,
        client_time: client_time(f[4], problems),
        vm: flag(f[5], "VM flag")?,
        license_status: LicenseStatus::from_code(number(f[6], "license status")?),
        minutes_left: number(f[7], "minutes left")?,
        act_id: guid(f[8], "activation id")?,
        min_count: match f[9] {
            "" => None,
            s => Some(number(s, "minimum count")?),
        },
    })
}

fn client_response(f: &[&str], problems: &mut Vec<String>) -> Result<ClientResponse, String> {
    Ok(ClientResponse {
        hresult: hresult(f[0], "HRESULT")?,
        status_flags: flags(f[1])?,
        activated: flag(f[2], "activated flag")?,
        current_count: number(f[4], "current count")?,
        activation_interval: number(f[5], "activation interval")?,
        renewal_interval: number(f[6], "renewal interval")?,
        client_time: client_time(f[7], problems),
    })
}

fn host_request(f: &[&str], problems: &mut Vec<String>) -> Result<HostRequest, String> {
    Ok(HostRequest {
        hresult: hresult(f[0], "HRESULT")?,
        min_count: number(f[1], "minimum count")?,
        client_name: nonempty(Some(f[2]), "client name")?,
        cmid: guid(f[3], "CMID")?,
        client_time: client_time(f[4], problems),
        vm: flag(f[5], "VM flag")?,
        license_status: LicenseStatus::from_code(number(f[6], "license status")?),
        minutes_left: number(f[7], "minutes left")?,
        act_id: guid(f[8], "activation id")?,
    })
}

/// 8198/8200/8208 carry `hr=0x…` first; 8233 carries a reason, AppId, SkuId and trigger.
fn spp_error(d: &Data) -> SppError {
    let hresult = d.iter().find_map(Hresult::parse);
    let detail: Vec<&str> = d
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && Hresult::parse(s).is_none())
        .collect();
    SppError {
        hresult,
        detail: (!detail.is_empty()).then(|| detail.join("; ")),
    }
}

#[cfg(test)]
mod info_tests {
    use super::*;

    #[test]
    fn data0_agrees_with_the_separate_fields_however_it_is_joined() {
        let fields = ["0x0", "25", "PC1.contoso.com", ""];
        for info in [
            "0x0,25,PC1.contoso.com,",
            "0x0, 25, PC1.contoso.com, ",
            " 0x0 ,25,PC1.contoso.com,\r\n",
        ] {
            assert!(same_fields(info, &fields), "{info:?}");
        }
        assert!(joined_by_commas("0x0,25,PC1.contoso.com,", &fields));
        assert!(!joined_by_commas("0x0, 25, PC1.contoso.com, ", &fields));
        for info in [
            "0x0,25,PC2.contoso.com,",
            "0x0,25,PC1.contoso.com",
            "0x0,25,PC1.contoso.com,,",
            "0x0;25;PC1.contoso.com;",
        ] {
            assert!(!same_fields(info, &fields), "{info:?}");
        }
        // A field holding a comma is not taken for two.
        assert!(!same_fields("a,b,c", &["a,b", "c", ""]));
        assert!(!joined_by_commas("a,b,c", &["a", "b,c"]));
    }
}

#[cfg(test)]
mod other_activation_tests {
    use super::*;

    fn raw(event_id: u16, data: &[&str]) -> RawEvent {
        RawEvent {
            record_id: Some(7),
            time: Some(Timestamp::UNIX_EPOCH),
            provider: super::super::ids::PROVIDER_SPP.into(),
            event_id,
            qualifiers: Some(16384),
            channel: "Application".into(),
            computer: "PC1.contoso.com".into(),
            data: data.iter().map(|s| s.to_string()).collect(),
            has_binary: false,
        }
    }

    fn decoded(event_id: u16, data: &[&str]) -> KmsBody {
        decode(&raw(event_id, data), &Arc::from("x"), &mut Names::default())
            .unwrap()
            .event
            .body
    }

    #[test]
    fn ad_and_avma_activations_decode() {
        // 12308 as S15's sample shows it: SKU id, activation object name and DN.
        let KmsBody::OtherActivation(ad) = decoded(
            12308,
            &[
                "73111121-5638-40f6-bc11-f1d7b0d64300",
                "Windows Server 2016 RTM ServerDatacenter;ServerStandard Volume:CSVLK",
                "CN=br549-999-607319-0,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com",
            ],
        ) else {
            panic!("12308 is an AD activation");
        };
        assert_eq!(ad.channel, ActivationChannel::Ad);
        assert!(ad.succeeded());
        assert_eq!(
            ad.act_id.map(|g| g.to_string()).as_deref(),
            Some("73111121-5638-40f6-bc11-f1d7b0d64300")
        );
        assert!(ad.detail.contains("CN=Activation Objects"));
        // 12309: the HRESULT the Hyper-V host returned, then the info.
        let KmsBody::OtherActivation(ok) = decoded(12309, &["0x0", "info"]) else {
            panic!("12309 is an AVMA response");
        };
        assert_eq!(ok.channel, ActivationChannel::Avma);
        assert!(ok.succeeded());
        let KmsBody::OtherActivation(failed) = decoded(12309, &["hr=0xC004FD01", ""]) else {
            panic!("12309 is an AVMA response");
        };
        assert!(!failed.succeeded());
        // A 12308 without a SKU id is kept, as malformed.
        assert!(matches!(
            decoded(12308, &["not a guid"]),
            KmsBody::Malformed(_)
        ));
    }
}
