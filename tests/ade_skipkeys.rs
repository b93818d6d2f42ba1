//! `ade skip-keys`: the table carried in the binary equals Apple's skip-key list in the vectors
//! (read with PyYAML), key by key and version by version; the wizard names and seed lines match
//! the French seed; `--json` validates against its schema.

mod common;

use std::collections::BTreeMap;

use common::{Dir, jsonschema_errors, schema_file, vectors};
use serde_json::Value;

/// key → (iOS introduced, deprecated, always-skippable) for every iOS key of Apple's YAML.
fn apple() -> BTreeMap<String, (String, Option<String>, bool)> {
    let py = r#"
import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
base = d["payload"]["supportedOS"]["iOS"]
out = {}
for k in d["payloadkeys"]:
    i = (k.get("supportedOS") or {}).get("iOS", {})
    intro = str(i.get("introduced", base["introduced"]))
    if intro == "n/a":
        continue
    dep = i.get("deprecated")
    out[k["key"]] = [intro, None if dep is None else str(dep), bool(i.get("always-skippable", base["always-skippable"]))]
print(json.dumps(out))
"#;
    let d = Dir::new();
    let f = vectors().join("ade/apple-skipkeys.yaml");
    let r = d.tool("python3", &["-c", py, f.to_str().unwrap()]).ok();
    let v: BTreeMap<String, (String, Option<String>, bool)> =
        serde_json::from_str(&r.stdout).unwrap();
    v
}

#[test]
fn table_equals_apples_list_key_by_key_and_version_by_version() {
    let a = apple();
    let d = Dir::new();
    let r = d.peforge(&["ade", "skip-keys", "--json"]).ok();
    let doc = r.json();
    let errs = jsonschema_errors(&schema_file("ade-skip-keys"), &doc);
    assert!(errs.is_empty(), "{errs:?}");
    let ours: BTreeMap<String, &Value> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["key"].as_str().unwrap().to_string(), k))
        .collect();
    for (key, (intro, dep, always)) in &a {
        let k = ours
            .get(key)
            .unwrap_or_else(|| panic!("Apple's iOS key {key} is missing from peforge's table"));
        assert_eq!(k["introduced"].as_str().unwrap(), intro, "{key} introduced");
        assert_eq!(
            k.get("deprecated").and_then(Value::as_str),
            dep.as_deref(),
            "{key} deprecated"
        );
        assert_eq!(
            k["always_skippable"].as_bool().unwrap(),
            *always,
            "{key} always-skippable"
        );
    }
    for key in ours.keys() {
        assert!(
            a.contains_key(key),
            "peforge's key {key} is not an iOS key in Apple's list"
        );
    }
    assert_eq!(ours.len(), 36);
}

#[test]
fn wizard_names_and_seed_lines_match_the_french_seed() {
    let seed =
        std::fs::read_to_string(vectors().join("../seeds/003_1fa0fc5618705387.txt")).unwrap();
    let lines: Vec<&str> = seed.lines().collect();
    let d = Dir::new();
    let doc = d.peforge(&["ade", "skip-keys", "--json"]).ok().json();
    let mut with_line = 0;
    for k in doc["keys"].as_array().unwrap() {
        let (Some(line), Some(fr)) = (
            k.get("seed_line").and_then(Value::as_u64),
            k.get("wizard_fr").and_then(Value::as_str),
        ) else {
            continue;
        };
        with_line += 1;
        let text = lines[line as usize - 1];
        assert!(
            text.starts_with(fr),
            "{}: S1 L{line} should start with {fr:?}: {text}",
            k["key"]
        );
        // The seed's own minimum, where peforge records one that differs from Apple (conflict 6).
        if let Some(m) = k.get("seed_minimum").and_then(Value::as_str) {
            assert!(
                text.contains(&format!("iOS/iPadOS {m} et ultérieur")),
                "{}: {text}",
                k["key"]
            );
        }
    }
    assert_eq!(with_line, 25, "S1 L354-378 lists 25 screens");
}

#[test]
fn min_ios_marks_newer_and_deprecated_keys() {
    let d = Dir::new();
    let doc = d
        .peforge(&["ade", "skip-keys", "--min-ios", "15.0", "--json"])
        .ok()
        .json();
    assert!(jsonschema_errors(&schema_file("ade-skip-keys"), &doc).is_empty());
    let status = |key: &str| -> String {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == key)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("DisplayTone"), "deprecated");
    assert_eq!(status("Safety"), "newer");
    assert_eq!(status("Passcode"), "available");
    let text = d.peforge(&["ade", "skip-keys"]).ok().stdout;
    assert!(
        text.lines()
            .any(|l| l.starts_with("TermsOfAddress") && l.contains("enabledSkipKeys only")),
        "{text}"
    );
    d.peforge(&["ade", "skip-keys", "--min-ios", "fifteen"])
        .fails(2);
}
