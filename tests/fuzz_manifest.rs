//! The fuzz crate (`fuzz/`, its own workspace) is not built by `cargo test`: check here that its
//! manifest parses and registers every target file exactly once, so a broken manifest is caught
//! before a fuzz campaign.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn fuzz_manifest_registers_every_target_once() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let text = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).expect("fuzz/Cargo.toml is valid TOML");
    let bins = manifest["bin"].as_array().expect("[[bin]] tables");
    let mut names = BTreeSet::new();
    for b in bins {
        let name = b["name"].as_str().unwrap();
        let path = b["path"].as_str().unwrap();
        assert_eq!(path, format!("fuzz_targets/{name}.rs"), "{name}");
        assert!(names.insert(name.to_string()), "{name} registered twice");
        assert!(fuzz.join(path).is_file(), "{path} missing");
    }
    let files: BTreeSet<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    assert_eq!(names, files, "every fuzz_targets/*.rs has one [[bin]]");
}
