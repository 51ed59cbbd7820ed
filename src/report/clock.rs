//! Times as the reader compares them: in the zone of `--tz` (the customer's local clock) in the
//! text, Markdown and HTML reports, which say which zone they use; UTC in JSON and event rows.

use crate::rules::finding::{EvidenceItem, Finding, MessagePart};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub struct Clock {
    zone: TimeZone,
}

impl Clock {
    pub fn new(zone: TimeZone) -> Clock {
        Clock { zone }
    }

    pub fn is_utc(&self) -> bool {
        crate::kms::zones::is_utc(&self.zone)
    }

    /// The zone's name as the reports state it: `UTC`, `Europe/Rome`.
    pub fn name(&self) -> &str {
        match self.zone.iana_name() {
            _ if self.is_utc() => "UTC",
            Some(name) => name,
            None => "local time",
        }
    }

    /// `2026-10-01 08:00`, in the zone.
    pub fn minute(&self, t: Timestamp) -> String {
        t.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// `minute`, or `-` for no time.
    pub fn minute_or_dash(&self, t: Option<Timestamp>) -> String {
        t.map(|t| self.minute(t)).unwrap_or_else(|| "-".into())
    }

    /// An evidence time as findings carry it (`2026-10-01 06:00:01Z`, UTC) in the zone, with its
    /// offset there (`2026-10-01 08:00:01 +02:00`); UTC text is left as it is.
    pub fn evidence_time(&self, utc: &str) -> String {
        if self.is_utc() {
            return utc.to_string();
        }
        match utc.trim().replace(' ', "T").parse::<Timestamp>() {
            Ok(t) => self.second(t),
            Err(_) => utc.to_string(),
        }
    }

    /// A finding's message with its times in the zone (`2026-10-01 08:00:01 +02:00`).
    pub fn message(&self, f: &Finding) -> String {
        if self.is_utc() || f.message_parts.is_empty() {
            return f.message.clone();
        }
        MessagePart::join(&f.message_parts, |t| self.second(t))
    }

    /// `2026-10-01 08:00:01 +02:00`, in the zone.
    fn second(&self, t: Timestamp) -> String {
        t.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }

    /// The calendar day of a time in the zone (`2026-10-01`).
    pub fn day(&self, t: Timestamp) -> String {
        t.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d")
            .to_string()
    }

    /// A span of evidence times, `first to last`, in the zone.
    pub fn span(&self, first: Option<&str>, last: Option<&str>) -> Option<String> {
        let (f, l) = (
            first.map(|t| self.evidence_time(t)),
            last.map(|t| self.evidence_time(t)),
        );
        match (f, l) {
            (Some(f), Some(l)) if f == l => Some(f),
            (Some(f), Some(l)) => Some(format!("{f} to {l}")),
            (Some(t), None) | (None, Some(t)) => Some(t),
            (None, None) => None,
        }
    }

    /// One evidence item as a line: `file record 12 at 2026-…`.
    pub fn evidence_line(&self, e: &EvidenceItem) -> String {
        let record = e
            .record_id
            .map(|r| format!(" record {r}"))
            .unwrap_or_default();
        let when = e
            .time
            .as_deref()
            .map(|t| format!(" at {}", self.evidence_time(t)))
            .unwrap_or_default();
        format!("{}{record}{when}", e.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_zone_with_its_offset() {
        let rome = Clock::new(TimeZone::get("Europe/Rome").unwrap());
        assert_eq!(rome.name(), "Europe/Rome");
        let t: Timestamp = "2026-10-01T06:00:01Z".parse().unwrap();
        assert_eq!(rome.minute(t), "2026-10-01 08:00");
        assert_eq!(
            rome.evidence_time("2026-10-01 06:00:01Z"),
            "2026-10-01 08:00:01 +02:00"
        );
        // Winter time: one hour, not two.
        assert_eq!(
            rome.evidence_time("2026-12-01 06:00:01Z"),
            "2026-12-01 07:00:01 +01:00"
        );
        let utc = Clock::new(TimeZone::UTC);
        assert_eq!(utc.name(), "UTC");
        assert_eq!(
            utc.evidence_time("2026-10-01 06:00:01Z"),
            "2026-10-01 06:00:01Z"
        );
        assert_eq!(utc.minute(t), "2026-10-01 06:00");
        // Late evening UTC is the next day in Rome: the charts count it there.
        let late: Timestamp = "2026-10-01T23:30:00Z".parse().unwrap();
        assert_eq!(
            (utc.day(late), rome.day(late)),
            ("2026-10-01".into(), "2026-10-02".into())
        );
    }
}
