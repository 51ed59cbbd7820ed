//! What a machine's own commands say about KMS discovery and its clock, as
//! `scripts/collect-kms-bundle.ps1` saves them: `nslookup -type=srv _vlmcs._tcp.<domain>`,
//! `w32tm /query /status` and the time zone. nslookup prints English labels on every Windows
//! language; w32tm's labels are read in English and German (`Sprungindikator`, `Quelle`, ...);
//! an output in another language gives its error code, if any, and no verdict on the clock.

/// One source's facts.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    Srv(SrvLookup),
    Time(TimeStatus),
    Zone(ZoneInfo),
}

/// The answer to `nslookup -type=srv _vlmcs._tcp.<domain>`.
#[derive(Clone, Debug, PartialEq)]
pub struct SrvLookup {
    /// The name looked up (`_vlmcs._tcp.contoso.com`), when the output shows it.
    pub query: Option<String>,
    /// The DNS server that answered (`Server:` line).
    pub server: Option<String>,
    /// `host:port` of each SRV record, in the order given.
    pub targets: Vec<String>,
    /// Why nothing was found (`Non-existent domain`, `No response from server`, ...).
    pub error: Option<String>,
}

impl SrvLookup {
    /// The domain the record was looked for in.
    pub fn domain(&self) -> Option<&str> {
        let q = self.query.as_deref()?;
        let lower = q.to_ascii_lowercase();
        let at = lower.find("_vlmcs._tcp.")?;
        Some(q[at + "_vlmcs._tcp.".len()..].trim_end_matches('.'))
    }
}

/// `w32tm /query /status`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeStatus {
    /// `Source:` (a time server, `Local CMOS Clock`, `Free-running System Clock`, ...).
    pub source: Option<String>,
    pub last_sync: Option<String>,
    pub stratum: Option<u32>,
    pub leap_indicator: Option<u32>,
    /// The error w32tm printed instead (`The service has not been started. (0x80070426)`).
    pub error: Option<String>,
}

impl TimeStatus {
    /// The clock follows a time server: a source that is not the machine's own clock, and a
    /// leap indicator other than 3 (not synchronized). `None` for an output kmslens could not
    /// read (labels in a language it has no table for).
    pub fn synced(&self) -> Option<bool> {
        if self.error.is_some() {
            return Some(false);
        }
        if self.source.is_none() && self.leap_indicator.is_none() {
            return None;
        }
        let own_clock = self.source.as_deref().is_none_or(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("cmos") || s.contains("free-running system clock")
        });
        Some(!own_clock && self.leap_indicator != Some(3))
    }

    /// What is wrong, in a phrase, when the clock does not follow a time server.
    pub fn problem(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("w32tm cannot query the time service: {e}"));
        }
        if self.synced()? {
            return None;
        }
        Some(match &self.source {
            Some(s) => format!("the clock is not synchronized (source: {s})"),
            None => "the clock is not synchronized (no time source)".into(),
        })
    }
}

/// The collection script's `timezone.txt`.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneInfo {
    /// Windows zone id (`W. Europe Standard Time`).
    pub zone: String,
    /// Offset from UTC when collected (`02:00:00`, `-05:00:00`).
    pub utc_offset: Option<String>,
    pub computer: Option<String>,
}

/// The zone a machine's local times are written in, and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineZone {
    pub zone: jiff::tz::TimeZone,
    /// `W. Europe Standard Time (Europe/Berlin)`, or the fixed offset and why.
    pub label: String,
}

