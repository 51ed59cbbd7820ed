//! A source's kept events, held in the blocks they were read in (a chunk's, a batch's) until its
//! list is made once, at its final size. Adding a block moves it and never copies the events
//! before it: a list grown by doubling is copied at each growth under jemalloc, which has no
//! `mremap` (a sixth of the time of reading the KMS host's log), and briefly holds both copies.

use crate::kms::KmsEvent;

/// The largest block `push` starts: a list read event by event (an XML export) grows in blocks
/// of up to this many events (~10 MB), never by copying what it holds.
const MAX_BLOCK: usize = 1 << 16;

#[derive(Debug, Default)]
pub struct Kept {
    blocks: Vec<Vec<KmsEvent>>,
    len: usize,
}

impl Kept {
    pub fn push(&mut self, event: KmsEvent) {
        match self.blocks.last_mut() {
            Some(last) if last.len() < last.capacity() => last.push(event),
            _ => {
                let mut block = Vec::with_capacity(self.len.clamp(16, MAX_BLOCK));
                block.push(event);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// Puts `other`'s blocks after this list's.
    pub fn append(&mut self, other: Kept) {
        self.len += other.len;
        self.blocks
            .extend(other.blocks.into_iter().filter(|b| !b.is_empty()));
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &KmsEvent> {
        self.blocks.iter().flatten()
    }

    /// One list, in order: a single block as it is, several copied into a list of the exact size,
    /// each block freed once copied.
    pub fn into_vec(mut self) -> Vec<KmsEvent> {
        if self.blocks.len() == 1 {
            return self.blocks.pop().unwrap_or_default();
        }
        let mut all = Vec::with_capacity(self.len);
        for block in self.blocks {
            all.extend(block);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> KmsEvent {
        let raw = crate::kms::RawEvent {
            record_id: Some(n),
            time: Some("2026-10-01T06:00:01Z".parse().unwrap()),
            provider: crate::kms::ids::PROVIDER_SPP.into(),
            event_id: 12293,
            channel: "Key Management Service".into(),
            ..Default::default()
        };
        let source = std::sync::Arc::from("kms.evtx");
        crate::kms::decode(&raw, &source, &mut Default::default())
            .unwrap()
            .event
    }

    fn ids(v: &[KmsEvent]) -> Vec<u64> {
        v.iter().map(|e| e.record_id).collect()
    }

    #[test]
    fn pushed_and_appended_events_come_out_in_order() {
        let mut a = Kept::default();
        for n in 0..100_000 {
            a.push(event(n));
        }
        // Grown in blocks, never past the largest.
        assert!(a.blocks.len() > 1);
        assert!(a.blocks.iter().all(|b| b.capacity() <= MAX_BLOCK));
        let mut b = Kept::default();
        b.push(event(100_000));
        b.push(event(100_001));
        a.append(b);
        a.append(Kept::default());
        assert_eq!(a.len(), 100_002);
        assert_eq!(a.iter().count(), 100_002);
        let all = a.into_vec();
        assert_eq!(all.capacity(), 100_002);
        assert_eq!(ids(&all), (0..100_002).collect::<Vec<_>>());
    }

    #[test]
    fn a_single_block_is_the_list_as_it_is() {
        let mut one = Kept::default();
        one.push(event(1));
        one.push(event(2));
        let at = one.blocks[0].as_ptr();
        let mut all = Kept::default();
        all.append(one);
        assert!(!all.is_empty());
        let v = all.into_vec();
        assert_eq!(v.as_ptr(), at);
        assert_eq!(ids(&v), [1, 2]);
        assert!(Kept::default().into_vec().is_empty());
    }
}
