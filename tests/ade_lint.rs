//! `ade profile lint`: a table of cases (each rule: one profile that triggers it, one that does
//! not), places (file:line:column) checked against the text, every preset lint-clean, JSON and
//! SARIF output, and bad input (exit 2, one error line naming the file and place, nothing
//! written).

mod common;

use std::collections::BTreeMap;

use common::{Dir, jsonschema_errors, schema_file, vectors};
use serde_json::Value;

/// A lint-clean user-affinity profile, as dotted keys → TOML values.
fn base() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("name", "\"T\""),
        ("affinity", "\"user\""),
        ("auth", "\"setup-assistant-modern\""),
        ("supervised", "true"),
        ("locked_enrollment", "true"),
        ("sync_with_computers", "\"deny\""),
        ("setup_assistant.department", "\"IT\""),
        ("setup_assistant.department_phone", "\"+1 555 0100\""),
        ("setup_assistant.hide", "[\"DeviceToDeviceMigration\"]"),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// Renders dotted keys as TOML: top-level keys first, then one table per prefix.
fn render(m: &BTreeMap<String, String>) -> String {
    let mut top = String::new();
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in m {
        match k.rsplit_once('.') {
            Some((t, key)) => tables
                .entry(t.to_string())
                .or_default()
                .push_str(&format!("{key} = {v}\n")),
            None => top.push_str(&format!("{k} = {v}\n")),
        }
    }
    for (t, body) in tables {
        top.push_str(&format!("[{t}]\n{body}"));
    }
    top
}

/// `base()` with `set` applied; a value of `-` removes the key.
fn with(set: &[(&str, &str)]) -> String {
    let mut m = base();
    for (k, v) in set {
        if *v == "-" {
            m.remove(*k);
        } else {
            m.insert(k.to_string(), v.to_string());
        }
    }
    render(&m)
}

fn lint(d: &Dir, name: &str, toml: &str, args: &[&str]) -> Value {
    std::fs::write(d.join(name), toml).unwrap();
    let mut a = vec!["ade", "profile", "lint", name, "--format", "json"];
    a.extend_from_slice(args);
    let r = d.peforge(&a);
    assert!(
        r.code == 0 || r.code == 1,
        "{}: exit {} {}",
        name,
        r.code,
        r.stderr
    );
    let v = r.json();
    assert_eq!(
        v["errors"].as_u64().unwrap() > 0,
        r.code == 1,
        "exit 1 exactly when errors"
    );
    v
}

fn has(v: &Value, rule: &str) -> Option<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .map(|f| f["severity"].as_str().unwrap().to_string())
}

struct Case {
    rule: &'static str,
    severity: &'static str,
    hit: Vec<(&'static str, &'static str)>,
    miss: Vec<(&'static str, &'static str)>,
    args: &'static [&'static str],
    miss_args: &'static [&'static str],
}

fn c(
    rule: &'static str,
    severity: &'static str,
    hit: &[(&'static str, &'static str)],
    miss: &[(&'static str, &'static str)],
) -> Case {
    Case {
        rule,
        severity,
        hit: hit.to_vec(),
        miss: miss.to_vec(),
        args: &[],
        miss_args: &[],
    }
}

const NONE: (&str, &str) = ("affinity", "\"none\"");
const NO_AUTH: (&str, &str) = ("auth", "-");
const SHARED: (&str, &str) = ("shared_ipad.enabled", "true");
const FAMS: (&str, &str) = ("target.device_families", "[\"ipad\"]");
const MAX: (&str, &str) = ("shared_ipad.max_cached_users", "5");
const VPP: (&str, &str) = (
    "company_portal_vpp_token",
    "\"5f5a5226-27b9-45cc-8008-e4f7c9dd6c04\"",
);

