//! Transaction-log replay (`registry::log::replay`, old DIRT and new HvLE formats): no panic, no
//! loop, and no growth past what the inputs can fill. Input framing (as in `tests/robustness.rs`):
//! `[u32 LE primary length][primary][u32 LE LOG1 length][LOG1][LOG2 = the rest]`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::registry::log::{LogFile, replay};

fn split(b: &[u8]) -> (&[u8], &[u8]) {
    let n = b.get(..4).map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize);
    let rest = b.get(4..).unwrap_or_default();
    rest.split_at(n.min(rest.len()))
}

fuzz_target!(|data: &[u8]| {
    let (primary, rest) = split(data);
    let (log1, log2) = split(rest);
    let logs = [("LOG1", log1), ("LOG2", log2)].map(|(label, bytes)| LogFile {
        label: label.into(),
        path: label.into(),
        bytes: bytes.to_vec(),
    });
    if let Ok(r) = replay(primary, &logs) {
        assert!(r.bytes.len() <= data.len());
        let _ = r.report.summary();
    }
});