impl ZoneInfo {
    /// The machine's zone: the IANA zone of its Windows id; else (an unknown id, or `_dstoff`:
    /// daylight saving turned off) the UTC offset it had when collected, which is then fixed.
    pub fn machine_zone(&self) -> Option<MachineZone> {
        let id = self.zone.trim();
        let dst_off = id.strip_suffix("_dstoff");
        if dst_off.is_none()
            && let Some(name) = super::zones::iana(id)
            && let Ok(zone) = jiff::tz::TimeZone::get(name)
        {
            return Some(MachineZone {
                zone,
                label: format!("{id} ({name})"),
            });
        }
        let offset = parse_offset(self.utc_offset.as_deref()?)?;
        let why = match dst_off {
            Some(base) => format!("{base}, daylight saving time off"),
            None if id.is_empty() => "no zone id".into(),
            None => format!("{id}, a zone id kmslens does not know"),
        };
        Some(MachineZone {
            zone: jiff::tz::TimeZone::fixed(offset),
            label: format!("{} ({why})", offset_text(offset)),
        })
    }
}

/// A .NET `TimeSpan` as `timezone.txt` writes the UTC offset: `02:00:00`, `-05:00:00`,
/// `05:30:00`.
fn parse_offset(text: &str) -> Option<jiff::tz::Offset> {
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut parts = t.split(':').map(|p| p.trim().parse::<i32>().ok());
    let (h, m) = (parts.next()??, parts.next().flatten().unwrap_or(0));
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// `UTC+05:30`, `UTC-08:00`.
fn offset_text(offset: jiff::tz::Offset) -> String {
    let s = offset.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    let (h, m) = (s.abs() / 3600, s.abs() % 3600 / 60);
    format!("UTC{sign}{h:02}:{m:02}")
}

/// `label: value` of a line, labels compared without case.
fn value<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let (l, v) = line.split_once(':')?;
    l.trim().eq_ignore_ascii_case(label).then(|| v.trim())
}

/// `label = value` of an SRV record line (`svr hostname   = kms01.contoso.com`).
fn assigned<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let (l, v) = line.split_once('=')?;
    l.trim().eq_ignore_ascii_case(label).then(|| v.trim())
}

pub fn parse_nslookup(text: &str) -> SrvLookup {
    let mut out = SrvLookup {
        query: None,
        server: None,
        targets: Vec::new(),
        error: None,
    };
    let mut port: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(at) = t.to_ascii_lowercase().find("_vlmcs._tcp")
            && out.query.is_none()
        {
            let name = t[at..].split([' ', '\t', ':']).next().unwrap_or_default();
            out.query = Some(name.trim_end_matches('.').to_string());
        }
        if let Some(v) = value(t, "Server").filter(|_| out.server.is_none()) {
            out.server = Some(v.to_string());
        } else if let Some(v) = assigned(t, "port") {
            port = Some(v.to_string());
        } else if let Some(host) = assigned(t, "svr hostname") {
            let host = host.trim_end_matches('.');
            out.targets.push(match port.take() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            });
        } else if t.starts_with("***") {
            // `*** dc01 can't find _vlmcs._tcp.x: Non-existent domain`
            let reason = t.rsplit_once(": ").map_or(t, |(_, r)| r);
            out.error = Some(reason.trim_start_matches('*').trim().to_string());
        } else if t.contains("timed out") || t.starts_with("DNS request timed out") {
            out.error.get_or_insert_with(|| t.to_string());
        }
    }
    if out.targets.is_empty() && out.error.is_none() {
        out.error = Some("no SRV record in the answer".into());
    }
    out
}

pub fn parse_w32tm(text: &str) -> TimeStatus {
    let number = |v: &str| {
        v.split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
    };
    let mut out = TimeStatus {
        source: None,
        last_sync: None,
        stratum: None,
        leap_indicator: None,
        error: None,
    };
    for line in text.lines().map(str::trim) {
        if let Some(v) = value_of(line, &["Source", "Quelle"]) {
            out.source = Some(v.to_string());
        } else if let Some(v) = value_of(
            line,
            &[
                "Last Successful Sync Time",
                "Letzte erfolgreiche Synchronisierungszeit",
            ],
        ) {
            out.last_sync = Some(v.to_string());
        } else if let Some(v) = value(line, "Stratum") {
            out.stratum = number(v);
        } else if let Some(v) = value_of(line, &["Leap Indicator", "Sprungindikator"]) {
            out.leap_indicator = number(v);
        } else if let Some(v) = value(line, "The following error occurred") {
            out.error = Some(v.to_string());
        } else if out.error.is_none() && error_code(line) {
            // The error line in any language: `... (0x80070426)`.
            out.error = Some(line.rsplit_once(": ").map_or(line, |(_, e)| e).to_string());
        }
    }
    out
}