fn cases() -> Vec<Case> {
    vec![
        c(
            "ADE-004",
            "error",
            &[("supervised", "false"), ("locked_enrollment", "false")],
            &[],
        ),
        c(
            "ADE-005",
            "note",
            &[
                ("supervised", "false"),
                ("locked_enrollment", "false"),
                ("target.min_ios", "\"13.0\""),
            ],
            &[
                ("supervised", "false"),
                ("locked_enrollment", "false"),
                ("target.min_ios", "\"12.0\""),
            ],
        ),
        c("ADE-006", "error", &[("auth", "\"password\"")], &[]),
        c("ADE-007", "error", &[NONE], &[NONE, NO_AUTH]),
        c(
            "ADE-008",
            "warning",
            &[("target.min_ios", "\"12.4\"")],
            &[("target.min_ios", "\"13.0\"")],
        ),
        c(
            "ADE-009",
            "error",
            &[("jit", "true"), ("auth", "\"company-portal\"")],
            &[("jit", "true")],
        ),
        c(
            "ADE-010",
            "warning",
            &[
                ("auth", "\"setup-assistant\""),
                ("install_company_portal", "false"),
            ],
            &[
                ("auth", "\"setup-assistant\""),
                ("install_company_portal", "true"),
            ],
        ),
        c(
            "ADE-012",
            "error",
            &[("single_app_until_auth", "true")],
            &[("single_app_until_auth", "true"), VPP],
        ),
        c(
            "ADE-013",
            "warning",
            &[("single_app_until_auth", "true"), VPP],
            &[VPP],
        ),
        c(
            "ADE-014",
            "warning",
            &[
                ("single_app_until_auth", "true"),
                VPP,
                ("target.min_ios", "\"11.2\""),
            ],
            &[
                ("single_app_until_auth", "true"),
                VPP,
                ("target.min_ios", "\"11.3.1\""),
            ],
        ),
        c("ADE-031", "error", &[("name", "-")], &[]),
        c("ADE-035", "error", &[("affinity", "\"everyone\"")], &[]),
        c("ADE-036", "note", &[NONE, NO_AUTH], &[]),
        c(
            "ADE-037",
            "error",
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("supervised", "false"),
                ("locked_enrollment", "false"),
            ],
            &[NONE, NO_AUTH, SHARED, MAX, FAMS],
        ),
        c("ADE-039", "note", &[], &[("locked_enrollment", "false")]),
        c(
            "ADE-040",
            "error",
            &[
                ("affinity", "\"entra-shared\""),
                NO_AUTH,
                ("locked_enrollment", "false"),
            ],
            &[("affinity", "\"entra-shared\""), NO_AUTH],
        ),
        c(
            "ADE-043",
            "error",
            &[SHARED, MAX, FAMS],
            &[NONE, NO_AUTH, SHARED, MAX, FAMS],
        ),
        c(
            "ADE-044",
            "warning",
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("target.min_ios", "\"13.3\""),
            ],
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("target.min_ios", "\"13.4\""),
            ],
        ),
        c(
            "ADE-045",
            "note",
            &[NONE, NO_AUTH, SHARED, MAX, FAMS],
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("setup_assistant.hide", "[]"),
            ],
        ),
        c(
            "ADE-046",
            "warning",
            &[NONE, NO_AUTH, SHARED, MAX],
            &[NONE, NO_AUTH, SHARED, MAX, FAMS],
        ),
        c(
            "ADE-047",
            "warning",
            &[
                NONE,
                NO_AUTH,
                SHARED,
                FAMS,
                ("shared_ipad.max_cached_users", "30"),
            ],
            &[
                NONE,
                NO_AUTH,
                SHARED,
                FAMS,
                ("shared_ipad.max_cached_users", "24"),
            ],
        ),
        c(
            "ADE-048",
            "error",
            &[("shared_ipad.passcode_grace_seconds", "120")],
            &[("shared_ipad.passcode_grace_seconds", "300")],
        ),
        c(
            "ADE-049",
            "error",
            &[("shared_ipad.user_session_timeout_seconds", "10")],
            &[("shared_ipad.user_session_timeout_seconds", "30")],
        ),
        c(
            "ADE-050",
            "warning",
            &[("shared_ipad.temporary_session_only", "true"), MAX],
            &[("shared_ipad.temporary_session_only", "true")],
        ),
        c(
            "ADE-051",
            "error",
            &[
                ("shared_ipad.temporary_session_timeout_seconds", "10"),
                ("shared_ipad.temporary_session_only", "true"),
            ],
            &[
                ("shared_ipad.temporary_session_timeout_seconds", "30"),
                ("shared_ipad.temporary_session_only", "true"),
            ],
        ),
        c(
            "ADE-054",
            "error",
            &[("sync_with_computers", "\"certificate\"")],
            &[("sync_with_computers", "\"allow\"")],
        ),
        c(
            "ADE-055",
            "note",
            &[],
            &[("sync_with_computers", "\"allow\"")],
        ),
        c(
            "ADE-057",
            "note",
            &[("await_final_configuration", "true")],
            &[("await_final_configuration", "false")],
        ),
        c(
            "ADE-058",
            "warning",
            &[
                ("await_final_configuration", "true"),
                ("auth", "\"company-portal\""),
            ],
            &[("await_final_configuration", "true")],
        ),
        c(
            "ADE-060",
            "error",
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("await_final_configuration", "true"),
            ],
            &[
                NONE,
                NO_AUTH,
                SHARED,
                MAX,
                FAMS,
                ("await_final_configuration", "false"),
            ],
        ),
        c(
            "ADE-061",
            "note",
            &[("device_name_template", "\"{{SERIAL}}\"")],
            &[],
        ),
        c(
            "ADE-062",
            "error",
            &[("device_name_template", "\"{{NAME}}-{{SERIAL}}\"")],
            &[("device_name_template", "\"{{DEVICETYPE}}-{{SERIAL}}\"")],
        ),
        c(
            "ADE-063",
            "error",
            &[("cellular_activation", "true")],
            &[
                ("cellular_activation", "true"),
                ("cellular_activation_url", "\"https://carrier.example/a\""),
            ],
        ),
        c(
            "ADE-064",
            "warning",
            &[("setup_assistant.department", "-")],
            &[],
        ),
        c(
            "ADE-066",
            "warning",
            &[(
                "setup_assistant.hide",
                "[\"Passcode\", \"DeviceToDeviceMigration\"]",
            )],
            &[
                (
                    "setup_assistant.hide",
                    "[\"Passcode\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.single_app_kiosk", "true"),
            ],
        ),
        c(
            "ADE-067",
            "warning",
            &[("target.min_ios", "\"15.0\"")],
            &[
                ("target.min_ios", "\"15.0\""),
                (
                    "setup_assistant.hide",
                    "[\"Passcode\", \"Biometric\", \"DeviceToDeviceMigration\"]",
                ),
            ],
        ),
        c("ADE-068", "note", &[("setup_assistant.hide", "[]")], &[]),
        c(
            "ADE-069",
            "note",
            &[(
                "setup_assistant.hide",
                "[\"TermsOfAddress\", \"DeviceToDeviceMigration\"]",
            )],
            &[],
        ),
        c(
            "ADE-070",
            "note",
            &[
                (
                    "setup_assistant.hide",
                    "[\"Safety\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.min_ios", "\"13.0\""),
            ],
            &[
                (
                    "setup_assistant.hide",
                    "[\"Safety\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.min_ios", "\"16.0\""),
            ],
        ),
        c("ADE-078", "note", &[("default", "true")], &[]),
        c(
            "DEP-003",
            "note",
            &[
                ("auth", "\"setup-assistant\""),
                ("install_company_portal", "true"),
            ],
            &[],
        ),
        c(
            "DEP-005",
            "warning",
            &[NONE, NO_AUTH, ("install_company_portal", "true")],
            &[NONE, NO_AUTH, ("install_company_portal", "false")],
        ),
        c(
            "DEP-008",
            "error",
            &[("supervised", "false")],
            &[("supervised", "false"), ("locked_enrollment", "false")],
        ),
        c(
            "DEP-009",
            "warning",
            &[(
                "setup_assistant.hide",
                "[\"AppleID\", \"DeviceToDeviceMigration\"]",
            )],
            &[
                (
                    "setup_assistant.hide",
                    "[\"AppleID\", \"DeviceToDeviceMigration\"]",
                ),
                VPP,
            ],
        ),
        c(
            "DEP-010",
            "note",
            &[("sync_with_computers", "\"allow\"")],
            &[],
        ),
        c("ADE-011", "note", &[VPP], &[]),
        c(
            "ADE-016",
            "note",
            &[("install_company_portal", "true")],
            &[("install_company_portal", "true"), VPP],
        ),
        c(
            "ADE-019",
            "note",
            &[("install_company_portal", "true")],
            &[("install_company_portal", "false")],
        ),
        c(
            "DEP-004",
            "note",
            &[
                ("auth", "\"setup-assistant\""),
                ("install_company_portal", "true"),
            ],
            &[],
        ),
        c(
            "ADE-C01",
            "error",
            &[
                ("setup_assistant.show", "[\"Location\"]"),
                (
                    "setup_assistant.hide",
                    "[\"Location services\", \"DeviceToDeviceMigration\"]",
                ),
            ],
            &[("setup_assistant.show", "[\"Location\"]")],
        ),
        c(
            "ADE-C02",
            "warning",
            &[(
                "setup_assistant.hide",
                "[\"Nonsense\", \"DeviceToDeviceMigration\"]",
            )],
            &[
                (
                    "setup_assistant.hide",
                    "[\"Code secret\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.single_app_kiosk", "true"),
            ],
        ),
        c(
            "ADE-C03",
            "note",
            &[
                (
                    "setup_assistant.hide",
                    "[\"Zoom\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.min_ios", "\"17.0\""),
                ("setup_assistant.show", "[]"),
            ],
            &[
                (
                    "setup_assistant.hide",
                    "[\"Zoom\", \"DeviceToDeviceMigration\"]",
                ),
                ("target.min_ios", "\"16.0\""),
            ],
        ),
        c(
            "ADE-C06",
            "note",
            &[VPP],
            &[VPP, ("auth", "\"company-portal\"")],
        ),
        c(
            "ADE-C07",
            "error",
            &[("target.min_ios", "\"fifteen\"")],
            &[("target.min_ios", "\"15.0\"")],
        ),
        c(
            "ADE-S01",
            "warning",
            &[("graph.keep.bogusProperty", "1")],
            &[],
        ),
        c(
            "ADE-S02",
            "error",
            &[("graph.keep.sharedIPadMaximumUserCount", "\"ten\"")],
            &[("graph.keep.sharedIPadMaximumUserCount", "3")],
        ),
        c(
            "ADE-S03",
            "error",
            &[("graph.keep.iTunesPairingMode", "\"sometimes\"")],
            &[("graph.keep.iTunesPairingMode", "\"allow\"")],
        ),
        c(
            "ADE-S04",
            "note",
            &[("graph.omit", "[\"isDefault\"]")],
            &[("graph.omit", "[\"configurationEndpointUrl\"]")],
        ),
        Case {
            args: &[],
            miss_args: &["--jit-sso-policy"],
            ..c("ADE-009", "note", &[("jit", "true")], &[("jit", "true")])
        },
        Case {
            args: &["--min-ios", "12.0"],
            miss_args: &["--min-ios", "13.0"],
            ..c(
                "ADE-008",
                "warning",
                &[("target.min_ios", "\"15.0\"")],
                &[("target.min_ios", "\"12.0\"")],
            )
        },
    ]
}

