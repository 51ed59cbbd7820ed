//! What was read from each source, for stderr.

use crate::ingest::report::{SourceReport, Status};
use crate::sources::sniff::SourceKind;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Up to this many sources, every one gets a line.
const LIST_ALL_UP_TO: usize = 60;

pub fn render(sources: &[SourceReport], all: bool) -> String {
    let mut s = String::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut read, mut skipped, mut unreadable, mut damaged, mut records, mut kept) =
        (0, 0, 0, 0, 0u64, 0usize);
    for r in sources {
        match &r.status {
            Status::Read => {
                read += 1;
                *kinds.entry(r.kind.name()).or_default() += 1;
            }
            Status::Skipped(_) => skipped += 1,
            Status::Unreadable(_) => unreadable += 1,
        }
        // Read in part (as the coverage counts it): an unreadable source is counted once.
        if r.status == Status::Read && r.is_damaged() {
            damaged += 1;
        }
        records += r.tally.records;
        kept += r.tally.kms_events;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        s,
        "kmslens: {} read ({}), {skipped} skipped, {unreadable} unreadable, {damaged} damaged; {records} records seen, {kept} KMS events kept",
        crate::messages::plural(read, "source", "sources"),
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        }
    );
    // A large bundle lists only its sources with problems.
    let quiet_ok = !all && sources.len() > LIST_ALL_UP_TO;
    let mut not_listed = 0usize;
    for r in sources {
        if quiet_ok && r.status == Status::Read && !r.is_damaged() {
            not_listed += 1;
            continue;
        }
        let state = match &r.status {
            Status::Read if r.is_damaged() => "damaged".to_string(),
            Status::Read => "ok".to_string(),
            Status::Skipped(why) => format!("skipped: {why}"),
            Status::Unreadable(why) => format!("UNREADABLE: {why}"),
        };
        let kind = match &r.detail {
            Some(d) => format!("{} ({d})", r.kind),
            None => r.kind.to_string(),
        };
        let _ = write!(s, "  {:<7} {}", kind, r.source);
        if r.status == Status::Read && r.kind != SourceKind::Zip {
            let _ = write!(
                s,
                " | {} records, {} KMS",
                r.tally.records, r.tally.kms_events
            );
            if !r.tally.computers.is_empty() {
                let _ = write!(s, " | {}", r.tally.computers.joined());
            }
            if !r.tally.channels.is_empty() {
                let _ = write!(s, " | {}", r.tally.channels.joined());
            }
            if let (Some(a), Some(b)) = (r.tally.first_time, r.tally.last_time) {
                let _ = write!(
                    s,
                    " | {} .. {}",
                    a.strftime("%Y-%m-%d %H:%M:%SZ"),
                    b.strftime("%Y-%m-%d %H:%M:%SZ")
                );
            }
            if r.tally.lost.total() > 0 {
                let _ = write!(s, " | {} damaged", r.tally.lost.total());
            }
            if r.tally.rendered_as_xml > 0 {
                let _ = write!(s, " | {} rendered as XML", r.tally.rendered_as_xml);
            }
        }
        let _ = writeln!(s, " | {state}");
    }
    if not_listed > 0 {
        let _ = writeln!(
            s,
            "  ... and {not_listed} sources read without a problem (--verbose lists them)"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::report::Loss;

    #[test]
    fn an_unreadable_source_is_not_counted_damaged_too() {
        let mut lost = SourceReport::new("gone.evtx".into(), SourceKind::File);
        lost.fail("cannot read".into());
        let mut part = SourceReport::new("cut.evtx".into(), SourceKind::Evtx);
        part.damage(Loss::Truncated, None, "cut short");
        let line = render(&[lost, part], false);
        assert!(
            line.contains("1 source read (1 evtx), 0 skipped, 1 unreadable, 1 damaged;"),
            "{line}"
        );
    }
}
