//! `slmgr.vbs /dlv` and `/dli` output (§7): the labels per language, as data, and the typed
//! product record. English is complete (from the slmgr source [S20]); German holds only the one
//! verified label [S38]; other languages are read by structure.

/// What a labelled line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Name,
    Description,
    ActivationId,
    ProductChannel,
    PartialKey,
    LicenseStatus,
    /// "Volume activation expiration" / "Time remaining": minutes.
    MinutesLeft,
    Cmid,
    KmsFromDns,
    KmsRegistered,
    CurrentCount,
    Port,
    TotalRequests,
    FailedRequests,
    /// "Activation Object name": the client was activated through Active Directory (§7.1).
    ActivationObject,
}

pub struct Language {
    pub code: &'static str,
    pub labels: &'static [(&'static str, Field)],
    /// License status wording → the English slmgr wording.
    pub statuses: &'static [(&'static str, &'static str)],
    /// Lines without a value: (text, what it says).
    pub statements: &'static [(&'static str, Statement)],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statement {
    HostCachingEnabled,
    HostCachingDisabled,
    DnsPublishingEnabled,
    DnsPublishingDisabled,
    KmsEnabledOnThisMachine,
}

pub const ENGLISH: Language = Language {
    code: "en",
    labels: &[
        ("Name", Field::Name),
        ("Description", Field::Description),
        ("Activation ID", Field::ActivationId),
        ("Product Key Channel", Field::ProductChannel),
        ("Partial Product Key", Field::PartialKey),
        ("License Status", Field::LicenseStatus),
        ("Volume activation expiration", Field::MinutesLeft),
        ("Timebased activation expiration", Field::MinutesLeft),
        ("Time remaining", Field::MinutesLeft),
        ("Client Machine ID (CMID)", Field::Cmid),
        ("KMS machine name from DNS", Field::KmsFromDns),
        ("Registered KMS machine name", Field::KmsRegistered),
        ("Current count", Field::CurrentCount),
        ("Listening on Port", Field::Port),
        ("Total requests received", Field::TotalRequests),
        ("Failed requests received", Field::FailedRequests),
        ("Activation Object name", Field::ActivationObject),
    ],
    statuses: &[
        ("Licensed", "Licensed"),
        ("Unlicensed", "Unlicensed"),
        ("Initial grace period", "Initial grace period"),
        (
            "Additional grace period (KMS license expired or hardware out of tolerance)",
            "Additional grace period",
        ),
        ("Non-genuine grace period.", "Non-genuine grace period"),
        ("Notification", "Notification"),
        ("Extended grace period", "Extended grace period"),
    ],
    statements: &[
        ("KMS host caching is enabled", Statement::HostCachingEnabled),
        (
            "KMS host caching is disabled",
            Statement::HostCachingDisabled,
        ),
        ("DNS publishing enabled", Statement::DnsPublishingEnabled),
        ("DNS publishing disabled", Statement::DnsPublishingDisabled),
        (
            "Key Management Service is enabled on this machine",
            Statement::KmsEnabledOnThisMachine,
        ),
    ],
};

pub const GERMAN: Language = Language {
    code: "de",
    labels: &[("Lizenzstatus", Field::LicenseStatus)],
    statuses: &[("Lizenziert", "Licensed")],
    statements: &[],
};

pub const LANGUAGES: [&Language; 2] = [&ENGLISH, &GERMAN];

/// A machine's role, from its product description and KMS lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Host,
    Client,
    Other,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Client => "client",
            Role::Other => "other",
        }
    }
}

/// One product block of an slmgr output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlmgrProduct {
    pub name: Option<String>,
    pub description: Option<String>,
    pub activation_id: Option<String>,
    pub product_channel: Option<String>,
    pub partial_key: Option<String>,
    /// English slmgr wording (`Licensed`, `Notification`...), whatever the output's language.
    pub license_status: Option<String>,
    pub minutes_left: Option<u64>,
    pub cmid: Option<String>,
    pub kms_host: Option<String>,
    pub kms_port: Option<u16>,
    /// `dns` (KMS machine name from DNS) or `registered` (set with /skms).
    pub kms_host_source: Option<&'static str>,
    pub host_caching: Option<bool>,
    pub kms_enabled: bool,
    pub current_count: Option<u64>,
    pub port: Option<u16>,
    pub dns_publishing: Option<bool>,
    pub total_requests: Option<u64>,
    pub failed_requests: Option<u64>,
    /// The AD activation object that activated it (AD-based activation).
    pub activation_object: Option<String>,
}

impl SlmgrProduct {
    pub fn role(&self) -> Role {
        let d = self
            .description
            .as_deref()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if self.kms_enabled || (d.contains("VOLUME_KMS") && !d.contains("VOLUME_KMSCLIENT")) {
            Role::Host
        } else if d.contains("VOLUME_KMSCLIENT")
            || self.cmid.is_some()
            || self.activation_object.is_some()
        {
            Role::Client
        } else {
            Role::Other
        }
    }
}