#[test]
fn every_rule_has_a_triggering_and_a_clean_profile() {
    let d = Dir::new();
    let clean = lint(&d, "base.toml", &with(&[]), &[]);
    assert_eq!(
        (clean["errors"].as_u64(), clean["warnings"].as_u64()),
        (Some(0), Some(0)),
        "base profile: {clean}"
    );
    let schema = schema_file("ade-profile-lint");
    for (i, case) in cases().iter().enumerate() {
        let hit = lint(&d, &format!("hit{i}.toml"), &with(&case.hit), case.args);
        let sev = hit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == case.rule)
            .map(|f| f["severity"].as_str().unwrap())
            .collect::<Vec<_>>();
        assert!(
            sev.contains(&case.severity),
            "{} ({}) not raised by:\n{}\n{hit}",
            case.rule,
            case.severity,
            with(&case.hit)
        );
        let miss = lint(
            &d,
            &format!("miss{i}.toml"),
            &with(&case.miss),
            case.miss_args,
        );
        let sev_miss: Vec<&str> = miss["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == case.rule)
            .map(|f| f["severity"].as_str().unwrap())
            .collect();
        assert!(
            !sev_miss.contains(&case.severity),
            "{} ({}) raised by the clean profile:\n{}\n{miss}",
            case.rule,
            case.severity,
            with(&case.miss)
        );
        if i % 10 == 0 {
            let errs = jsonschema_errors(&schema, &hit);
            assert!(errs.is_empty(), "{errs:?}");
        }
    }
}

