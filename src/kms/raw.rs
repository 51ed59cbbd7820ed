//! The format-neutral record every reader produces: the `<System>` fields that identify an event
//! and its `<EventData>` values in order.

use jiff::Timestamp;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawEvent {
    /// `EventRecordID`; `None` when the export leaves it out.
    pub record_id: Option<u64>,
    /// `TimeCreated`, UTC; `None` when the record has none.
    pub time: Option<Timestamp>,
    pub provider: String,
    /// Low 16 bits; the high word is in `qualifiers` for classic events.
    pub event_id: u16,
    pub qualifiers: Option<u16>,
    pub channel: String,
    pub computer: String,
    /// `<Data>` values in document order; names are not used by any KMS layout.
    pub data: Vec<String>,
    pub has_binary: bool,
}
