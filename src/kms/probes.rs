//! What a machine's own commands say about KMS discovery and its clock, as
//! `scripts/collect-kms-bundle.ps1` saves them: `nslookup -type=srv _vlmcs._tcp.<domain>`,
//! `w32tm /query /status` and the time zone. nslookup prints English labels on every Windows
//! language; w32tm's labels are English here (a localised output is read for what it can).

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
    /// leap indicator other than 3 (not synchronized).
    pub fn synced(&self) -> bool {
        let own_clock = self.source.as_deref().is_none_or(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("local cmos clock") || s.contains("free-running system clock")
        });
        self.error.is_none() && !own_clock && self.leap_indicator != Some(3)
    }

    /// What is wrong, in a phrase, when the clock does not follow a time server.
    pub fn problem(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("w32tm cannot query the time service: {e}"));
        }
        if self.synced() {
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
        if let Some(v) = value(line, "Source") {
            out.source = Some(v.to_string());
        } else if let Some(v) = value(line, "Last Successful Sync Time") {
            out.last_sync = Some(v.to_string());
        } else if let Some(v) = value(line, "Stratum") {
            out.stratum = number(v);
        } else if let Some(v) = value(line, "Leap Indicator") {
            out.leap_indicator = number(v);
        } else if let Some(v) = value(line, "The following error occurred") {
            out.error = Some(v.to_string());
        }
    }
    out
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
        assert!(s.synced() && s.problem().is_none());
        let cmos = "Leap Indicator: 3(not synchronized)\r\nStratum: 0 (unspecified)\r\nLast Successful Sync Time: unspecified\r\nSource: Local CMOS Clock\r\n";
        let c = parse_w32tm(cmos);
        assert!(!c.synced());
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
    fn the_zone_file_of_the_collection_script() {
        let z = parse_zone(
            "Time zone: W. Europe Standard Time\r\nUTC offset: 02:00:00\r\nComputer: PC01\r\n",
        );
        assert_eq!(z.zone, "W. Europe Standard Time");
        assert_eq!(z.utc_offset.as_deref(), Some("02:00:00"));
        assert_eq!(z.computer.as_deref(), Some("PC01"));
    }
}