#[test]
fn baseline_rules() {
    let d = Dir::new();
    std::fs::write(d.join("now.toml"), with(&[("name", "\"Renamed\"")])).unwrap();
    std::fs::write(d.join("same.toml"), with(&[])).unwrap();
    let v = lint(
        &d,
        "now.toml",
        &with(&[("name", "\"Renamed\"")]),
        &["--baseline", "same.toml"],
    );
    assert_eq!(has(&v, "ADE-032").as_deref(), Some("note"));
    let v = lint(&d, "x.toml", &with(&[]), &["--baseline", "same.toml"]);
    assert!(
        has(&v, "ADE-032").is_none()
            && has(&v, "ADE-033").is_none()
            && has(&v, "DEP-007").is_none()
    );
    // Only the device name template changed: no reset needed (S1 L198).
    let v = lint(
        &d,
        "t.toml",
        &with(&[("device_name_template", "\"{{SERIAL}}\"")]),
        &["--baseline", "same.toml"],
    );
    assert!(has(&v, "ADE-033").is_none(), "{v}");
    let v = lint(
        &d,
        "dept.toml",
        &with(&[("setup_assistant.department", "\"Helpdesk\"")]),
        &["--baseline", "same.toml"],
    );
    assert_eq!(has(&v, "ADE-033").as_deref(), Some("warning"));
    std::fs::write(
        d.join("unsup.toml"),
        with(&[("supervised", "false"), ("locked_enrollment", "false")]),
    )
    .unwrap();
    let v = lint(&d, "sup.toml", &with(&[]), &["--baseline", "unsup.toml"]);
    assert_eq!(has(&v, "DEP-007").as_deref(), Some("warning"));
    std::fs::write(
        d.join("temp.toml"),
        with(&[("shared_ipad.temporary_session_only", "true")]),
    )
    .unwrap();
    let v = lint(
        &d,
        "notemp.toml",
        &with(&[("shared_ipad.temporary_session_only", "false")]),
        &["--baseline", "temp.toml"],
    );
    assert_eq!(has(&v, "ADE-053").as_deref(), Some("warning"));
    let v = lint(
        &d,
        "stilltemp.toml",
        &with(&[("shared_ipad.temporary_session_only", "true")]),
        &["--baseline", "temp.toml"],
    );
    assert!(has(&v, "ADE-053").is_none());
}

