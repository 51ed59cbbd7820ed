//! Activation ids (ActID, the SKU's activation configuration id) used by the simulator, with the
//! minimum count their product needs (§4.1, §4.2, §8).

pub struct Product {
    pub act_id: &'static str,
    pub name: &'static str,
    /// N-Policy: 25 for a Windows client OS, 5 for Windows Server and Office.
    pub min_count: u32,
}

/// Windows 10/11 Enterprise (Volume:GVLK).
pub const WINDOWS_ENTERPRISE: Product = Product {
    act_id: "73111121-5638-40f6-bc11-f1d7b0d64300",
    name: "Windows 10/11 Enterprise",
    min_count: 25,
};
/// Windows Server 2008 R2 Standard (Volume:GVLK), the ActID of KB 974998's events [S1][S15].
pub const WINDOWS_SERVER: Product = Product {
    act_id: "68531fb9-5511-4989-97be-d11a0f55633f",
    name: "Windows Server 2008 R2 Standard",
    min_count: 5,
};
/// Office 2019 Professional Plus (Volume:GVLK), from the product catalog (`data/products.toml`).
pub const OFFICE_2019_PRO_PLUS: Product = Product {
    act_id: "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03",
    name: "Office Professional Plus 2019",
    min_count: 5,
};
/// The server ActID of the real 12288 of §12 (min count 5 in that event).
pub const WINDOWS_SERVER_CLOUD: Product = Product {
    act_id: "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03",
    name: "Windows Server (cloud VM)",
    min_count: 5,
};
