//! Typed KMS events: the output of the model stage.

use super::hresult::Hresult;
use super::ids::EventKind;
use super::values::{Guid, LicenseStatus, StatusFlags};
use compact_str::CompactString;
use jiff::Timestamp;
use std::sync::Arc;

/// One kept event with the evidence needed to cite it: source, record id and UTC time.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsEvent {
    /// Source, computer, channel and provider: shared by the events of a source.
    pub origin: Arc<Origin>,
    pub record_id: u64,
    /// `TimeCreated`, UTC.
    pub time: Timestamp,
    pub event_id: u16,
    pub body: KmsBody,
}

/// Where an event was logged: one allocation per source (and per computer, channel and provider
/// it names), not four fields per event.
#[derive(Debug, PartialEq, Eq)]
pub struct Origin {
    /// Path of the log inside the bundle (`bundle.zip!client01/Application.evtx`).
    pub source: Arc<str>,
    /// `Computer`.
    pub computer: Arc<str>,
    /// The machine identity of `computer` (`values::machine_id`), worked out once.
    pub machine: Arc<str>,
    /// `Channel` and provider name.
    pub channel: Arc<str>,
    pub provider: Arc<str>,
}

/// The last origin and texts seen, shared by the events that repeat them (every event of a log,
/// in practice).
#[derive(Debug, Default)]
pub struct Names {
    origin: Option<Arc<Origin>>,
    kms_host: Option<Arc<str>>,
    status: Option<Arc<str>>,
}

impl Names {
    fn share(slot: &mut Option<Arc<str>>, name: &str) -> Arc<str> {
        match slot {
            Some(last) if **last == *name => last.clone(),
            _ => slot.insert(Arc::from(name)).clone(),
        }
    }

    /// The origin of an event of `source` naming these computer, channel and provider.
    pub fn origin(
        &mut self,
        source: &Arc<str>,
        computer: &str,
        channel: &str,
        provider: &str,
    ) -> Arc<Origin> {
        if let Some(o) = &self.origin
            && *o.source == **source
            && *o.computer == *computer
            && *o.channel == *channel
            && *o.provider == *provider
        {
            return o.clone();
        }
        // Keep what did not change (a forwarded log names many computers, one channel).
        let last = self.origin.take();
        let reuse = |pick: fn(&Origin) -> &Arc<str>, name: &str| match &last {
            Some(o) if **pick(o) == *name => pick(o).clone(),
            _ => Arc::from(name),
        };
        let machine = match &last {
            Some(o) if *o.computer == *computer => o.machine.clone(),
            _ => Arc::from(super::values::machine_id(computer)),
        };
        let origin = Arc::new(Origin {
            source: source.clone(),
            computer: reuse(|o| &o.computer, computer),
            machine,
            channel: reuse(|o| &o.channel, channel),
            provider: reuse(|o| &o.provider, provider),
        });
        self.origin.insert(origin).clone()
    }

    /// A licensing status text (a client logs the same one again and again).
    pub fn status(&mut self, text: &str) -> Arc<str> {
        Self::share(&mut self.status, text)
    }

    /// The KMS host a client asked (the same in every request of a client, in practice).
    pub fn kms_host(&mut self, name: &str) -> Arc<str> {
        Self::share(&mut self.kms_host, name)
    }
}

impl KmsEvent {
    pub fn source(&self) -> &Arc<str> {
        &self.origin.source
    }

    pub fn computer(&self) -> &Arc<str> {
        &self.origin.computer
    }

    /// The machine identity of the computer that logged the event.
    pub fn machine(&self) -> &Arc<str> {
        &self.origin.machine
    }

    pub fn channel(&self) -> &Arc<str> {
        &self.origin.channel
    }

    pub fn provider(&self) -> &Arc<str> {
        &self.origin.provider
    }