#[test]
fn certificates_and_thumbprints() {
    let d = Dir::new();
    let pem = common::openssl_root_ca(&d, "configurator", "Apple Configurator test");
    let der = common::openssl_der(&d, &pem);
    // The thumbprint computed with openssl, not peforge.
    let fp = d
        .tool(
            "openssl",
            &[
                "x509",
                "-in",
                pem.to_str().unwrap(),
                "-noout",
                "-fingerprint",
                "-sha1",
            ],
        )
        .ok()
        .stdout;
    let sha1: String = fp.split('=').nth(1).unwrap().trim().replace(':', "");
    std::fs::write(d.join("configurator.der"), &der).unwrap();
    let b64 = d.tool(
        "openssl",
        &[
            "base64",
            "-A",
            "-in",
            d.join("configurator.der").to_str().unwrap(),
        ],
    );
    let b64 = b64.ok().stdout.trim().to_string();
    let file = format!("[\"{}\"]", pem.file_name().unwrap().to_str().unwrap());
    let v = lint(
        &d,
        "c.toml",
        &with(&[
            ("sync_with_computers", "\"certificate\""),
            ("configurator_certs", &file),
        ]),
        &[],
    );
    assert!(
        has(&v, "ADE-054").is_none() && has(&v, "ADE-C05").is_none(),
        "{v}"
    );
    // build computes the same thumbprint and the base64 of the DER.
    d.peforge(&["ade", "profile", "build", "c.toml", "-o", "c.json"])
        .ok();
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("c.json")).unwrap()).unwrap();
    assert_eq!(
        body["managementCertificates"][0]["thumbprint"],
        sha1.to_uppercase()
    );
    assert_eq!(body["managementCertificates"][0]["certificate"], b64);
    assert_eq!(body["iTunesPairingMode"], "requiresCertificate");
    let good = format!("[{{ certificate = \"{b64}\", thumbprint = \"{sha1}\" }}]");
    let v = lint(
        &d,
        "ok.toml",
        &with(&[
            ("sync_with_computers", "\"certificate\""),
            ("configurator_certs", &good),
        ]),
        &[],
    );
    assert!(has(&v, "ADE-C05").is_none(), "{v}");
    let bad = format!(
        "[{{ certificate = \"{b64}\", thumbprint = \"{}\" }}]",
        "AB".repeat(20)
    );
    let v = lint(
        &d,
        "bad.toml",
        &with(&[
            ("sync_with_computers", "\"certificate\""),
            ("configurator_certs", &bad),
        ]),
        &[],
    );
    assert_eq!(has(&v, "ADE-C05").as_deref(), Some("error"));
    let junk = "[{ certificate = \"bm90IGEgY2VydA==\" }]";
    let v = lint(
        &d,
        "junk.toml",
        &with(&[
            ("sync_with_computers", "\"certificate\""),
            ("configurator_certs", junk),
        ]),
        &[],
    );
    assert_eq!(has(&v, "ADE-C05").as_deref(), Some("error"));
    // A file that is not a certificate: exit 2, naming the setting's place.
    std::fs::write(d.join("notes.txt"), "hello").unwrap();
    let nc = with(&[("configurator_certs", "[\"notes.txt\"]")]);
    std::fs::write(d.join("nc.toml"), &nc).unwrap();
    let line = nc
        .lines()
        .position(|l| l.starts_with("configurator_certs"))
        .unwrap()
        + 1;
    let r = d
        .peforge(&["ade", "profile", "build", "nc.toml", "-o", "nc.json"])
        .fails(2);
    assert!(
        r.stderr.contains(&format!("nc.toml:{line}:23:"))
            && r.stderr.contains("configurator_certs[0]")
            && r.stderr.contains("not an X.509 certificate"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"));
    assert!(!d.join("nc.json").exists());
}

#[test]
fn graph_json_consistency_rules() {
    let d = Dir::new();
    let src = vectors().join("ade/graph-depiosenrollmentprofile.packt-cookbook.post.json");
    // The vector lints clean apart from notes (spec §6).
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "lint",
            src.to_str().unwrap(),
            "--format",
            "json",
        ])
        .ok();
    let doc = r.json();
    assert!(jsonschema_errors(&schema_file("ade-profile-lint"), &doc).is_empty());
    assert_eq!(
        (doc["errors"].as_u64(), doc["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{doc}"
    );
    assert_eq!(doc["form"], "graph");
    let s04 = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "ADE-S04")
        .count();
    assert_eq!(
        s04, 5,
        "the 5 non-nullable properties the book's body lacks"
    );
    // Await flags disagreeing, a boolean contradicting enabledSkipKeys, a wrong type, an enum value.
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    body["waitForDeviceConfiguredConfirmation"] = false.into();
    body["zoomDisabled"] = false.into();
    body["sharedIPadMaximumUserCount"] = "3".into();
    body["iTunesPairingMode"] = "never".into();
    let text = serde_json::to_string_pretty(&body).unwrap();
    std::fs::write(d.join("b.json"), &text).unwrap();
    let r = d.peforge(&["ade", "profile", "lint", "b.json", "--format", "json"]);
    assert_eq!(r.code, 1);
    let doc = r.json();
    for (rule, sev) in [
        ("ADE-C04", "warning"),
        ("ADE-C01", "warning"),
        ("ADE-S02", "error"),
        ("ADE-S03", "error"),
    ] {
        assert_eq!(has(&doc, rule).as_deref(), Some(sev), "{rule}: {doc}");
    }
    // The place of a JSON finding is the property's line in the file.
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ADE-S02")
        .unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"sharedIPadMaximumUserCount\""))
        .unwrap()
        + 1;
    assert_eq!(f["line"].as_u64(), Some(line as u64));
    assert_eq!(f["setting"], "sharedIPadMaximumUserCount");
}

