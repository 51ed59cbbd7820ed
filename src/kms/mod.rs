//! Domain knowledge about KMS activation: which events matter, how their `Info` payloads are laid
//! out, what their codes mean. Nothing outside this module hard-codes an event id or error code.
//! Layouts follow `../shared/docs/kms-reference.md` (section numbers cited as §n).

pub mod catalog;
pub mod codes;
pub mod decode;
pub mod event;
pub mod hresult;
pub mod ids;
pub mod probes;
pub mod products;
pub mod raw;
pub mod slmgr;
pub mod thresholds;
pub mod values;
pub mod zones;

pub use decode::decode;
pub use event::{KmsBody, KmsEvent};
pub use hresult::Hresult;
pub use ids::EventKind;
pub use raw::{Data, RawEvent};
