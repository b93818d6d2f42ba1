//! Task sequence TOML authoring (`ts::author::build`): no panic; a sequence built from TOML is
//! imported back to TOML (`from_model`/`to_toml`) and builds to the same XML.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use peforge::ts::{author, lint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((seq, pkg)) = author::build(text, Path::new("fuzz.toml")) else {
        return;
    };
    let _ = lint::lint(&seq, &pkg, None, "fuzz.toml");
    let Ok(toml) = author::to_toml(&author::from_model(&seq, &pkg)) else {
        return;
    };
    let (again, _) = author::build(&toml, Path::new("import.toml")).expect("imported TOML invalid");
    assert_eq!(again.to_xml(), seq.to_xml());
});
