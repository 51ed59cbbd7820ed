//! Text renderings (`wevtutil qe /f:text`, `Get-WinEvent | Format-List`) print the local time of
//! the machine that rendered them, with no zone. They are read in `--tz` (UTC by default); once the
//! bundle is read, a source whose machine's `timezone.txt` was collected is read again in that
//! zone, which is the machine's own, and is exact across daylight saving time.

use super::container;
use super::report::{ProbeRecord, SourceReport};
use crate::kms::KmsEvent;
use crate::kms::probes::{MachineZone, Probe};
use crate::kms::values::machine_id;
use crate::messages::Severity;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::Arc;

/// Moves the times of each text rendering into its machine's collected zone, and says in each
/// such source's report which zone its times were read in.
pub fn resolve(
    reports: &mut [SourceReport],
    probes: &[ProbeRecord],
    events: &mut [KmsEvent],
    option: &TimeZone,
) {
    // Most bundles hold no text rendering: no zone is worked out for them.
    if !reports.iter().any(|r| r.local_times) {
        return;
    }
    let zones: Vec<(&ProbeRecord, MachineZone)> = probes
        .iter()
        .filter_map(|p| match &p.probe {
            Probe::Zone(z) => Some((p, z.machine_zone()?)),
            _ => None,
        })
        .collect();
    let mut moved: HashMap<Arc<str>, TimeZone> = HashMap::new();
    for r in reports.iter_mut().filter(|r| r.local_times) {
        let how = match machine_zone_of(r, &zones) {
            Some((probe, zone)) => {
                if zone.zone != *option {
                    rezone_tally(r, option, &zone.zone);
                    moved.insert(r.source.clone(), zone.zone.clone());
                }
                format!("read in {}, the zone of {}", zone.label, probe.source)
            }
            None => read_in_option(option),
        };
        r.diag(
            Severity::Note,
            None,
            format!(
                "text renderings show local time without a zone: {how}; record ids are line numbers"
            ),
        );
    }
    if moved.is_empty() {
        return;
    }
    for e in events {
        if let Some(to) = moved.get(&e.origin.source) {
            e.time = rezone(e.time, option, to);
        }
    }
}

fn read_in_option(option: &TimeZone) -> String {
    match option.iana_name() {
        Some(name) if !crate::kms::zones::is_utc(option) => {
            format!("read as {name} time (--tz)")
        }
        _ => "read as UTC; collect the machine's timezone.txt (scripts/collect-kms-bundle.ps1), give its zone with --tz (e.g. --tz Europe/Rome), or export as .evtx or XML for exact times".into(),
    }
}

/// The zone collected beside the rendering (same folder or zip), else for the machine it names.
fn machine_zone_of<'z>(
    r: &SourceReport,
    zones: &'z [(&'z ProbeRecord, MachineZone)],
) -> Option<&'z (&'z ProbeRecord, MachineZone)> {
    let here = container(&r.source);
    zones
        .iter()
        .find(|(p, _)| container(&p.source) == here)
        .or_else(|| {
            let machines: Vec<String> = r.tally.computers.iter().map(machine_id).collect();
            zones.iter().find(|(p, _)| {
                p.computer
                    .as_deref()
                    .is_some_and(|c| machines.contains(&machine_id(c)))
            })
        })
}

fn rezone_tally(r: &mut SourceReport, from: &TimeZone, to: &TimeZone) {
    let t = &mut r.tally;
    t.first_time = t.first_time.map(|x| rezone(x, from, to));
    t.last_time = t.last_time.map(|x| rezone(x, from, to));
    t.kms_span = t
        .kms_span
        .map(|(f, l)| (rezone(f, from, to), rezone(l, from, to)));
}

/// A time read as the wall-clock time of `from`, read again as that of `to` (the earlier of an
/// hour that repeats when the clocks go back, as Windows shows both alike).
fn rezone(t: Timestamp, from: &TimeZone, to: &TimeZone) -> Timestamp {
    from.to_datetime(t)
        .to_zoned(to.clone())
        .map_or(t, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_time_moves_to_the_machine_zone() {
        let t: Timestamp = "2026-10-01T08:00:00Z".parse().unwrap();
        let rome = TimeZone::get("Europe/Rome").unwrap();
        // 08:00 read as UTC is 08:00 in Rome: 06:00 UTC in summer time.
        assert_eq!(
            rezone(t, &TimeZone::UTC, &rome).to_string(),
            "2026-10-01T06:00:00Z"
        );
        let winter: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        assert_eq!(
            rezone(winter, &TimeZone::UTC, &rome).to_string(),
            "2026-12-01T07:00:00Z"
        );
        // Back from Rome to New York: 08:00 Rome wall time is 08:00 New York wall time.
        let ny = TimeZone::get("America/New_York").unwrap();
        let from_rome = rezone(t, &TimeZone::UTC, &rome);
        assert_eq!(
            rezone(from_rome, &rome, &ny).to_string(),
            "2026-10-01T12:00:00Z"
        );
    }
}
