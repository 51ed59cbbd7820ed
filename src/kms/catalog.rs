//! The product catalog (`data/products.toml`, embedded at build time): activation id → product,
//! its KMS product group (count needed) and the host keys that activate the group. Data, not code:
//! add a product in the file.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

const TEXT: &str = include_str!("../../data/products.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub sources: BTreeMap<String, String>,
    #[serde(rename = "host_key")]
    pub host_keys: Vec<HostKey>,
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
    /// Activation id → (group, product) positions: every attempt looks its product up.
    #[serde(skip)]
    index: HashMap<String, (usize, usize)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostKey {
    pub name: String,
    pub groups: Vec<String>,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub kms_id: String,
    pub name: String,
    pub family: Family,
    pub min_count: u32,
    pub source: String,
    /// `[activation id, name]` pairs.
    pub products: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    WindowsClient,
    WindowsServer,
    Office,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::WindowsClient => "Windows client",
            Family::WindowsServer => "Windows Server",
            Family::Office => "Office",
        }
    }
}

/// A product the catalog knows.
pub struct Known<'a> {
    pub act_id: &'a str,
    pub name: &'a str,
    pub group: &'a Group,
}

impl Catalog {
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let mut c: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
        c.check()?;
        for (g, group) in c.groups.iter().enumerate() {
            for (p, (id, _)) in group.products.iter().enumerate() {
                c.index.insert(id.clone(), (g, p));
            }
        }
        Ok(c)
    }

    /// Every id a GUID, activation ids unique, counts 5 or 25, host keys naming known groups,
    /// sources cited.
    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        let guid = |s: &str| super::values::Guid::parse(s).is_some() && s == s.to_lowercase();
        for g in &self.groups {
            if !guid(&g.kms_id) || ![5, 25].contains(&g.min_count) || g.products.is_empty() {
                return Err(format!(
                    "group {}: bad kms_id, min_count or no product",
                    g.id
                ));
            }
            if !self.sources.contains_key(&g.source) {
                return Err(format!("group {}: unknown source {}", g.id, g.source));
            }
            for (id, name) in &g.products {
                if !guid(id) || name.is_empty() || !seen.insert(id.as_str()) {
                    return Err(format!(
                        "group {}: bad or repeated activation id {id}",
                        g.id
                    ));
                }
            }
        }
        for k in &self.host_keys {
            if let Some(bad) = k
                .groups
                .iter()
                .find(|g| !self.groups.iter().any(|x| &x.id == *g))
            {
                return Err(format!("host key {}: unknown group {bad}", k.name));
            }
            if !self.sources.contains_key(&k.source) {
                return Err(format!("host key {}: unknown source {}", k.name, k.source));
            }
        }
        Ok(())
    }

    pub fn product(&self, act_id: &str) -> Option<Known<'_>> {
        let id = act_id.trim().trim_matches(['{', '}']).to_ascii_lowercase();
        let &(g, p) = self.index.get(&id)?;
        let group = &self.groups[g];
        let (act_id, name) = &group.products[p];
        Some(Known {
            act_id,
            name,
            group,
        })
    }

    /// The host keys that activate a group, in catalog order.
    pub fn host_keys_for(&self, group: &str) -> Vec<&str> {
        self.host_keys
            .iter()
            .filter(|k| k.groups.iter().any(|g| g == group))
            .map(|k| k.name.as_str())
            .collect()
    }
}

/// The embedded catalog. Its test keeps it valid; were it not, the catalog is empty.
pub fn get() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::parse(TEXT).unwrap_or_else(|_| Catalog {
            sources: BTreeMap::new(),
            host_keys: vec![],
            groups: vec![],
            index: HashMap::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_valid() {
        let c = Catalog::parse(TEXT).unwrap();
        assert!(c.groups.iter().map(|g| g.products.len()).sum::<usize>() > 150);
        let p = get()
            .product("{73111121-5638-40F6-BC11-F1D7B0D64300}")
            .unwrap();
        assert_eq!(p.name, "Windows 10/11 Enterprise");
        assert_eq!(p.group.min_count, 25);
        assert_eq!(p.group.family, Family::WindowsClient);
        let server = get()
            .product("8c1c5410-9f39-4805-8c9d-63a07706358f")
            .unwrap();
        let keys = get().host_keys_for(&server.group.id);
        assert_eq!(
            keys,
            [
                "Windows Server 2025",
                "Windows Server 2019",
                "Windows Server 2016"
            ]
        );
        // The newest products, with the counted ids Microsoft's licence files give.
        let dc = get()
            .product("c052f164-cdf6-409a-a0cb-853ba0f0f55a")
            .unwrap();
        assert_eq!(dc.name, "Windows Server 2025 Datacenter");
        assert_eq!(dc.group.kms_id, "907f1f65-adcd-4a2e-95bc-4bf500bc6e58");
        let ws2022 = get()
            .product("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03")
            .unwrap();
        assert_eq!(
            get().host_keys_for(&ws2022.group.id),
            ["Windows Server 2025"]
        );
        let office = get()
            .product("8d368fc1-9470-4be2-8d66-90e836cbb051")
            .unwrap();
        assert_eq!(office.group.family, Family::Office);
        assert_eq!(get().host_keys_for(&office.group.id), ["Office LTSC 2024"]);
        assert!(
            get()
                .product("2c060131-0e43-4e01-adc1-cf5ad1100da8")
                .is_none()
        );
    }

    #[test]
    fn a_bad_catalog_is_refused() {
        let base = "[sources]\ns = \"x\"\n[[group]]\nid = \"g\"\nkms_id = \"58e2134f-8e11-4d17-9cb2-91069c151148\"\nname = \"G\"\nfamily = \"office\"\nmin_count = 5\nsource = \"s\"\nproducts = [[\"73111121-5638-40f6-bc11-f1d7b0d64300\", \"P\"]]\n";
        let bad_key =
            format!("{base}[[host_key]]\nname = \"K\"\ngroups = [\"nope\"]\nsource = \"s\"\n");
        assert!(Catalog::parse(&bad_key).unwrap_err().contains("nope"));
        let bad_count = base.replace("min_count = 5", "min_count = 7");
        assert!(
            Catalog::parse(&format!(
                "{bad_count}[[host_key]]\nname = \"K\"\ngroups = [\"g\"]\nsource = \"s\"\n"
            ))
            .is_err()
        );
    }
}