#[test]
fn places_text_and_sarif() {
    let d = Dir::new();
    let toml = with(&[("supervised", "false"), ("locked_enrollment", "false")]);
    std::fs::write(d.join("p.toml"), &toml).unwrap();
    let r = d.peforge(&["ade", "profile", "lint", "p.toml"]);
    assert_eq!(r.code, 1);
    let line = toml
        .lines()
        .position(|l| l.starts_with("supervised = "))
        .unwrap()
        + 1;
    let want = format!(
        "p.toml:{line}:14: error[ADE-004]: supervised: corporate iOS/iPadOS 11+ ADE devices must be supervised — documented (S1 L55)"
    );
    assert!(r.stdout.lines().any(|l| l == want), "{want}\n{}", r.stdout);
    assert!(r.stdout.contains("    fix: set supervised = true"));
    let notes = r.stdout.lines().filter(|l| l.contains(": note[")).count();
    assert!(
        r.stdout.trim_end().ends_with(&format!(
            "p.toml: 1 error(s), 0 warning(s), {notes} note(s)"
        )),
        "{}",
        r.stdout
    );
    let r = d.peforge(&["ade", "profile", "lint", "p.toml", "--format", "sarif"]);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let res = s["runs"][0]["results"].as_array().unwrap();
    let e = res.iter().find(|x| x["ruleId"] == "ADE-004").unwrap();
    assert_eq!(e["level"], "error");
    assert_eq!(
        e["locations"][0]["physicalLocation"]["region"]["startLine"],
        line as u64
    );
    let rules = s["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules[e["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "ADE-004"
    );
}

