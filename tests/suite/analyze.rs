//! The analysis on simulated fleets with known ground truth: each fault alone and several
//! together give exactly the expected findings; a healthy fleet gives none.

use crate::common;

use common::*;
use kmslens::rules::Severity;
use kmslens::simulate::{Fault, SimConfig, SimFormat};

fn run(
    cfg: SimConfig,
) -> (
    kmslens::analysis::Analysis,
    Vec<kmslens::simulate::model::Truth>,
) {
    let (dir, truth) = simulate(&cfg);
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    (a, truth)
}

#[test]
fn a_healthy_fleet_of_40_clients_over_30_days_has_no_finding() {
    let (a, truth) = run(SimConfig {
        clients: 40,
        days: 30,
        ..SimConfig::default()
    });
    assert!(truth.is_empty());
    assert_eq!(a.clients().len(), 40);
    assert!(
        a.attempts
            .iter()
            .filter(|x| x.latest)
            .all(|x| x.outcome == kmslens::correlate::Outcome::Activated)
    );
    let serious: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .map(|f| &f.message)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    assert!(a.diagnoses.is_empty(), "{:#?}", a.diagnoses);
}

#[test]
fn each_fault_alone_gives_its_ground_truth() {
    for (fault, hosts) in [
        (Fault::DupCmid, 1),
        (Fault::NoResponse, 1),
        (Fault::RogueHost, 1),
        (Fault::SplitCount, 2),
        (Fault::DnsPublish, 1),
        (Fault::InsufficientCount, 1),
        (Fault::ClockSkew, 1),
        (Fault::RejectedProduct, 1),
        (Fault::LogWrapped, 1),
        (Fault::Tampered, 1),
        (Fault::SrvNotFound, 1),
        (Fault::HostUnlicensed, 1),
        (Fault::NotKmsClient, 1),
        (Fault::HostClockSkew, 1),
        (Fault::Office, 1),
    ] {
        for format in [SimFormat::Xml, SimFormat::Evtx] {
            let (a, truth) = run(SimConfig {
                hosts,
                faults: vec![fault],
                seed: 7,
                format,
                ..SimConfig::default()
            });
            assert!(!truth.is_empty(), "{fault:?} produced no ground truth");
            let problems = accuracy(&a, &truth);
            assert!(
                problems.is_empty(),
                "{fault:?} in {format:?}: {problems:#?}"
            );
            let problems = diagnosis_mismatches(&a, &truth);
            assert!(
                problems.is_empty(),
                "{fault:?} in {format:?} diagnoses: {problems:#?}"
            );
        }
    }
}

