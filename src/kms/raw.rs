//! The format-neutral record every reader produces: the `<System>` fields that identify an event
//! and its `<EventData>` values in order.

use jiff::Timestamp;
use std::fmt;

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
    pub data: Data,
    pub has_binary: bool,
}

impl RawEvent {
    /// Empties the event, keeping its buffers: a reader fills one event per record without
    /// allocating.
    pub fn clear(&mut self) {
        self.record_id = None;
        self.time = None;
        self.provider.clear();
        self.event_id = 0;
        self.qualifiers = None;
        self.channel.clear();
        self.computer.clear();
        self.data.clear();
        self.has_binary = false;
    }
}

/// `<Data>` values in one buffer: no allocation per value on the hot path.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Data {
    text: String,
    ends: Vec<usize>,
}

impl Data {
    pub fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Data {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut d = Data::default();
        for s in iter {
            d.push(s.as_ref());
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_values_keep_their_order_and_empty_values() {
        let d: Data = ["0x0", "", "kms01:1688"].into_iter().collect();
        assert_eq!(d.len(), 3);
        assert_eq!(d.first(), Some("0x0"));
        assert_eq!(d.get(1), Some(""));
        assert_eq!(d.get(2), Some("kms01:1688"));
        assert_eq!(d.get(3), None);
        assert_eq!(d.to_vec(), vec!["0x0", "", "kms01:1688"]);
        let mut e = d.clone();
        e.clear();
        assert!(e.is_empty() && e.first().is_none());
    }
}