#[test]
fn every_preset_is_lint_clean() {
    let d = Dir::new();
    for p in [
        "user-modern",
        "user-company-portal",
        "userless",
        "shared-ipad",
        "entra-shared",
    ] {
        let f = format!("{p}.toml");
        let r = d
            .peforge(&["ade", "profile", "init", "--preset", p, "-o", &f, "--json"])
            .ok();
        assert!(jsonschema_errors(&schema_file("ade-profile-init"), &r.json()).is_empty());
        assert_eq!(r.json()["sha256"], common::sha256(&d.join(&f)));
        let v = lint(&d, &f, &std::fs::read_to_string(d.join(&f)).unwrap(), &[]);
        assert_eq!(
            (v["errors"].as_u64(), v["warnings"].as_u64()),
            (Some(0), Some(0)),
            "{p}: {v}"
        );
        // The comments use the wizard's words (French seed labels included).
        let t = std::fs::read_to_string(d.join(&f)).unwrap();
        // The shipped template is the preset as init writes it.
        let tpl = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("templates/ade/{p}.toml"));
        assert_eq!(
            std::fs::read_to_string(&tpl).unwrap(),
            t,
            "{}: regenerate with peforge ade profile init --preset {p} --force",
            tpl.display()
        );
        for w in [
            "Affinité utilisateur",
            "Inscription verrouillée",
            "Attendre la configuration finale",
            "Synchroniser avec les ordinateurs",
            "iPad partagé",
        ] {
            assert!(t.contains(w), "{p}: {w}");
        }
    }
}

