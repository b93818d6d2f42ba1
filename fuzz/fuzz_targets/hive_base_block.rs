//! The regf base block (`registry::hive::BaseBlock::parse`): no panic (the rest of a hive is
//! read by libhivex).
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::registry::hive::BaseBlock;

fuzz_target!(|data: &[u8]| {
    if let Some(b) = BaseBlock::parse(data) {
        let _ = b.is_dirty();
    }
});
