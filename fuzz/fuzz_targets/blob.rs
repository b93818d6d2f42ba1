//! Certificate store `Blob` records (`cert::Blob::parse`, `cert::store::validate`): no panic;
//! parse → to_bytes → parse gives the same records.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::cert::{Blob, store};

fuzz_target!(|data: &[u8]| {
    let _ = store::validate("4EF2E6670AC9B5091FE06BE0E5483EAAD6BA32D9", data);
    let Ok((blob, _)) = Blob::parse(data) else {
        return;
    };
    let (back, _) = Blob::parse(&blob.to_bytes()).expect("rewritten blob unreadable");
    assert_eq!(back, blob);
});