#[test]
fn bad_input_is_one_line_exit_2_and_nothing_written() {
    let d = Dir::new();
    let cases: &[(&str, &str, &str)] = &[
        ("syntax.toml", "name = \n", "syntax.toml:1:"),
        (
            "type.toml",
            "name = \"x\"\nsupervised = \"yes\"\n",
            "type.toml:2:14",
        ),
        ("dup.toml", "name = \"x\"\nname = \"y\"\n", "dup.toml:2:"),
        (
            "unknown.toml",
            "name = \"x\"\nsupervized = true\n",
            "unknown.toml:2:1",
        ),
        (
            "bad.json",
            "{\"displayName\": \"x\",\n \"supervisedModeEnabled\": tru}\n",
            "bad.json:2:",
        ),
        (
            "dupkey.json",
            "{\"@odata.type\": \"#microsoft.graph.depIOSEnrollmentProfile\",\n \"displayName\": \"a\",\n \"displayName\": \"b\"}\n",
            "dupkey.json:3:",
        ),
        (
            "array.json",
            "[1, 2]\n",
            "array.json: the JSON is not an object",
        ),
        (
            "mac.json",
            "{\"@odata.type\": \"#microsoft.graph.depMacOSEnrollmentProfile\"}\n",
            "is not an iOS/iPadOS ADE profile",
        ),
    ];
    for (name, text, want) in cases {
        std::fs::write(d.join(name), text).unwrap();
        for cmd in [
            vec!["ade", "profile", "lint", name],
            vec!["ade", "profile", "build", name, "-o", "out.json"],
        ] {
            let r = d.peforge(&cmd).fails(2);
            assert!(
                r.stderr.contains(want),
                "{cmd:?}: want {want:?} in {}",
                r.stderr
            );
            assert!(r.stderr.contains("hint:"), "{}", r.stderr);
            assert!(!d.join("out.json").exists());
        }
    }
    // Not UTF-8.
    std::fs::write(d.join("bin.toml"), b"name = \"\xff\"\n").unwrap();
    d.peforge(&["ade", "profile", "lint", "bin.toml"]).fails(2);
    // A settings-catalog enrollment policy is recognised and refused.
    std::fs::write(d.join("catalog.json"), r##"{"@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy", "name": "ADE", "technologies": "enrollment", "settings": []}"##).unwrap();
    let r = d
        .peforge(&["ade", "profile", "import", "catalog.json", "-o", "c.toml"])
        .fails(2);
    assert!(
        r.stderr.contains("settings-catalog \"enrollment policy\"")
            && r.stderr.contains("not supported yet"),
        "{}",
        r.stderr
    );
    assert!(!d.join("c.toml").exists());
    // Unknown preset (clap), existing output without --force.
    d.peforge(&[
        "ade", "profile", "init", "--preset", "kiosk", "-o", "k.toml",
    ])
    .fails(2);
    assert!(!d.join("k.toml").exists());
    std::fs::write(d.join("exists.toml"), "keep me").unwrap();
    let r = d
        .peforge(&["ade", "profile", "init", "-o", "exists.toml"])
        .fails(2);
    assert!(r.stderr.contains("--force"));
    assert_eq!(
        std::fs::read_to_string(d.join("exists.toml")).unwrap(),
        "keep me"
    );
    // Lint errors refuse the build; --allow-lint-errors builds; an unusable enum still refuses.
    std::fs::write(
        d.join("e.toml"),
        with(&[("supervised", "false"), ("locked_enrollment", "false")]),
    )
    .unwrap();
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "build",
            "e.toml",
            "-o",
            "e.json",
            "--apple",
            "e.apple.json",
        ])
        .fails(2);
    assert!(
        r.stderr.contains("ADE-004") && r.stderr.contains("--allow-lint-errors"),
        "{}",
        r.stderr
    );
    assert!(!d.join("e.json").exists() && !d.join("e.apple.json").exists());
    d.peforge(&[
        "ade",
        "profile",
        "build",
        "e.toml",
        "-o",
        "e.json",
        "--allow-lint-errors",
    ])
    .ok();
    std::fs::write(d.join("enum.toml"), with(&[("affinity", "\"everyone\"")])).unwrap();
    let r = d
        .peforge(&[
            "ade",
            "profile",
            "build",
            "enum.toml",
            "-o",
            "enum.json",
            "--allow-lint-errors",
        ])
        .fails(2);
    assert!(r.stderr.contains("affinity \"everyone\""), "{}", r.stderr);
    assert!(!d.join("enum.json").exists());
    // The input is never overwritten.
    std::fs::write(d.join("same.json"), "{}").unwrap();
    d.peforge(&["ade", "profile", "import", "same.json", "-o", "same.json"])
        .fails(2);
    assert_eq!(std::fs::read_to_string(d.join("same.json")).unwrap(), "{}");
}
