//! The slmgr host checks on bundles built to show them: a healthy simulated fleet whose host
//! `slmgr /dlv` output is edited the way each fault shows in it.

use crate::common;

use common::*;
use kmslens::simulate::SimConfig;

fn fleet_with_host_output(edit: impl Fn(&str) -> String) -> kmslens::analysis::Analysis {
    let (dir, truth) = simulate(&SimConfig {
        clients: 30,
        days: 10,
        seed: 17,
        ..SimConfig::default()
    });
    assert!(truth.is_empty());
    let path = dir.path().join("kms01/slmgr-dlv.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    analyze(&[dir.path().to_path_buf()], &[])
}

fn fired(a: &kmslens::analysis::Analysis, rule: &str) -> Vec<String> {
    a.findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn a_healthy_host_output_raises_nothing() {
    let a = fleet_with_host_output(|t| t.to_string());
    assert!(
        a.findings.is_empty(),
        "{:#?}",
        a.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    let outputs = a.bundle.sources.iter().filter(|s| s.kind.name() == "slmgr");
    assert_eq!(outputs.count(), 31, "one output per machine");
}

#[test]
fn count_stuck_at_one() {
    let a = fleet_with_host_output(|t| {
        t.lines()
            .map(|l| {
                if l.trim_start().starts_with("Current count:") {
                    "    Current count: 1"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    });
    let m = fired(&a, "KMS-HOST-COUNT-STUCK");
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("kms01 shows Current count: 1 in slmgr while 30 machines ask it"),
        "{m:?}"
    );
}

#[test]
fn listening_port_is_not_the_clients_port() {
    let a =
        fleet_with_host_output(|t| t.replace("Listening on Port: 1688", "Listening on Port: 2688"));
    let m = fired(&a, "KMS-HOST-PORT-MISMATCH");
    assert_eq!(
        m,
        vec!["kms01 listens on port 2688, but 30 clients connect to it on port 1688".to_string()]
    );
}

#[test]
fn dns_publishing_disabled_while_clients_use_dns() {
    let a =
        fleet_with_host_output(|t| t.replace("DNS publishing enabled", "DNS publishing disabled"));
    let m = fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF");
    assert_eq!(m, vec!["kms01 does not publish its SRV record, while 30 clients rely on DNS to find a KMS host".to_string()]);
    let f = a
        .findings
        .iter()
        .find(|f| f.rule == "KMS-HOST-DNS-PUBLISHING-OFF")
        .unwrap();
    assert!(
        f.evidence[0].source.ends_with("kms01/slmgr-dlv.txt") && f.evidence[0].record_id.is_none()
    );
}

#[test]
fn host_key_not_activated() {
    let a = fleet_with_host_output(|t| {
        t.replace("License Status: Licensed", "License Status: Notification")
    });
    assert_eq!(fired(&a, "KMS-HOST-UNLICENSED"), vec!["KMS host kms01 shows License Status: Notification for Windows(R), ServerStandard edition".to_string()]);
}

/// A client's `slmgr /dlv` edited to show a retail key: KMS-NOT-KMS-CLIENT names that client.
fn read_text(path: &std::path::Path) -> String {
    kmslens::sources::encoding::decode(&std::fs::read(path).unwrap()).into_owned()
}

fn retail(text: &str) -> String {
    text.replace("VOLUME_KMSCLIENT channel", "RETAIL channel")
}

fn not_kms_client_subjects(a: &kmslens::analysis::Analysis) -> Vec<Vec<String>> {
    a.findings
        .iter()
        .filter(|f| f.rule == "KMS-NOT-KMS-CLIENT")
        .map(|f| f.subjects.get("client").cloned().unwrap_or_default())
        .collect()
}

#[test]
fn an_slmgr_output_takes_its_machine_from_the_zip_or_the_logs_beside_it() {
    use std::io::Write;
    let (dir, _) = simulate(&SimConfig {
        clients: 30,
        days: 10,
        seed: 17,
        ..SimConfig::default()
    });
    let root = dir.path();
    // PC004 collected as PC004.contoso.com.zip with slmgr-dlv.txt at the root of the zip.
    let text = read_text(&root.join("PC004/slmgr-dlv.txt"));
    std::fs::remove_file(root.join("PC004/slmgr-dlv.txt")).unwrap();
    let mut w =
        zip::ZipWriter::new(std::fs::File::create(root.join("PC004.contoso.com.zip")).unwrap());
    w.start_file("slmgr-dlv.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(retail(&text).as_bytes()).unwrap();
    w.finish().unwrap();
    // PC009's files in a folder whose name is not the machine's: its Application log names it.
    let text = read_text(&root.join("PC009/slmgr-dlv.txt"));
    std::fs::write(root.join("PC009/slmgr-dlv.txt"), retail(&text)).unwrap();
    std::fs::rename(root.join("PC009"), root.join("collected-2")).unwrap();
    // An output of nobody knows which machine, alone at the root.
    let text = read_text(&root.join("PC011/slmgr-dlv.txt"));
    std::fs::write(root.join("slmgr-dlv.txt"), retail(&text)).unwrap();

    let a = analyze(&[root.to_path_buf()], &[]);
    let subjects = not_kms_client_subjects(&a);
    assert_eq!(subjects, [vec!["pc004"], vec!["pc009"]], "{subjects:?}");
    let unknown = a
        .bundle
        .sources
        .iter()
        .find(|s| {
            s.source.ends_with("/slmgr-dlv.txt")
                && s.source.matches('/').count() == root.to_string_lossy().matches('/').count() + 1
        })
        .unwrap();
    assert!(
        unknown.tally.diagnostics.iter().any(|d| d
            .message
            .contains("machine of this slmgr output is unknown")),
        "{:?}",
        unknown.tally.diagnostics
    );
    let cov = kmslens::report::coverage::of(&a);
    assert!(
        cov.problems
            .iter()
            .any(|p| p.what.contains("unknown machine") && p.source == *unknown.source),
        "the coverage names it"
    );
    assert!(
        a.findings.iter().all(|f| !f.subjects.is_empty()),
        "no finding without a subject"
    );
}

#[test]
fn a_second_host_kept_out_of_dns_is_not_a_finding_unless_clients_fail_to_find_one() {
    let disable = |dir: &std::path::Path, host: &str| {
        let path = dir.join(host).join("slmgr-dlv.txt");
        let text = read_text(&path).replace("DNS publishing enabled", "DNS publishing disabled");
        std::fs::write(&path, text).unwrap();
    };
    let (dir, truth) = simulate(&SimConfig {
        clients: 30,
        hosts: 2,
        days: 10,
        seed: 17,
        ..SimConfig::default()
    });
    assert!(truth.is_empty());
    disable(dir.path(), "kms02");
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert!(fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF").is_empty());
    assert!(
        a.findings.is_empty(),
        "{:?}",
        fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF")
    );
    let cov = kmslens::report::coverage::of(&a);
    assert!(
        cov.notes
            .iter()
            .any(|n| n.starts_with("kms02 does not publish")),
        "{:?}",
        cov.notes
    );
    // Both hosts out of DNS while clients look there: it hurts.
    disable(dir.path(), "kms01");
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert_eq!(fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF").len(), 2);

    // Clients failing SRV discovery make even a second host's setting worth a finding.
    let (dir, _) = simulate(&SimConfig {
        clients: 30,
        hosts: 2,
        days: 10,
        seed: 17,
        faults: vec![kmslens::simulate::Fault::SrvNotFound],
        ..SimConfig::default()
    });
    disable(dir.path(), "kms02");
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert_eq!(
        fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF").len(),
        1,
        "{:?}",
        fired(&a, "KMS-HOST-DNS-PUBLISHING-OFF")
    );
}
