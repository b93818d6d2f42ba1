//! Driver INF files (`driver::inf::Inf::parse`, `Strings::subst`, `driver::package` over a
//! temporary package folder): no panic on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::driver::inf::Inf;

fuzz_target!(|data: &[u8]| {
    let Ok(inf) = Inf::parse(data) else {
        return;
    };
    let strings = inf.strings(Some("0407"));
    for s in &inf.sections {
        for l in &s.lines {
            for v in &l.values {
                let _ = strings.subst(v);
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fuzz.inf");
    std::fs::write(&path, data).expect("write");
    if let Ok(p) = peforge::driver::Package::read(&path) {
        let _ = p.refusal("amd64", Default::default(), false);
        let _ = p.target_sections("x86", Default::default());
    }
});
