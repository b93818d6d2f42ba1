//! `.reg` reader (`registry::reg::parse`): no panic; parse → write → parse keeps the keys and
//! value operations (line numbers and the header version are not part of the model: the writer
//! always writes regedit 5.00).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use peforge::registry::reg;

fuzz_target!(|data: &[u8]| {
    let Ok(f) = reg::parse(data, Path::new("fuzz.reg")) else {
        return;
    };
    let out = reg::write(&f);
    let back = reg::parse(&out, Path::new("rewritten.reg")).expect("rewritten .reg unreadable");
    assert_eq!(back.keys.len(), f.keys.len());
    for (a, b) in back.keys.iter().zip(&f.keys) {
        assert_eq!(
            (&a.path, a.delete, &a.values),
            (&b.path, b.delete, &b.values)
        );
    }
});