/// The value of the first of `labels` the line has.
fn value_of<'a>(line: &'a str, labels: &[&str]) -> Option<&'a str> {
    labels.iter().find_map(|l| value(line, l))
}

/// A line that ends with a Windows error code in brackets (`(0x80070426)`).
fn error_code(line: &str) -> bool {
    line.strip_suffix(')')
        .and_then(|l| l.rsplit_once("(0x"))
        .is_some_and(|(_, hex)| hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn parse_zone(text: &str) -> ZoneInfo {
    let mut out = ZoneInfo {
        zone: String::new(),
        utc_offset: None,
        computer: None,
    };
    for line in text.lines().map(str::trim) {
        if let Some(v) = value(line, "Time zone") {
            out.zone = v.to_string();
        } else if let Some(v) = value(line, "UTC offset") {
            out.utc_offset = Some(v.to_string());
        } else if let Some(v) = value(line, "Computer") {
            out.computer = Some(v.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone_of(id: &str, offset: Option<&str>) -> Option<MachineZone> {
        ZoneInfo {
            zone: id.into(),
            utc_offset: offset.map(Into::into),
            computer: None,
        }
        .machine_zone()
    }

    #[test]
    fn a_windows_zone_id_gives_its_iana_zone() {
        let z = zone_of("W. Europe Standard Time", Some("02:00:00")).unwrap();
        assert_eq!(z.zone.iana_name(), Some("Europe/Berlin"));
        assert_eq!(z.label, "W. Europe Standard Time (Europe/Berlin)");
    }

    #[test]
    fn without_a_known_id_the_collected_offset_is_used() {
        let z = zone_of("Pacific Standard Time_dstoff", Some("-08:00:00")).unwrap();
        assert_eq!(z.zone, jiff::tz::TimeZone::fixed(jiff::tz::offset(-8)));
        assert_eq!(
            z.label,
            "UTC-08:00 (Pacific Standard Time, daylight saving time off)"
        );
        let z = zone_of("Nowhere Standard Time", Some("05:30:00")).unwrap();
        assert_eq!(
            z.zone.to_offset(jiff::Timestamp::UNIX_EPOCH).seconds(),
            5 * 3600 + 1800
        );
        assert_eq!(zone_of("Nowhere Standard Time", None), None);
        assert_eq!(zone_of("", Some("garbage")), None);
    }

    #[test]
    fn an_srv_answer_gives_its_targets() {
        let text = "> nslookup -type=srv _vlmcs._tcp.contoso.com\r\nServer:  dc01.contoso.com\r\nAddress:  10.0.0.1\r\n\r\n_vlmcs._tcp.contoso.com\tSRV service location:\r\n\t  priority       = 0\r\n\t  weight         = 0\r\n\t  port           = 1688\r\n\t  svr hostname   = kms01.contoso.com\r\nkms01.contoso.com\tinternet address = 10.0.0.5\r\n";
        let l = parse_nslookup(text);
        assert_eq!(l.domain(), Some("contoso.com"));
        assert_eq!(l.server.as_deref(), Some("dc01.contoso.com"));
        assert_eq!(l.targets, ["kms01.contoso.com:1688"]);
        assert_eq!(l.error, None);
    }

    #[test]
    fn a_failed_lookup_gives_its_reason() {
        let text = "> nslookup -type=srv _vlmcs._tcp.branch.contoso.com\r\nServer:  dc01.contoso.com\r\nAddress:  10.0.0.1\r\n\r\n*** dc01.contoso.com can't find _vlmcs._tcp.branch.contoso.com: Non-existent domain\r\n";
        let l = parse_nslookup(text);
        assert_eq!(l.domain(), Some("branch.contoso.com"));
        assert!(l.targets.is_empty());
        assert_eq!(l.error.as_deref(), Some("Non-existent domain"));
    }

    #[test]
    fn w32tm_tells_a_synced_clock_from_a_free_running_one() {
        let synced = "Leap Indicator: 0(no warning)\r\nStratum: 3 (secondary reference - syncd by (S)NTP)\r\nLast Successful Sync Time: 10/1/2026 6:00:00 AM\r\nSource: dc01.contoso.com\r\nPoll Interval: 10 (1024s)\r\n";
        let s = parse_w32tm(synced);
        assert_eq!(s.stratum, Some(3));
        assert_eq!(s.source.as_deref(), Some("dc01.contoso.com"));
        assert!(s.synced() == Some(true) && s.problem().is_none());
        let cmos = "Leap Indicator: 3(not synchronized)\r\nStratum: 0 (unspecified)\r\nLast Successful Sync Time: unspecified\r\nSource: Local CMOS Clock\r\n";
        let c = parse_w32tm(cmos);
        assert_eq!(c.synced(), Some(false));
        assert_eq!(
            c.problem().as_deref(),
            Some("the clock is not synchronized (source: Local CMOS Clock)")
        );
        let stopped =
            "The following error occurred: The service has not been started. (0x80070426)\r\n";
        assert!(
            parse_w32tm(stopped)
                .problem()
                .unwrap()
                .contains("0x80070426")
        );
    }

    #[test]
    fn w32tm_is_read_in_german_and_an_unknown_language_gives_no_verdict() {
        // As German Windows prints it (labels as public German outputs show them).
        let de = "Sprungindikator: 0(keine Warnung)\r\nStratum: 3 (Sekundärreferenz - synchronisiert über (S)NTP)\r\nPräzision: -23 (119.209ns pro Tick)\r\nReferenz-ID: 0x0A000001 (Quell-IP:  10.0.0.1)\r\nLetzte erfolgreiche Synchronisierungszeit: 01.10.2026 08:00:00\r\nQuelle: dc01.contoso.com\r\nAbrufintervall: 10 (1024s)\r\n";
        let s = parse_w32tm(de);
        assert_eq!(s.source.as_deref(), Some("dc01.contoso.com"));
        assert_eq!(s.last_sync.as_deref(), Some("01.10.2026 08:00:00"));
        assert_eq!((s.stratum, s.leap_indicator), (Some(3), Some(0)));
        assert_eq!(s.synced(), Some(true));
        let cmos = de
            .replace("0(keine Warnung)", "3(nicht synchronisiert)")
            .replace("dc01.contoso.com", "Local CMOS Clock");
        assert_eq!(parse_w32tm(&cmos).synced(), Some(false));
        let stopped =
            "Folgender Fehler ist aufgetreten: Der Dienst wurde nicht gestartet. (0x80070426)\r\n";
        assert_eq!(
            parse_w32tm(stopped).error.as_deref(),
            Some("Der Dienst wurde nicht gestartet. (0x80070426)")
        );
        // Labels kmslens has no table for: no source, so no claim that the clock is off.
        let unknown = "Indicateur: 0\r\nStrate: 3\r\nOrigine: dc01.contoso.com\r\n";
        let u = parse_w32tm(unknown);
        assert_eq!((u.synced(), u.problem()), (None, None));
    }

    #[test]
    fn the_zone_file_of_the_collection_script() {
        let z = parse_zone(
            "Time zone: W. Europe Standard Time\r\nUTC offset: 02:00:00\r\nComputer: PC01\r\n",
        );
        assert_eq!(z.zone, "W. Europe Standard Time");
        assert_eq!(z.utc_offset.as_deref(), Some("02:00:00"));
        assert_eq!(z.computer.as_deref(), Some("PC01"));
    }
}
