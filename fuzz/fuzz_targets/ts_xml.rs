//! Task sequence XML (`ts::source::load_xml_bytes`: raw `<sequence>`, MDT `ts.xml`, console
//! `object.xml`) and the lint over it: no panic; XML → model → XML → model → the same XML.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use peforge::ts::{lint, source};

fuzz_target!(|data: &[u8]| {
    let Ok(l) = source::load_xml_bytes(data, Path::new("fuzz.xml")) else {
        return;
    };
    let _ = lint::lint(&l.sequence, &l.package, None, "fuzz.xml");
    let xml = l.sequence.to_xml();
    let back = source::parse_sequence_str(&xml, Path::new("rewritten.xml"))
        .expect("rewritten sequence unreadable");
    assert_eq!(back.to_xml(), xml);
});
