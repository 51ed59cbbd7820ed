//! `slmgr.vbs /dlv` output of simulated machines, in the layout of the slmgr source (§7.1):
//! English labels, 4-space indentation of the KMS blocks, CRLF.

/// What a host's output shows.
pub struct HostState {
    pub licensed: bool,
    pub current_count: u32,
    pub total_requests: u64,
    pub failed_requests: u64,
}

/// What a client's output shows.
pub struct ClientState<'a> {
    pub product_name: &'a str,
    pub kms_client_key: bool,
    pub activated_minutes_left: Option<i64>,
    pub grace_minutes_left: i64,
    pub cmid: &'a str,
    pub act_id: &'a str,
    /// `host:port` found through DNS; `None` when discovery failed.
    pub kms_from_dns: Option<String>,
    /// Activated through Active Directory by this activation object (§7.1).
    pub activation_object: Option<&'a str>,
}

fn days(minutes: i64) -> i64 {
    (minutes + 1439) / 1440
}

pub fn host_dlv(s: &HostState) -> String {
    let mut t = vec![
        "Software licensing service version: 10.0.20348.2527".to_string(),
        String::new(),
        "Name: Windows(R), ServerStandard edition".into(),
        "Description: Windows(R) Operating System, VOLUME_KMS_2012-R2_WIN10 channel".into(),
        "Activation ID: 8a1f8a3a-2e6b-4bb5-9b2b-1f0c4d1e2a31".into(),
        "Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f".into(),
        "Product Key Channel: Volume:CSVLK".into(),
        "Partial Product Key: 7XQ2M".into(),
    ];
    if s.licensed {
        t.push("License Status: Licensed".into());
    } else {
        t.push("License Status: Notification".into());
        t.push("Notification Reason: 0xC004F009 (grace time expired).".into());
    }
    t.extend([
        "Remaining Windows rearm count: 1000".to_string(),
        "Remaining SKU rearm count: 1001".into(),
        "Trusted time: 10/31/2026 6:00:00 AM".into(),
        String::new(),
        "Key Management Service is enabled on this machine".into(),
        format!("    Current count: {}", s.current_count),
        "    Listening on Port: 1688".into(),
        "    DNS publishing enabled".into(),
        "    KMS priority: Normal".into(),
        String::new(),
        "Key Management Service cumulative requests received from clients".into(),
        format!("    Total requests received: {}", s.total_requests),
        format!("    Failed requests received: {}", s.failed_requests),
        "    Requests with License Status Unlicensed: 0".into(),
        format!(
            "    Requests with License Status Licensed: {}",
            s.total_requests - s.failed_requests
        ),
        "    Requests with License Status Initial grace period: 0".into(),
        "    Requests with License Status License expired or Hardware out of tolerance: 0".into(),
        "    Requests with License Status Non-genuine grace period: 0".into(),
        "    Requests with License Status Notification: 0".into(),
    ]);
    t.join("\r\n") + "\r\n"
}

pub fn client_dlv(s: &ClientState) -> String {
    let channel = if s.kms_client_key {
        "VOLUME_KMSCLIENT"
    } else {
        "RETAIL"
    };
    let mut t = vec![
        "Software licensing service version: 10.0.22621.4111".to_string(),
        String::new(),
        format!("Name: Windows(R), {}", s.product_name),
        format!("Description: Windows(R) Operating System, {channel} channel"),
        format!("Activation ID: {}", s.act_id),
        "Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f".into(),
        format!(
            "Product Key Channel: {}",
            if s.kms_client_key {
                "Volume:GVLK"
            } else {
                "Retail"
            }
        ),
        "Partial Product Key: 3V66T".into(),
    ];
    match s.activated_minutes_left {
        Some(m) => {
            t.push("License Status: Licensed".into());
            t.push(format!(
                "Volume activation expiration: {m} minute(s) ({} day(s))",
                days(m)
            ));
        }
        None => {
            t.push("License Status: Initial grace period".into());
            t.push(format!(
                "Time remaining: {} minute(s) ({} day(s))",
                s.grace_minutes_left,
                days(s.grace_minutes_left)
            ));
        }
    }
    t.extend([
        "Remaining Windows rearm count: 1000".to_string(),
        "Trusted time: 10/31/2026 6:00:00 AM".into(),
    ]);
    if let (Some(ao), Some(_)) = (s.activation_object, s.activated_minutes_left) {
        // An AD-activated client prints its activation object instead of the KMS block.
        t.extend([
            "Configured Activation Type: All".to_string(),
            String::new(),
            "Most recent activation information:".into(),
            format!("Activation Object name: {ao}"),
            "AO extended PID: 06401-00206-491-411285-03-1033-20348.0000-3002026".into(),
            format!("AO activation ID: {}", s.act_id),
        ]);
    } else if s.kms_client_key {
        t.extend([
            "Configured Activation Type: All".to_string(),
            String::new(),
            "Most recent activation information:".into(),
            "Key Management Service client information".into(),
            format!("    Client Machine ID (CMID): {}", s.cmid),
        ]);
        match &s.kms_from_dns {
            Some(h) => t.push(format!("    KMS machine name from DNS: {h}")),
            None => t.push("    DNS auto-discovery: KMS name not available".into()),
        }
        t.extend([
            "    KMS machine extended PID: 06401-00206-491-411285-03-1033-20348.0000-3002026"
                .to_string(),
            "    Activation interval: 120 minutes".into(),
            "    Renewal interval: 10080 minutes".into(),
            "    KMS host caching is enabled".into(),
        ]);
    }
    t.join("\r\n") + "\r\n"
}
