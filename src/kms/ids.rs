//! Event identities (§1, §2): an event id means something only together with its provider and
//! channel (12288 is a common number elsewhere).

/// Windows 7 / Server 2008 R2 and later (sppsvc.exe).
pub const PROVIDER_SPP: &str = "Microsoft-Windows-Security-SPP";
/// Windows Vista / Server 2008 (slsvc.exe).
pub const PROVIDER_SLC: &str = "Microsoft-Windows-Security-Licensing-SLC";
/// Office 2010 (and Office 2013/2016 on Windows 7): OSPP logs under its event source name.
pub const PROVIDER_OSPP: &str = "Office Software Protection Platform Service";
/// The host's log of processed requests (12290).
pub const CHANNEL_KMS: &str = "Key Management Service";

/// The licensing providers whose events kmslens keeps.
pub const PROVIDERS: [&str; 3] = [PROVIDER_SPP, PROVIDER_SLC, PROVIDER_OSPP];

/// Strings whose presence in an EVTX chunk means it may hold a relevant record. A chunk without
/// any of them (as UTF-16LE) holds none: provider and channel names are stored in every chunk
/// that has a record of them.
pub const PREFILTER_NEEDLES: [&str; 4] = [PROVIDER_SPP, PROVIDER_SLC, PROVIDER_OSPP, CHANNEL_KMS];

pub const CLIENT_REQUEST: u16 = 12288;
pub const CLIENT_RESPONSE: u16 = 12289;
pub const HOST_REQUEST: u16 = 12290;
pub const DNS_PUBLISH_FAILED: u16 = 12293;
pub const DNS_PUBLISH_SUCCEEDED: u16 = 12294;
pub const ACTIVATION_FAILED: u16 = 8198;
pub const ACQUISITION_FAILED: u16 = 8200;
pub const GENUINE_TICKET_FAILED: u16 = 8208;
pub const VL_ACTIVATION_FAILED: u16 = 8233;
/// 0xC0002015: the activation object cannot be retrieved from Active Directory (§1 message table).
pub const AD_OBJECT_NOT_RETRIEVED: u16 = 8213;
/// 0xC0002017: Active Directory-based activation failed (§1 message table).
pub const AD_ACTIVATION_FAILED: u16 = 8215;
pub const LICENSING_STATUS: u16 = 1003;
/// Active Directory-based activation succeeded (§1: SKU id, activation object name and DN).
pub const AD_ACTIVATION: u16 = 12308;
/// A virtual machine processed an Automatic VM Activation response from its Hyper-V host (§1).
pub const AVMA_RESPONSE: u16 = 12309;

/// What a kept event is, decided from provider, channel and event id together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// 12288 on a client: request sent.
    ClientRequest,
    /// 12289 on a client: response processed.
    ClientResponse,
    /// 12290 in the host's Key Management Service log: request processed.
    HostRequest,
    /// 12293 on a host: publishing the SRV record failed.
    DnsPublishFailed,
    /// 12294 on a host: publishing the SRV record succeeded.
    DnsPublishSucceeded,
    /// 8198, 8200, 8208, 8233, 8213, 8215: activation failures with an HRESULT.
    SppError,
    /// 1003: licensing status check.
    LicensingStatus,
    /// 12308 (Active Directory-based activation) or 12309 (Automatic VM Activation): a client
    /// activated through another channel than KMS.
    OtherActivation,
    /// Any other event of a licensing provider (900, 902, 16384 ...).
    OtherSpp,
    /// Anything else in the Key Management Service log (kept for the tampering rule).
    OtherKmsLog,
}

pub fn is_kms_provider(provider: &str) -> bool {
    PROVIDERS.iter().any(|p| p.eq_ignore_ascii_case(provider))
}

pub fn is_kms_channel(channel: &str) -> bool {
    channel.trim().eq_ignore_ascii_case(CHANNEL_KMS)
}

/// `None` when the event is not relevant to KMS activation.
pub fn classify(provider: &str, channel: &str, event_id: u16) -> Option<EventKind> {
    let from_provider = is_kms_provider(provider);
    if is_kms_channel(channel) {
        // Only a licensing provider's 12290 belongs in this log; anything else was put there.
        return Some(if from_provider && event_id == HOST_REQUEST {
            EventKind::HostRequest
        } else {
            EventKind::OtherKmsLog
        });
    }
    if !from_provider {
        return None;
    }
    Some(match event_id {
        CLIENT_REQUEST => EventKind::ClientRequest,
        CLIENT_RESPONSE => EventKind::ClientResponse,
        HOST_REQUEST => EventKind::HostRequest,
        DNS_PUBLISH_FAILED => EventKind::DnsPublishFailed,
        DNS_PUBLISH_SUCCEEDED => EventKind::DnsPublishSucceeded,
        ACTIVATION_FAILED
        | ACQUISITION_FAILED
        | GENUINE_TICKET_FAILED
        | VL_ACTIVATION_FAILED
        | AD_OBJECT_NOT_RETRIEVED
        | AD_ACTIVATION_FAILED => EventKind::SppError,
        LICENSING_STATUS => EventKind::LicensingStatus,
        AD_ACTIVATION | AVMA_RESPONSE => EventKind::OtherActivation,
        _ => EventKind::OtherSpp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_count_only_with_their_provider() {
        assert_eq!(
            classify(PROVIDER_SPP, "Application", 12288),
            Some(EventKind::ClientRequest)
        );
        assert_eq!(
            classify(PROVIDER_SLC, "Application", 12289),
            Some(EventKind::ClientResponse)
        );
        assert_eq!(
            classify(PROVIDER_OSPP, "Application", 12288),
            Some(EventKind::ClientRequest)
        );
        assert_eq!(classify("SomeApp", "Application", 12288), None);
        assert_eq!(
            classify("microsoft-windows-security-spp", "Application", 8198),
            Some(EventKind::SppError)
        );
        assert_eq!(
            classify(PROVIDER_SPP, "Application", 902),
            Some(EventKind::OtherSpp)
        );
        // A prefix of the provider is another provider.
        assert_eq!(
            classify("Microsoft-Windows-Security-SPP-UX-Notifications", "X", 100),
            None
        );
    }

    #[test]
    fn everything_in_the_kms_log_is_kept() {
        assert_eq!(
            classify(PROVIDER_SPP, CHANNEL_KMS, 12290),
            Some(EventKind::HostRequest)
        );
        assert_eq!(
            classify(PROVIDER_SLC, CHANNEL_KMS, 12290),
            Some(EventKind::HostRequest)
        );
        assert_eq!(
            classify("Persistence", CHANNEL_KMS, 1337),
            Some(EventKind::OtherKmsLog)
        );
        assert_eq!(
            classify("Persistence", CHANNEL_KMS, 12290),
            Some(EventKind::OtherKmsLog)
        );
        assert_eq!(
            classify(PROVIDER_SPP, CHANNEL_KMS, 12288),
            Some(EventKind::OtherKmsLog)
        );
    }
}
