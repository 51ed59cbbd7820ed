//! The command outputs `scripts/collect-kms-bundle.ps1` saves beside a machine's logs, written as
//! Windows prints them (English labels) and as `Out-File -Encoding Unicode` stores them.

use super::model::MachineProbe;

const DNS_SERVER: &str = "dc01.contoso.com";

/// (file name, text) of each output.
pub fn outputs(p: &MachineProbe) -> [(&'static str, String); 3] {
    [
        ("nslookup-vlmcs.txt", nslookup(p)),
        ("w32tm-status.txt", w32tm(p)),
        ("timezone.txt", zone(p)),
    ]
}

fn nslookup(p: &MachineProbe) -> String {
    let query = format!("_vlmcs._tcp.{}", p.domain);
    let mut out = format!(
        "> nslookup -type=srv {query}\r\nServer:  {DNS_SERVER}\r\nAddress:  10.0.0.1\r\n\r\n"
    );
    if p.srv_targets.is_empty() {
        out += &format!("*** {DNS_SERVER} can't find {query}: Non-existent domain\r\n");
    }
    for target in &p.srv_targets {
        let (host, port) = target.rsplit_once(':').unwrap_or((target, "1688"));
        out += &format!(
            "{query}\tSRV service location:\r\n\t  priority       = 0\r\n\t  weight         = 0\r\n\t  port           = {port}\r\n\t  svr hostname   = {host}\r\n"
        );
    }
    out
}

fn w32tm(p: &MachineProbe) -> String {
    if p.free_running {
        "Leap Indicator: 3(not synchronized)\r\nStratum: 0 (unspecified)\r\nPrecision: -23 (119.209ns per tick)\r\nRoot Delay: 0.0000000s\r\nRoot Dispersion: 0.0000000s\r\nReferenceId: 0x00000000 (unspecified)\r\nLast Successful Sync Time: unspecified\r\nSource: Local CMOS Clock\r\nPoll Interval: 10 (1024s)\r\n".into()
    } else {
        format!(
            "Leap Indicator: 0(no warning)\r\nStratum: 3 (secondary reference - syncd by (S)NTP)\r\nPrecision: -23 (119.209ns per tick)\r\nRoot Delay: 0.0312500s\r\nRoot Dispersion: 7.8138787s\r\nReferenceId: 0x0A000001 (source IP:  10.0.0.1)\r\nLast Successful Sync Time: 10/31/2026 5:58:12 AM\r\nSource: {DNS_SERVER}\r\nPoll Interval: 10 (1024s)\r\n"
        )
    }
}

fn zone(p: &MachineProbe) -> String {
    let name = p.fqdn.split('.').next().unwrap_or(&p.fqdn);
    format!(
        "Time zone: W. Europe Standard Time\r\nUTC offset: 02:00:00\r\nLocal time: 2026-10-31 08:00:00\r\nUTC time: 2026-10-31 06:00:00\r\nComputer: {name}\r\nDomain: {}\r\n",
        p.domain
    )
}

/// UTF-16LE with a BOM, as Windows PowerShell 5.1's `Out-File -Encoding Unicode` writes.
pub fn utf16_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}