#[test]
fn several_faults_together() {
    let faults = vec![
        Fault::DupCmid,
        Fault::NoResponse,
        Fault::DnsPublish,
        Fault::ClockSkew,
        Fault::RejectedProduct,
    ];
    let (a, truth) = run(SimConfig {
        clients: 60,
        faults,
        seed: 11,
        ..SimConfig::default()
    });
    let rules: std::collections::BTreeSet<&str> = truth.iter().map(|t| t.rule.as_str()).collect();
    assert!(rules.len() >= 6, "{rules:?}");
    let problems = accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = diagnosis_mismatches(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");

    let faults = vec![Fault::RogueHost, Fault::SplitCount, Fault::NoResponse];
    let (a, truth) = run(SimConfig {
        clients: 44,
        hosts: 2,
        faults,
        seed: 3,
        format: SimFormat::Mixed,
        ..SimConfig::default()
    });
    let problems = accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = diagnosis_mismatches(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_wrapped_host_log_does_not_make_old_requests_look_lost() {
    // The host log holds only the last fifth of the month: requests before it are not evidence.
    let (a, _) = run(SimConfig {
        faults: vec![Fault::LogWrapped, Fault::NoResponse],
        seed: 5,
        ..SimConfig::default()
    });
    let blocked: Vec<_> = a.attempts.iter().filter(|x| x.host.is_none()).collect();
    assert!(
        blocked.iter().any(|x| !x.host_log_covers),
        "requests before the log starts are not covered"
    );
    for f in a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-HOST-NOT-LOGGED")
    {
        let client = &f.subjects["client"][0];
        assert!(
            blocked
                .iter()
                .any(|x| *x.client == **client && x.host_log_covers)
        );
    }
    // Unblocked clients whose requests predate the log are not reported.
    assert!(
        a.findings
            .iter()
            .filter(|f| f.rule == "KMS-HOST-NOT-LOGGED")
            .count()
            <= 4
    );
}

#[test]
fn zipping_folders_does_not_change_the_findings() {
    let cfg = SimConfig {
        faults: vec![Fault::DupCmid, Fault::NoResponse, Fault::DnsPublish],
        seed: 9,
        ..SimConfig::default()
    };
    let (plain, _) = run(cfg.clone());
    let (zipped, _) = run(SimConfig {
        zip_some: true,
        ..cfg
    });
    let key = |a: &kmslens::analysis::Analysis| -> Vec<(String, String, String)> {
        a.findings
            .iter()
            .map(|f| {
                (
                    f.rule.clone(),
                    format!("{:?}", f.subjects),
                    f.message.clone(),
                )
            })
            .collect()
    };
    assert!(!plain.findings.is_empty());
    assert_eq!(key(&plain), key(&zipped));
    assert!(zipped.bundle.sources.iter().any(|s| s.kind.name() == "zip"));
}

#[test]
fn expected_hosts_make_other_hosts_rogue() {
    let (dir, _) = simulate(&SimConfig {
        clients: 30,
        hosts: 2,
        seed: 2,
        ..SimConfig::default()
    });
    let a = analyze(&[dir.path().to_path_buf()], &["kms01.contoso.com"]);
    let rogue: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-ROGUE-HOST")
        .collect();
    assert_eq!(rogue.len(), 1);
    assert_eq!(rogue[0].subjects["kms_host"], vec!["kms02".to_string()]);
    let a = analyze(
        &[dir.path().to_path_buf()],
        &["KMS01.contoso.com.", "kms02"],
    );
    assert!(a.findings.iter().all(|f| f.rule != "KMS-ROGUE-HOST"));
}

/// A large fleet with most faults at once, in EVTX: `cargo test -- --ignored` (about a minute).
#[test]
#[ignore]
fn a_large_fleet_with_many_faults() {
    let faults = vec![
        Fault::DupCmid,
        Fault::NoResponse,
        Fault::RogueHost,
        Fault::DnsPublish,
        Fault::ClockSkew,
        Fault::RejectedProduct,
        Fault::Tampered,
        Fault::SrvNotFound,
        Fault::NotKmsClient,
    ];
    let (a, truth) = run(SimConfig {
        clients: 2000,
        hosts: 3,
        days: 30,
        faults,
        seed: 77,
        format: SimFormat::Mixed,
        noise: 1,
        zip_some: true,
        command_outputs: true,
    });
    assert!(truth.len() > 100);
    let problems = accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = diagnosis_mismatches(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn clients_writing_local_time_in_their_requests_are_not_clock_skew() {
    // Two clients whose Info times are local (UTC+2 and UTC-8) and one whose clock is 5 hours off.
    let dir = tempfile::tempdir().unwrap();
    let cmid = |n: u8| format!("0f1e2d3c-4b5a-4697-8877-aa00bb11cc{n:02}");
    let act = "73111121-5638-40f6-bc11-f1d7b0d64300";
    let mut host = Vec::new();
    let mut keep = Vec::new();
    for (n, name, utc, local, host_time) in [
        (
            1u8,
            "PARIS",
            "2026-06-01T10:00:10Z",
            "2026/06/01 12:00",
            "2026-06-01T10:00:11Z",
        ),
        (
            2,
            "SEATTLE",
            "2026-06-01T11:00:10Z",
            "2026/06/01 03:00",
            "2026-06-01T11:00:11Z",
        ),
        // Clock 5 h ahead: its events and Info times say 16:00 UTC, the host logs 11:00 UTC.
        (
            3,
            "SKEWED",
            "2026-06-01T16:00:10Z",
            "2026/06/01 16:00",
            "2026-06-01T11:00:11Z",
        ),
    ] {
        let req = format!(
            "0x00000000, 0x00000000, kms01.contoso.com:1688, {}, {local}, 0, 2, 40000, {act}, 25",
            cmid(n)
        );
        let resp = format!("0x00000000, 0x00000000, 1, 0, 30, 120, 10080, {local}");
        let fqdn = format!("{name}.contoso.com");
        keep.push((n, fqdn.clone(), utc, req, resp));
        let (y, rest) = local.split_once('/').unwrap();
        let host_local: String = format!("{y}/{}", rest.replace("/0", "/").trim_start_matches('0'));
        let fields = format!("0x0,25,{fqdn},{},{host_local},0,2,40000,{act}", cmid(n));
        host.push((
            12290u16,
            "Key Management Service",
            "kms01.contoso.com",
            host_time,
            fields,
        ));
    }
    for (n, fqdn, utc, req, resp) in &keep {
        let resp_time = utc.replace(":10Z", ":11Z");
        let events: Vec<(u16, &str, &str, &str, &str)> = vec![
            (12288, "Application", fqdn, utc, req),
            (12289, "Application", fqdn, &resp_time, resp),
        ];
        write_events(dir.path(), &format!("client{n}.xml"), &events);
    }
    let host_refs: Vec<(u16, &str, &str, &str, &str)> = host
        .iter()
        .map(|(a, b, c, d, e)| (*a, *b, *c, *d, e.as_str()))
        .collect();
    write_events(dir.path(), "kms.xml", &host_refs);
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert_eq!(
        a.attempts.iter().filter(|x| x.host.is_some()).count(),
        3,
        "every request matched its host record"
    );
    let skewed: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-CLOCK-SKEW")
        .map(|f| f.subjects["client"].clone())
        .collect();
    assert_eq!(skewed, vec![vec!["skewed".to_string()]]);
}

#[test]
fn clock_skew_says_which_side_is_wrong() {
    // The host's clock is 5 hours ahead: every client is off against it.
    let (a, truth) = run(SimConfig {
        clients: 30,
        days: 5,
        faults: vec![Fault::HostClockSkew],
        seed: 5,
        ..SimConfig::default()
    });
    assert!(
        accuracy(&a, &truth).is_empty(),
        "{:#?}",
        accuracy(&a, &truth)
    );
    let d = &a.diagnoses[0];
    assert_eq!(d.id, "kms-clock-skew/kms01", "{:#?}", a.diagnoses);
    assert!(
        d.title.contains("the clock of kms01 is wrong"),
        "{}",
        d.title
    );
    assert_eq!(d.subjects["client"].len(), 30);
    // A few clients 5 hours ahead, against two hosts: their clocks, one problem.
    let (a, _) = run(SimConfig {
        clients: 48,
        hosts: 2,
        days: 5,
        faults: vec![Fault::ClockSkew],
        seed: 5,
        ..SimConfig::default()
    });
    let skew: Vec<_> = a
        .diagnoses
        .iter()
        .filter(|d| d.rules[0] == "KMS-CLOCK-SKEW")
        .collect();
    assert_eq!(skew.len(), 1, "{skew:#?}");
    assert_eq!(skew[0].id, "kms-clock-skew/clients");
    assert!(
        skew[0]
            .title
            .contains("the clocks of these clients are wrong")
    );
    assert_eq!(skew[0].subjects["kms_host"], ["kms01", "kms02"]);
}

#[test]
fn clients_activated_through_active_directory_are_not_reported() {
    // A fleet where one client in six activates through AD, with a KMS fault: blocked clients,
    // half of which moved to AD-based activation after two days of failed requests.
    let (a, truth) = run(SimConfig {
        clients: 60,
        days: 30,
        seed: 3,
        faults: vec![Fault::AdActivation, Fault::NoResponse],
        format: SimFormat::Mixed,
        ..SimConfig::default()
    });
    let problems = accuracy(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = diagnosis_mismatches(&a, &truth);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        a.diagnoses.len(),
        1,
        "only the KMS fault: {:#?}",
        a.diagnoses
    );
    let channels = a.activation_channels();
    assert!(channels["ad"] >= 10, "{channels:?}");
    // Every client that logged an AD activation, including those that tried KMS first.
    let ad = &a.overview.channels["ad"];
    // The rows were let go once the tables held them (the analysis' bundle has no events).
    assert!(a.overview.events > 0);
    for f in a.findings.iter().filter(|f| {
        matches!(
            f.rule.as_str(),
            "KMS-NOT-ACTIVATED" | "KMS-NO-RESPONSE" | "KMS-HOST-UNREACHABLE"
        )
    }) {
        let named = &f.subjects["client"];
        assert!(
            named.iter().all(|c| !ad.contains(c)),
            "{} names an AD-activated client: {}",
            f.rule,
            f.message
        );
    }
    // Some moved clients did fail over KMS first: their lost requests are still evidence.
    let moved: Vec<&String> = ad
        .iter()
        .filter(|c| a.attempts.iter().any(|x| *x.client == **c))
        .collect();
    assert!(!moved.is_empty());

    // AD activation alone: nothing to report.
    let (a, truth) = run(SimConfig {
        clients: 40,
        days: 30,
        seed: 3,
        faults: vec![Fault::AdActivation],
        ..SimConfig::default()
    });
    assert!(truth.is_empty());
    assert!(
        a.findings.is_empty(),
        "{:?}",
        a.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}

#[test]
fn failed_active_directory_activation_is_reported_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let app = "Application";
    // PC1 keeps failing; PC2 failed once, then activated through AD.
    write_events(
        dir.path(),
        "PC1.xml",
        &[
            (
                8215,
                app,
                "PC1.contoso.com",
                "2026-10-01T08:00:00Z",
                "0x8007054B|73111121-5638-40f6-bc11-f1d7b0d64300",
            ),
            (
                8213,
                app,
                "PC1.contoso.com",
                "2026-10-02T08:00:00Z",
                "0x8007054B|58e2134f-8e11-4d17-9cb2-91069c151148",
            ),
        ],
    );
    write_events(
        dir.path(),
        "PC2.xml",
        &[
            (
                8215,
                app,
                "PC2.contoso.com",
                "2026-10-01T08:00:00Z",
                "0x8007054B|73111121-5638-40f6-bc11-f1d7b0d64300",
            ),
            (
                12308,
                app,
                "PC2.contoso.com",
                "2026-10-01T09:00:00Z",
                "73111121-5638-40f6-bc11-f1d7b0d64300|Contoso AO Volume:CSVLK|CN=ao,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com",
            ),
        ],
    );
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    let failed: Vec<&kmslens::rules::finding::Finding> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-AD-ACTIVATION-FAILED")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].subjects["client"], ["pc1"]);
    assert!(
        failed[0].message.contains("2 times (0x8007054B)"),
        "{}",
        failed[0].message
    );
    assert_eq!(a.activation_channels().get("ad"), Some(&1));
}

#[test]
fn ad_activation_is_read_from_a_text_rendering_too() {
    // Event Viewer "Copy details as text" of a 12308: only the sentence is there.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("PC3 application.txt"),
        "Log Name:      Application\r\nSource:        Microsoft-Windows-Security-SPP\r\nDate:          10/1/2026 9:00:00 AM\r\nEvent ID:      12308\r\nComputer:      PC3.contoso.com\r\nDescription:\r\nActivation succeeded using Active Directory (SKU 73111121-5638-40f6-bc11-f1d7b0d64300, activation object CN=ao,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=contoso,DC=com).\r\n",
    )
    .unwrap();
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert_eq!(a.activation_channels().get("ad"), Some(&1));
}

#[test]
fn office_is_counted_apart_from_windows() {
    // Three machines: Windows activated (count 30), Office 2019 refused for want of count (3 of 5).
    let dir = tempfile::tempdir().unwrap();
    let app = "Application";
    for k in 1..=3 {
        let pc = format!("PC{k}.contoso.com");
        let windows = format!(
            "0x00000000, 0x00000000, kms01.contoso.com:1688, 1111111{k}-1111-1111-1111-111111111111, 2026/10/01 08:00, 0, 2, 43200, 73111121-5638-40f6-bc11-f1d7b0d64300, 25"
        );
        let office = format!(
            "0xC004F038, 0x00000000, kms01.contoso.com:1688, 2222222{k}-2222-2222-2222-222222222222, 2026/10/01 09:00, 0, 2, 43200, 85dd8b5f-eaa4-4af3-a628-cce9e77c9a03, 5"
        );
        write_events(
            dir.path(),
            &format!("PC{k}.xml"),
            &[
                (12288, app, &pc, "2026-10-01T08:00:00Z", &windows),
                (
                    12289,
                    app,
                    &pc,
                    "2026-10-01T08:00:01Z",
                    "0x00000000, 0x00000000, 1, 0, 30, 120, 10080, 2026/10/01 08:00",
                ),
                (12288, app, &pc, "2026-10-01T09:00:00Z", &office),
                (
                    12289,
                    app,
                    &pc,
                    "2026-10-01T09:00:01Z",
                    "0xC004F038, 0x00000000, 0, 0, 3, 120, 10080, 2026/10/01 09:00",
                ),
            ],
        );
    }
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    let insufficient: Vec<&String> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-INSUFFICIENT-COUNT")
        .map(|f| &f.message)
        .collect();
    assert_eq!(
        insufficient,
        [
            "kms01 reports a count of 3 for Office 2019 to 3 clients that need 5; they are not activated"
        ]
    );
    // The same machines' Windows is activated: nothing says otherwise.
    for f in &a.findings {
        assert!(
            !f.message.contains("need 25") && !f.message.contains("for Windows"),
            "{}",
            f.message
        );
    }
    let d = a
        .diagnoses
        .iter()
        .find(|d| d.rules[0] == "KMS-INSUFFICIENT-COUNT")
        .unwrap();
    assert!(d.title.contains("to activate Office 2019"), "{}", d.title);
    // The count chart draws Windows and Office as separate lines.
    let chart = kmslens::report::charts::host_counts(
        &a,
        &kmslens::report::clock::Clock::new(jiff::tz::TimeZone::UTC),
    )
    .unwrap();
    assert!(
        chart.contains("kms01 (Office 2019)") && chart.contains("kms01 (Windows client OS)"),
        "{chart}"
    );
}

#[test]
fn simulated_office_under_its_threshold_is_flagged_and_windows_is_not() {
    let (a, truth) = run(SimConfig {
        clients: 40,
        days: 10,
        seed: 5,
        faults: vec![Fault::Office],
        format: SimFormat::Mixed,
        ..SimConfig::default()
    });
    assert!(
        accuracy(&a, &truth).is_empty(),
        "{:#?}",
        accuracy(&a, &truth)
    );
    let office: std::collections::BTreeSet<&str> = a
        .attempts
        .iter()
        .filter(|x| &*x.act_id == "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03")
        .map(|x| &*x.client)
        .collect();
    assert_eq!(office.len(), 4);
    // The same machines' Windows is activated.
    for c in &office {
        assert!(a.attempts.iter().any(|x| &*x.client == *c
            && x.latest
            && &*x.act_id != "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03"
            && x.outcome == kmslens::correlate::Outcome::Activated));
    }
    let insufficient: Vec<&String> = a
        .findings
        .iter()
        .filter(|f| f.rule == "KMS-INSUFFICIENT-COUNT")
        .map(|f| &f.message)
        .collect();
    assert_eq!(insufficient.len(), 1);
    assert!(
        insufficient[0].contains("for Office 2019"),
        "{insufficient:?}"
    );
}

#[test]
fn vms_activated_by_their_hyper_v_host_are_counted_and_not_reported() {
    let (a, truth) = run(SimConfig {
        clients: 42,
        days: 30,
        seed: 8,
        faults: vec![Fault::Avma, Fault::AdActivation],
        format: SimFormat::Evtx,
        ..SimConfig::default()
    });
    assert!(truth.is_empty());
    assert!(
        a.findings.is_empty(),
        "{:?}",
        a.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    let channels = a.activation_channels();
    assert_eq!(channels.get("avma"), Some(&5), "{channels:?}");
    assert_eq!(channels.get("ad"), Some(&7), "{channels:?}");
    assert_eq!(a.clients().len(), 42);
}

#[test]
fn slmgr_output_of_an_ad_activated_client_counts_it_as_such() {
    let (dir, _) = simulate(&SimConfig {
        clients: 42,
        days: 10,
        seed: 8,
        faults: vec![Fault::AdActivation],
        ..SimConfig::default()
    });
    // Only the slmgr outputs (and the host's logs) are collected.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path().join("Application.xml");
        if p.exists() && !p.to_string_lossy().contains("kms01") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let a = analyze(&[dir.path().to_path_buf()], &[]);
    assert_eq!(a.activation_channels().get("ad"), Some(&7));
    let text = kmslens::report::text::render(
        &kmslens::report::model::of(&a),
        &kmslens::report::text::Options {
            colour: false,
            verbose: false,
        },
    );
    assert!(
        text.contains("7 activated through Active Directory"),
        "{text}"
    );
    // The analysis lets the products go once its tables hold them: read them again.
    let products = read(&[dir.path().to_path_buf()]).slmgr;
    let ao: Vec<_> = products
        .iter()
        .filter_map(|s| s.product.activation_object.as_deref())
        .collect();
    assert_eq!(ao.len(), 7);
    assert!(ao.iter().all(|o| o.contains("Volume:CSVLK")));
    assert!(
        a.findings.iter().all(|f| f.rule != "KMS-NOT-ACTIVATED"),
        "{:?}",
        a.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}

/// The collection script's nslookup, w32tm and time zone outputs, written by the simulator beside
/// each machine's logs (some zipped): each fault's new findings are found for exactly the right
/// machines, join the diagnosis of that fault, and cite the output file; a healthy fleet with
/// them raises nothing.
#[test]
fn command_outputs_beside_the_logs_become_dns_and_clock_evidence() {
    for (faults, rule) in [
        (vec![], None),
        (vec![Fault::SrvNotFound], Some("KMS-SRV-LOOKUP-EMPTY")),
        (vec![Fault::DnsPublish], Some("KMS-SRV-LOOKUP-EMPTY")),
        (vec![Fault::ClockSkew], Some("KMS-CLOCK-UNSYNCED")),
        (vec![Fault::HostClockSkew], Some("KMS-CLOCK-UNSYNCED")),
    ] {
        let (a, truth) = run(SimConfig {
            faults: faults.clone(),
            seed: 11,
            format: SimFormat::Mixed,
            zip_some: true,
            command_outputs: true,
            ..SimConfig::default()
        });
        let kinds = |name: &str| {
            a.bundle
                .sources
                .iter()
                .filter(|s| s.kind.name() == name)
                .count()
        };
        // One host and 40 clients, each with its three outputs.
        for kind in ["nslookup", "w32tm", "timezone"] {
            assert_eq!(kinds(kind), 41, "{faults:?}: {kind} outputs read");
        }
        assert!(a.bundle.probes.iter().all(|p| p.computer.is_some()));
        // The report in UTC says which --tz shows the machines' own clocks.
        let notes = kmslens::report::coverage::of(&a).notes;
        assert!(
            notes.iter().any(|n| n.contains(
                "timezone.txt give W. Europe Standard Time (Europe/Berlin): add --tz Europe/Berlin"
            )),
            "{notes:?}"
        );
        let problems = accuracy(&a, &truth);
        assert!(problems.is_empty(), "{faults:?}: {problems:#?}");
        let problems = diagnosis_mismatches(&a, &truth);
        assert!(problems.is_empty(), "{faults:?} diagnoses: {problems:#?}");
        let Some(rule) = rule else {
            assert!(a.findings.is_empty(), "{:?}", a.findings);
            continue;
        };
        assert!(
            truth.iter().any(|t| t.rule == rule),
            "{faults:?}: no {rule} in the truth"
        );
        let file = if rule == "KMS-SRV-LOOKUP-EMPTY" {
            "nslookup-vlmcs.txt"
        } else {
            "w32tm-status.txt"
        };
        for f in a.findings.iter().filter(|f| f.rule == rule) {
            assert!(
                f.evidence.iter().any(|e| e.source.ends_with(file)),
                "{rule} without its {file}: {:?}",
                f.evidence
            );
        }
    }
}

/// The analysis keeps only the events its tables hold, yet counts every KMS event it read and
/// spans them all: licensing status checks (1003) and other Software Protection events (902) are
/// counted, not kept.
#[test]
fn the_analysis_counts_every_kms_event_but_keeps_only_those_its_tables_hold() {
    let dir = tempfile::tempdir().unwrap();
    let request = "0x00000000, 0x00000000, kms01.contoso.com:1688, \
                   0f1e2d3c-4b5a-4697-8877-aa00bb110001, 2026/06/01 10:00, 0, 2, 40000, \
                   73111121-5638-40f6-bc11-f1d7b0d64300, 25";
    let pc = "pc1.contoso.com";
    write_events(
        dir.path(),
        "pc1.xml",
        &[
            (
                1003,
                "Application",
                pc,
                "2026-06-01T09:00:00Z",
                "55c92734-d682-4d71-983e-d6ec3f16059f|1: 73111121-5638-40f6-bc11-f1d7b0d64300, 1, 0 [(0 [0x00000000, 1, 0], [(?)(?)(?)(?)(?)(?)(?)(?)])(1 )(2 )]",
            ),
            (12288, "Application", pc, "2026-06-01T10:00:10Z", request),
            (
                902,
                "Application",
                pc,
                "2026-06-01T11:00:00Z",
                "6.3.9600.17415",
            ),
        ],
    );
    let paths = [dir.path().to_path_buf()];
    let read = |opts: &kmslens::ingest::IngestOptions| {
        kmslens::ingest::ingest(&paths, opts, &indicatif::ProgressBar::hidden()).events
    };
    let all = read(&Default::default());
    assert_eq!(all.len(), 3);
    let held = read(&kmslens::ingest::IngestOptions {
        keep: kmslens::tables::holds,
        ..Default::default()
    });
    assert_eq!(held.len(), 1, "only the request is held by a table");
    let a = analyze_with(&paths, &[], &[]);
    assert_eq!(a.overview.events, 3);
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(
        a.overview.time_span,
        Some((at("2026-06-01T09:00:00Z"), at("2026-06-01T11:00:00Z")))
    );
    assert_eq!(a.attempts.len(), 1);
}
