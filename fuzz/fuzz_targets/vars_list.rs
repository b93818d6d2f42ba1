//! The decrypted `MediaVarList` XML (`media::vars::MediaVarList::parse`): no panic; parse →
//! to_plaintext → parse keeps the prolog, every variable (name, value, CDATA, leading text) and
//! the tail.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::media::vars::MediaVarList;

fn model(l: &MediaVarList) -> (String, Vec<(String, String, bool, String)>, String, bool) {
    (
        l.head.clone(),
        l.vars
            .iter()
            .map(|v| (v.name.clone(), v.value.to_string(), v.cdata, v.lead.clone()))
            .collect(),
        l.tail.clone(),
        l.trailing_nul,
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(l) = MediaVarList::parse(data, "Variables.dat") else {
        return;
    };
    let back = MediaVarList::parse(&l.to_plaintext(), "Variables.dat").expect("rewrite unreadable");
    assert_eq!(model(&back), model(&l));
});