    pub fn kind(&self) -> EventKind {
        match &self.body {
            KmsBody::ClientRequest(_) => EventKind::ClientRequest,
            KmsBody::ClientResponse(_) => EventKind::ClientResponse,
            KmsBody::HostRequest(_) => EventKind::HostRequest,
            KmsBody::DnsPublishFailed(_) => EventKind::DnsPublishFailed,
            KmsBody::DnsPublishSucceeded(_) => EventKind::DnsPublishSucceeded,
            KmsBody::SppError(_) => EventKind::SppError,
            KmsBody::LicensingStatus(_) => EventKind::LicensingStatus,
            KmsBody::OtherActivation(_) => EventKind::OtherActivation,
            KmsBody::OtherSpp(_) => EventKind::OtherSpp,
            KmsBody::OtherKmsLog(_) => EventKind::OtherKmsLog,
            KmsBody::Malformed(m) => m.kind,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum KmsBody {
    ClientRequest(ClientRequest),
    ClientResponse(ClientResponse),
    HostRequest(HostRequest),
    DnsPublishFailed(DnsPublishFailed),
    DnsPublishSucceeded(DnsPublishSucceeded),
    SppError(SppError),
    LicensingStatus(LicensingStatus),
    OtherActivation(OtherActivation),
    OtherSpp(OtherEvent),
    OtherKmsLog(OtherEvent),
    /// A relevant event whose payload does not have the documented layout.
    Malformed(Malformed),
}

/// 12288 (§4.2).
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRequest {
    pub hresult: Hresult,
    pub status_flags: StatusFlags,
    /// The KMS host the client contacted; `None` when the field is empty.
    pub kms_host: Option<Arc<str>>,
    pub kms_port: Option<u16>,
    pub cmid: Guid,
    /// Client clock at the request (minute precision); `None` when unreadable.
    pub client_time: Option<Timestamp>,
    pub vm: bool,
    pub license_status: LicenseStatus,
    pub minutes_left: u32,
    pub act_id: Guid,
    /// Minimum count the product needs; empty in some real events (§5.2).
    pub min_count: Option<u32>,
}

/// 12289 (§4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct ClientResponse {
    pub hresult: Hresult,
    pub status_flags: StatusFlags,
    pub activated: bool,
    pub current_count: u32,
    pub activation_interval: u32,
    pub renewal_interval: u32,
    pub client_time: Option<Timestamp>,
}

/// 12290 (§4.1).
#[derive(Clone, Debug, PartialEq)]
pub struct HostRequest {
    pub hresult: Hresult,
    pub min_count: u32,
    /// Inline up to 24 bytes (a client's FQDN, in practice): no allocation for each of a host
    /// log's records.
    pub client_name: CompactString,
    pub cmid: Guid,
    pub client_time: Option<Timestamp>,
    pub vm: bool,
    pub license_status: LicenseStatus,
    pub minutes_left: u32,
    pub act_id: Guid,
}

/// 12293 (§4.6).
#[derive(Clone, Debug, PartialEq)]
pub struct DnsPublishFailed {
    pub hresult: Hresult,
    pub domain: String,
}

/// 12294 (§4.6).
#[derive(Clone, Debug, PartialEq)]
pub struct DnsPublishSucceeded {
    pub domain: String,
}

/// 8198, 8200, 8208, 8233 (§4.6): a code and what came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct SppError {
    pub hresult: Option<Hresult>,
    pub detail: Option<String>,
}

/// 1003 (§4.6).
#[derive(Clone, Debug, PartialEq)]
pub struct LicensingStatus {
    pub app_id: Option<Guid>,
    pub status: Arc<str>,
}

/// The channel a client activated through, when it is not KMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationChannel {
    /// Active Directory-based activation (12308).
    Ad,
    /// Automatic VM Activation by the Hyper-V host (12309).
    Avma,
}

impl ActivationChannel {
    pub fn name(self) -> &'static str {
        match self {
            ActivationChannel::Ad => "ad",
            ActivationChannel::Avma => "avma",
        }
    }
}

/// 12308 (AD-based activation: SKU id, activation object name and DN) or 12309 (AVMA: returned
/// HRESULT and info) (§1, §4.6).
#[derive(Clone, Debug, PartialEq)]
pub struct OtherActivation {
    pub channel: ActivationChannel,
    /// 12308: the activated SKU; 12309: none.
    pub act_id: Option<Guid>,
    /// 12309: the HRESULT the host returned (12308 is a success by definition).
    pub hresult: Hresult,
    /// 12308: activation object name and DN; 12309: the info text.
    pub detail: String,
}

impl OtherActivation {
    pub fn succeeded(&self) -> bool {
        self.hresult.is_success()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OtherEvent {
    pub data: Vec<String>,
    /// The event carries `<Binary>` data (how payloads are hidden in the KMS log, §10).
    pub has_binary: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Malformed {
    pub kind: EventKind,
    pub reason: String,
    pub data: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kept event is held until the tables are built: its size is the bundle's memory.
    #[test]
    fn a_kept_event_stays_small() {
        let sizes = [
            ("KmsEvent", size_of::<KmsEvent>()),
            ("KmsBody", size_of::<KmsBody>()),
            ("ClientRequest", size_of::<ClientRequest>()),
            ("HostRequest", size_of::<HostRequest>()),
        ];
        eprintln!("{sizes:?}");
        assert!(size_of::<KmsEvent>() <= 160, "{sizes:?}");
    }
}
