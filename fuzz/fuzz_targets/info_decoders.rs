//! The decoders of KMS event payloads (12288/12289/12290 Info strings, 12293/12294, 12308-12310,
//! SPP errors) on records whose System fields and Data values are arbitrary.
#![no_main]

use arbitrary::Arbitrary;
use kmslens::kms::RawEvent;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const IDS: [u16; 12] = [12288, 12289, 12290, 12293, 12294, 12308, 12309, 12310, 8198, 1058, 1003, 0];
const PROVIDERS: [&str; 3] = ["Microsoft-Windows-Security-SPP", "Microsoft-Windows-Security-Licensing-SLC", "Other"];
const CHANNELS: [&str; 3] = ["Application", "Key Management Service", "System"];

#[derive(Arbitrary, Debug)]
struct Input {
    id: u8,
    provider: u8,
    channel: u8,
    record_id: Option<u64>,
    time_secs: Option<i64>,
    computer: String,
    data: Vec<String>,
    /// An Info string joined from parts with ", ", as Windows writes it.
    info: Vec<String>,
}

fuzz_target!(|input: Input| {
    let mut data = kmslens::kms::Data::default();
    if !input.info.is_empty() {
        data.push(&input.info.join(", "));
    }
    for value in &input.data {
        data.push(value);
    }
    let raw = RawEvent {
        record_id: input.record_id,
        time: input.time_secs.and_then(|s| jiff::Timestamp::from_second(s).ok()),
        provider: PROVIDERS[input.provider as usize % PROVIDERS.len()].to_string(),
        event_id: IDS[input.id as usize % IDS.len()],
        qualifiers: None,
        channel: CHANNELS[input.channel as usize % CHANNELS.len()].to_string(),
        computer: input.computer,
        data,
        has_binary: false,
    };
    let source: Arc<str> = "fuzzed".into();
    let _ = kmslens::kms::decode::decode(&raw, &source, &mut Default::default());
});
