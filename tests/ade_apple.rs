//! `ade profile build --apple`: the Apple Define Profile body validates against Apple's profile
//! JSON Schema (micromdm's, in the vectors) with Python jsonschema, obeys "non-removable ⇒
//! supervised" (which the schema does not encode) and carries iOS skip keys only; Apple
//! profiles import and rebuild unchanged.

mod common;

use common::{Dir, jsonschema_errors, schema_file, vectors};
use serde_json::{Value, json};

const PRESETS: &[&str] = &[
    "user-modern",
    "user-company-portal",
    "userless",
    "shared-ipad",
    "entra-shared",
];

/// iOS skip keys per Apple's YAML, read with PyYAML (not peforge's table).
fn ios_keys() -> Vec<String> {
    let py = r#"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
for k in d["payloadkeys"]:
    i = (k.get("supportedOS") or {}).get("iOS", {})
    if i.get("introduced", "7.0") != "n/a":
        print(k["key"])
"#;
    let d = Dir::new();
    let f = vectors().join("ade/apple-skipkeys.yaml");
    let r = d.tool("python3", &["-c", py, f.to_str().unwrap()]).ok();
    r.stdout.lines().map(String::from).collect()
}

fn check_rules(v: &Value, what: &str, ios: &[String]) {
    let removable = v["is_mdm_removable"].as_bool().unwrap();
    let supervised = v
        .get("is_supervised")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    assert!(
        removable || supervised,
        "{what}: is_mdm_removable=false needs is_supervised=true"
    );
    for k in v["skip_setup_items"].as_array().unwrap() {
        assert!(
            ios.iter().any(|x| x == k.as_str().unwrap()),
            "{what}: {k} is not an iOS skip key in Apple's list"
        );
    }
}

#[test]
fn apple_output_of_every_preset_validates_against_apples_schema() {
    let d = Dir::new();
    let schema = vectors().join("ade/apple-profile.schema.json");
    let ios = ios_keys();
    assert_eq!(ios.len(), 36, "spec §3.3: 36 of A1's 46 keys are on iOS");
    for preset in PRESETS {
        let toml = format!("{preset}.toml");
        d.peforge(&["ade", "profile", "init", "--preset", preset, "-o", &toml])
            .ok();
        let apple = format!("{preset}.apple.json");
        let r = d
            .peforge(&[
                "ade", "profile", "build", &toml, "-o", "g.json", "--apple", &apple, "--json",
            ])
            .ok();
        let s = r.json();
        assert!(jsonschema_errors(&schema_file("ade-profile-build"), &s).is_empty());
        assert!(
            s["apple"]["mapping"].as_str().unwrap().contains("inferred"),
            "labelled as peforge's mapping"
        );
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(&apple)).unwrap()).unwrap();
        let errs = jsonschema_errors(&schema, &v);
        assert!(errs.is_empty(), "{preset}: {errs:?}");
        check_rules(&v, preset, &ios);
        // Spec §4 Apple column.
        assert_eq!(v["is_supervised"], true, "{preset}");
        assert_eq!(v["is_mdm_removable"], false, "{preset}: locked enrollment");
        assert_eq!(v["allow_pairing"], false, "{preset}: deny");
        assert_eq!(v["is_multi_user"], *preset == "shared-ipad", "{preset}");
    }
    // The text output says it too.
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "build",
            "userless.toml",
            "-o",
            "g.json",
            "--apple",
            "a.json",
        ])
        .ok();
    assert!(
        r.stderr
            .contains("peforge mapping (inferred), not what Intune uploads"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_checks_catch_bad_apple_bodies() {
    // The independent validator is live: the nanodep template is invalid (spec §6), and a
    // locked-but-unsupervised body breaks the extra rule.
    let schema = vectors().join("ade/apple-profile.schema.json");
    let nanodep: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors().join("ade/apple-profile.nanodep-example.json")).unwrap(),
    )
    .unwrap();
    let errs = jsonschema_errors(&schema, &nanodep).join("\n");
    for k in ["configuration_web_url", "language", "region"] {
        assert!(errs.contains(k), "expected a schema error on {k}: {errs}");
    }
    let bad = json!({"is_mdm_removable": false, "is_supervised": false, "org_magic": "", "skip_setup_items": []});
    let r = std::panic::catch_unwind(|| check_rules(&bad, "bad", &ios_keys()));
    assert!(r.is_err());
    // peforge's lint refuses it too (DEP-008 / ADE-004).
    let d = Dir::new();
    std::fs::write(d.join("bad.json"), bad.to_string()).unwrap();
    let r = d.peforge(&["ade", "profile", "lint", "bad.json", "--format", "json"]);
    assert_eq!(r.code, 1);
    let rules: Vec<String> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.contains(&"DEP-008".into()), "{rules:?}");
}

#[test]
fn apple_profiles_import_and_rebuild_unchanged() {
    let d = Dir::new();
    let src = vectors().join("ade/apple-profile.nanodep-example.json");
    let orig: Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "import",
            src.to_str().unwrap(),
            "-o",
            "a.toml",
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["files"][0]["form"], "apple");
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "a.toml",
        "-o",
        "g.json",
        "--apple",
        "back.json",
        "--allow-lint-errors",
    ])
    .ok();
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("back.json")).unwrap()).unwrap();
    assert_eq!(back, orig, "every Apple key comes back");
    let toml = std::fs::read_to_string(d.join("a.toml")).unwrap();
    assert!(
        toml.contains("name = \"(Required) Human readable name\""),
        "typed: {toml}"
    );
    assert!(
        toml.contains("[apple.keep]") && toml.contains("org_magic = \"(Optional)\""),
        "{toml}"
    );
    // And from a preset: build --apple → import → build --apple is stable.
    d.peforge(&[
        "ade",
        "profile",
        "init",
        "--preset",
        "user-modern",
        "-o",
        "u.toml",
    ])
    .ok();
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "u.toml",
        "-o",
        "u.json",
        "--apple",
        "u.apple.json",
    ])
    .ok();
    d.peforge(&["ade", "profile", "import", "u.apple.json", "-o", "u2.toml"])
        .ok();
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "u2.toml",
        "-o",
        "u2.json",
        "--apple",
        "u2.apple.json",
        "--allow-lint-errors",
    ])
    .ok();
    assert_eq!(
        std::fs::read(d.join("u.apple.json")).unwrap(),
        std::fs::read(d.join("u2.apple.json")).unwrap()
    );
}
