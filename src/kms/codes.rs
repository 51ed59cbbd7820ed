//! Activation error codes (§6): symbol, meaning, typical cause and fix, for `kmslens explain` and
//! for findings that carry a code.

use super::hresult::Hresult;

pub struct CodeInfo {
    pub code: u32,
    pub symbol: &'static str,
    pub meaning: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
}

const fn c(
    code: u32,
    symbol: &'static str,
    meaning: &'static str,
    cause: &'static str,
    fix: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        symbol,
        meaning,
        cause,
        fix,
    }
}

pub const CODES: &[CodeInfo] = &[
    c(
        0xC004F038,
        "SL_E_VL_NOT_ENOUGH_COUNT",
        "The count reported by your Key Management Service (KMS) is insufficient.",
        "The host has seen fewer unique machines in 30 days than the product needs (25 for a Windows client OS, 5 for Windows Server and Office); clones sharing a CMID count once.",
        "Wait for more clients, check for duplicate CMIDs (`slmgr /dlv` on clients; `sysprep /generalize` the image) and for clients split over several hosts.",
    ),
    c(
        0xC004F039,
        "SL_E_VL_BINDING_SERVICE_NOT_ENABLED",
        "The Key Management Service (KMS) is not enabled.",
        "The KMS host does not respond or KMS is not enabled on it.",
        "Check the host (`slmgr /dlv`), its Software Protection service and TCP 1688.",
    ),
    c(
        0x4004F040,
        "SL_E_VL_INFO_PRODUCT_USER_RIGHT",
        "The product was activated but the owner should verify the Product Use Rights.",
        "Informational (Office shows it when licensed).",
        "Nothing to fix.",
    ),
    c(
        0xC004F041,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED",
        "The Key Management Service (KMS) is not activated. KMS needs to be activated.",
        "The KMS host itself is not activated.",
        "Activate the host's KMS key: `slmgr /ato` on the host (online or by phone).",
    ),
    c(
        0xC004F042,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH",
        "The specified Key Management Service (KMS) cannot be used.",
        "The host's KMS key (CSVLK) does not cover the client's product: an older host key or a host missing the update for newer products.",
        "Install the servicing update for the client's version on the host, or a newer CSVLK (`slmgr /ipk`, `slmgr /ato`).",
    ),
    c(
        0xC004F056,
        "SL_E_VL_MACHINE_NOT_BOUND",
        "The software Licensing Service reported that the product could not be activated using the Key Management Service (KMS).",
        "Generic KMS activation failure.",
        "Look at the Application log of the client for 12288/12289 and at the host's Key Management Service log.",
    ),
    c(
        0xC004F06B,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_VM_NOT_SUPPORTED",
        "The product cannot be activated in a virtual machine by this KMS.",
        "KMS activation of a VM where not supported.",
        "Use a supported host or activation method for VMs.",
    ),
    c(
        0xC004F06C,
        "SL_E_VL_INVALID_TIMESTAMP",
        "The Key Management Service (KMS) determined that the request timestamp is invalid.",
        "Client and host clocks differ by more than 4 hours (compared in UTC).",
        "Fix time synchronisation: `w32tm /query /status`, `w32tm /resync`, then `slmgr /ato` on the client.",
    ),
    c(
        0xC004F074,
        "SL_E_VL_BINDING_SERVICE_UNAVAILABLE",
        "No Key Management Service (KMS) could be contacted.",
        "sppsvc stopped on the host, TCP 1688 blocked, or a stale/wrong `_vlmcs._tcp` SRV or A record; the 12288 Info shows the underlying error.",
        "Test `Test-NetConnection <host> -Port 1688`, check `nslookup -type=srv _vlmcs._tcp.<domain>` and the host's service.",
    ),
    c(
        0xC004F035,
        "SL_E_VL_NOT_WINDOWS_SLP",
        "Volume licensing requires a qualifying operating system (BIOS marker).",
        "The OEM marker in the BIOS is missing (mostly Windows 7 era).",
        "Use a MAK key or a qualifying OS.",
    ),
    c(
        0xC004C001,
        "",
        "The activation server determined the specified product key is invalid.",
        "Wrong or mistyped key.",
        "Check the key.",
    ),
    c(
        0xC004C003,
        "",
        "The activation server determined the specified product key is blocked.",
        "The key was blocked.",
        "Get a new key.",
    ),
    c(
        0xC004C008,
        "",
        "The activation server determined that the specified product key could not be used.",
        "The KMS host key has used its activations (10 activations on up to 6 hosts).",
        "Request more activations for the CSVLK from Microsoft.",
    ),
    c(
        0xC004C020,
        "",
        "The activation server reported that the Multiple Activation Key has exceeded its limit.",
        "MAK limit reached.",
        "MAK, not KMS: request more activations.",
    ),
    c(
        0xC004C021,
        "",
        "The activation server reported that the Multiple Activation Key extension limit has been exceeded.",
        "MAK extension limit reached.",
        "MAK, not KMS.",
    ),
    c(
        0xC004B100,
        "",
        "The activation server determined that the computer could not be activated.",
        "MAK/retail activation failure.",
        "Not a KMS problem.",
    ),
    c(
        0xC004F009,
        "",
        "The grace period expired.",
        "The machine was not activated in time.",
        "Activate it (`slmgr /ato`).",
    ),
    c(
        0xC004F00F,
        "",
        "Hardware ID binding is beyond the level of tolerance.",
        "Hardware changed too much.",
        "Reactivate.",
    ),
    c(
        0xC004F014,
        "",
        "The product key is not available.",
        "No key installed for this product.",
        "Install the GVLK (`slmgr /ipk`).",
    ),
    c(
        0xC004F025,
        "SL_E_LUA_ACCESSDENIED",
        "Access denied: the requested action requires elevated privileges.",
        "Not run as administrator.",
        "Run elevated.",
    ),
    c(
        0xC004F02C,
        "SL_E_CIDIID_INVALID_DATA",
        "The format for the offline activation data is incorrect.",
        "Offline activation data mistyped.",
        "Retry phone activation.",
    ),
    c(
        0xC004F050,
        "SL_E_INVALID_PRODUCT_KEY",
        "The product key is invalid.",
        "Wrong key, or a new CSVLK on a host lacking the update for it.",
        "Check the key and the host's updates.",
    ),
    c(
        0xC004F051,
        "SL_E_BLOCKED_PRODUCT_KEY",
        "The product key is blocked.",
        "The key was blocked.",
        "Get a new key.",
    ),
    c(
        0xC004F064,
        "",
        "The non-genuine grace period expired.",
        "Non-genuine state.",
        "Activate with a genuine key.",
    ),
    c(
        0xC004F065,
        "",
        "The application is running within the valid non-genuine period.",
        "Non-genuine state.",
        "Activate with a genuine key.",
    ),
    c(
        0xC004F075,
        "SL_E_SERVICE_STOPPING",
        "The operation cannot be completed because the service is stopping.",
        "sppsvc was stopping.",
        "Retry.",
    ),
    c(
        0x80070005,
        "E_ACCESSDENIED",
        "Access denied: the requested action requires elevated privileges.",
        "Not run as administrator.",
        "Run elevated.",
    ),
    c(
        0x8007232A,
        "DNS_ERROR_RCODE_SERVER_FAILURE",
        "DNS server failure.",
        "The client's DNS server failed the SRV lookup.",
        "Check the client's DNS servers.",
    ),
    c(
        0x8007232B,
        "DNS_ERROR_RCODE_NAME_ERROR",
        "DNS name does not exist.",
        "No `_vlmcs._tcp` SRV record in the client's DNS domain (the host never published one, or the client looks in another domain).",
        "Create the SRV record or let the host publish it (see event 12293), or set the host with `slmgr /skms <host>:1688`; `slmgr /skms-domain` for another domain.",
    ),
    c(
        0x8007251D,
        "DNS_INFO_NO_RECORDS",
        "No records found for DNS query.",
        "The `_vlmcs._tcp` SRV lookup found nothing.",
        "Create the SRV record or point clients at the host with `slmgr /skms`.",
    ),
    c(
        0x800706BA,
        "RPC_S_SERVER_UNAVAILABLE",
        "The RPC server is unavailable.",
        "The KMS host cannot be reached (down, firewall on TCP 1688).",
        "Test TCP 1688 to the host and the host's firewall rule \"Key Management Service (TCP-In)\".",
    ),
    c(
        0x80072338,
        "DNS_ERROR_RCODE_BADSIG",
        "DNS signature failed to verify.",
        "In 12293: the host may not update the existing `_VLMCS` SRV record (its ACL belongs to another host).",
        "Give the host's computer account Full Control on the `_VLMCS` record, restart sppsvc, look for 12294.",
    ),
    c(
        0x80072EE7,
        "WININET_E_NAME_NOT_RESOLVED",
        "The server name or address could not be resolved.",
        "No internet / name resolution (8198, 8200, 8208).",
        "Check DNS and internet access.",
    ),
    c(
        0x800704CF,
        "ERROR_NETWORK_UNREACHABLE",
        "The network location cannot be reached.",
        "No network route (seen in 8198).",
        "Check the network.",
    ),
    c(
        0xC0020017,
        "RPC_S_UNKNOWN_IF",
        "The RPC service is unavailable (unknown interface).",
        "Seen in 8198 when the KMS host cannot be contacted.",
        "Check that the host runs KMS and TCP 1688 is open.",
    ),
    c(
        0x8007139F,
        "ERROR_INVALID_STATE",
        "The group or resource is not in the correct state.",
        "Seen in 8198 when the KMS host cannot be contacted.",
        "Check the host and the network path.",
    ),
    c(
        0x8007007B,
        "ERROR_INVALID_NAME",
        "The filename, directory name, or volume label syntax is incorrect.",
        "Wrong key type for the activation attempted, or a DNS name problem.",
        "Check the key type (GVLK for KMS) and the SRV record.",
    ),
    c(
        0x80070490,
        "ERROR_NOT_FOUND",
        "Element not found.",
        "Listed in activation troubleshooting.",
        "See the activation error codes reference.",
    ),
];

pub fn lookup(code: Hresult) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_code_is_known_once() {
        for code in [
            0xC004F038u32,
            0xC004F042,
            0xC004F06C,
            0xC004F074,
            0x8007232B,
            0x8007251D,
            0x800706BA,
            0x80072338,
        ] {
            assert!(lookup(Hresult(code)).is_some(), "{code:#X}");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(CODES.iter().all(|c| seen.insert(c.code)), "duplicate code");
        assert!(lookup(Hresult(0x1234)).is_none());
    }
}
