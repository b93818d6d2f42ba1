//! Certificate files (`cert::load::load_bytes`): the same bytes as PEM/bundle, DER and `.reg`
//! (the file name selects the reader); no panic, and a loaded certificate's DER parses again
//! to the same facts.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use peforge::cert::{CertInfo, RegRoots, load};

fuzz_target!(|data: &[u8]| {
    for name in ["fuzz.pem", "fuzz.cer", "fuzz.reg"] {
        if let Ok(certs) = load::load_bytes(data, Path::new(name), RegRoots::Any) {
            for c in certs {
                assert_eq!(CertInfo::from_der(&c.info.der).expect("DER again"), c.info);
            }
        }
    }
});
