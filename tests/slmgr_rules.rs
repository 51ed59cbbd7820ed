//! The slmgr host checks on bundles built to show them: a healthy simulated fleet whose host
//! `slmgr /dlv` output is edited the way each fault shows in it.

mod common;

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
    assert_eq!(a.bundle.slmgr.len(), 31, "one output per machine");
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
