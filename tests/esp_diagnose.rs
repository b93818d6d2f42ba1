//! `peforge esp diagnose`: hives built at test time with each documented state (seed 001), read
//! back independently with hivexget; bad inputs (not a hive, not SOFTWARE, wrong types); the
//! same diagnosis through a WIM (`--wim`) and a hand-written regedit export (`--reg`).

mod common;
use common::{Dir, sha256};

use peforge::registry::hive::{RawValue, encode_sz, types};

const PROVIDER: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\DevicePreparation\\PolicyProviders\\ConfigMgr";
const TS: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup\\Apps\\Tracking\\ConfigMgr\\Provisioning_TS";
const MSDM: &str = "Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server";

fn dword(name: &str, v: u32) -> RawValue {
    RawValue {
        name: name.into(),
        ty: types::DWORD,
        data: v.to_le_bytes().to_vec(),
    }
}

fn sz(name: &str, v: &str) -> RawValue {
    RawValue {
        name: name.into(),
        ty: types::SZ,
        data: encode_sz(v),
    }
}

fn hive(d: &Dir, name: &str, content: &[(&str, Vec<RawValue>)]) -> std::path::PathBuf {
    let p = d.join(name);
    let mut all: Vec<(&str, Vec<RawValue>)> = vec![(
        "Microsoft\\Windows NT\\CurrentVersion",
        vec![sz("ProductName", "Windows 11 Pro")],
    )];
    all.extend(content.iter().cloned());
    peforge::sample::build_hive(&p, &all).unwrap();
    p
}

fn diagnose(d: &Dir, hive: &std::path::Path) -> (i32, serde_json::Value) {
    let r = d.peforge(&[
        "esp",
        "diagnose",
        "--hive",
        hive.to_str().unwrap(),
        "--json",
    ]);
    assert!(r.code == 0 || r.code == 1, "{}: {}", r.what, r.stderr);
    let j = r.json();
    (r.code, j)
}

/// Seed 001's tables: (state, meaning fragment, level, exit code) per key.
#[test]
fn every_state_of_both_keys_is_explained() {
    let d = Dir::new();
    let provider: &[(u32, &str, &str, i32)] = &[
        (1, "not installed", "pending", 0),
        (2, "not required", "ok", 0),
        (3, "complete", "ok", 0),
        (4, "error", "error", 1),
        (7, "not a documented state", "error", 1),
    ];
    for &(state, meaning, level, code) in provider {
        let h = hive(
            &d,
            &format!("p{state}"),
            &[(PROVIDER, vec![dword("InstallationState", state)])],
        );
        // Independent check of the test input itself.
        let got = d
            .tool(
                "hivexget",
                &[h.to_str().unwrap(), PROVIDER, "InstallationState"],
            )
            .ok()
            .stdout;
        assert_eq!(got.trim(), state.to_string());
        let (c, j) = diagnose(&d, &h);
        let check = &j["checks"][0];
        assert_eq!(check["id"], "client_install");
        assert_eq!(check["state"], state);
        assert!(
            check["meaning"].as_str().unwrap().contains(meaning),
            "{check}"
        );
        assert_eq!(check["level"], level, "{check}");
        assert_eq!(c, code, "state {state}");
        assert_eq!(j["errors"], u32::from(code == 1));
        if state == 4 {
            let steps = check["next_steps"].to_string();
            assert!(steps.contains("ccmsetup.log"), "{steps}");
            assert_eq!(j["status"], "error");
        }
        if state == 1 {
            let steps = check["next_steps"].to_string();
            assert!(
                steps.contains("0x800705b4") && steps.contains("%windir%\\\\ccmsetup"),
                "{steps}"
            );
            assert_eq!(j["status"], "in_progress");
        }
    }
    let ts: &[(u32, &str, &str, i32)] = &[
        (1, "not installed", "pending", 0),
        (2, "in progress", "pending", 0),
        (3, "complete", "ok", 0),
        (4, "error", "error", 1),
    ];
    for &(state, meaning, level, code) in ts {
        // The type is unconfirmed: REG_SZ digits must read the same as a DWORD.
        let h = hive(
            &d,
            &format!("t{state}"),
            &[
                (PROVIDER, vec![dword("InstallationState", 3)]),
                (TS, vec![sz("InstallationState", &state.to_string())]),
            ],
        );
        let (c, j) = diagnose(&d, &h);
        let check = &j["checks"][1];
        assert_eq!(check["id"], "provisioning_ts");
        assert_eq!(check["state"], state);
        assert!(
            check["meaning"].as_str().unwrap().contains(meaning),
            "{check}"
        );
        assert_eq!(check["level"], level);
        assert_eq!(c, code);
        let steps = check["next_steps"].to_string();
        if state != 3 {
            assert!(steps.contains("SMSTS\\\\smsts.log"), "{steps}");
        }
        if state == 3 {
            assert_eq!(j["status"], "ok");
        }
    }
}

#[test]
fn human_output_names_the_log_and_the_exit_code_is_1() {
    let d = Dir::new();
    let h = hive(
        &d,
        "SOFTWARE",
        &[
            (PROVIDER, vec![dword("InstallationState", 3)]),
            (TS, vec![dword("InstallationState", 4)]),
        ],
    );
    let r = d.peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("[ERROR] PROVISIONTS task sequence"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("%windir%\\CCM\\Logs\\SMSTS\\smsts.log"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("[OK] ConfigMgr client installation"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("the default is 60 minutes"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("1 error state(s) found"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("error:"),
        "a finding is not an error: {}",
        r.stderr
    );
    let help = d.peforge(&["esp", "diagnose", "--help"]).ok().stdout;
    assert!(help.contains("Exit status: 0 no error state"), "{help}");
}

#[test]
fn absent_keys_give_a_clear_message_and_exit_0() {
    let d = Dir::new();
    let h = hive(&d, "SOFTWARE", &[]);
    let (c, j) = diagnose(&d, &h);
    assert_eq!(c, 0);
    assert_eq!(j["status"], "no_tracking_keys");
    assert!(
        j["summary"]
            .as_str()
            .unwrap()
            .contains("no ESP tracking keys"),
        "{j}"
    );
    assert_eq!(j["checks"][0]["key_present"], false);
    assert_eq!(j["checks"][0]["state"], serde_json::Value::Null);
    let r = d
        .peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap()])
        .ok();
    assert!(r.stdout.contains("no ESP tracking keys"), "{}", r.stdout);
    // Provider key registered but no value yet.
    let h = hive(&d, "S2", &[(PROVIDER, vec![sz("Other", "x")])]);
    let (c, j) = diagnose(&d, &h);
    assert_eq!(c, 0);
    assert_eq!(j["checks"][0]["key_present"], true);
    assert!(
        j["checks"][0]["meaning"]
            .as_str()
            .unwrap()
            .contains("not set")
    );
}

#[test]
fn configinfo_fix_through_hive_set_is_recognized() {
    let d = Dir::new();
    let h = hive(
        &d,
        "SOFTWARE",
        &[(PROVIDER, vec![dword("InstallationState", 3)])],
    );
    let (_, j) = diagnose(&d, &h);
    assert_eq!(j["config_info"]["level"], "info");
    assert!(
        j["config_info"]["meaning"]
            .as_str()
            .unwrap()
            .contains("not set")
    );
    let fix = j["config_info"]["fix"].as_str().unwrap().to_string();
    assert!(
        fix.contains("--value ConfigInfo --type sz --data 2"),
        "{fix}"
    );
    // Run the fix exactly as printed (split by Python's shlex, as a shell would).
    let argv = d
        .tool(
            "python3",
            &[
                "-c",
                "import shlex,sys; print(chr(10).join(shlex.split(sys.argv[1])))",
                &fix,
            ],
        )
        .ok()
        .stdout;
    let argv: Vec<&str> = argv.lines().collect();
    assert_eq!(argv[0], "peforge");
    assert!(argv.contains(&h.to_str().unwrap()), "{argv:?}");
    d.peforge(&argv[1..]).ok();
    let got = d
        .tool("hivexget", &[h.to_str().unwrap(), MSDM, "ConfigInfo"])
        .ok()
        .stdout;
    assert_eq!(got.trim(), "2");
    let (c, j) = diagnose(&d, &h);
    assert_eq!(c, 0);
    assert_eq!(j["config_info"]["level"], "ok");
    assert_eq!(j["config_info"]["type"], "REG_SZ");
    assert_eq!(j["config_info"]["data"], "2");
    // The same number with the wrong type is a finding.
    let h = hive(&d, "S2", &[(MSDM, vec![dword("ConfigInfo", 2)])]);
    let (c, j) = diagnose(&d, &h);
    assert_eq!(c, 1);
    assert_eq!(j["config_info"]["level"], "error");
    assert!(
        j["config_info"]["meaning"]
            .as_str()
            .unwrap()
            .contains("REG_SZ")
    );
}

#[test]
fn esp_timeout_is_read_when_present() {
    let d = Dir::new();
    let first = "Microsoft\\Enrollments\\8E5A3E1C-0000-4A5B-9C3D-1234567890AB\\FirstSync";
    let h = hive(
        &d,
        "SOFTWARE",
        &[
            (PROVIDER, vec![dword("InstallationState", 1)]),
            (first, vec![dword("SyncFailureTimeout", 90)]),
        ],
    );
    let (c, j) = diagnose(&d, &h);
    assert_eq!(c, 0);
    assert_eq!(j["esp_timeout"]["minutes"], 90);
    assert_eq!(j["esp_timeout"]["source"], "policy");
    assert!(
        j["checks"][0]["next_steps"]
            .to_string()
            .contains("90 minutes")
    );
}

#[test]
fn bad_inputs_fail_with_one_error_line_and_leave_the_input_alone() {
    let d = Dir::new();
    // Not a hive at all.
    let junk = d.join("junk");
    std::fs::write(&junk, b"this is not a registry hive, just text\n").unwrap();
    let before = sha256(&junk);
    let r = d
        .peforge(&["esp", "diagnose", "--hive", junk.to_str().unwrap()])
        .fails(2);
    assert!(r.stderr.contains("junk"), "{}", r.stderr);
    assert_eq!(sha256(&junk), before);
    // A hive, but not SOFTWARE (a SYSTEM-like hive).
    let sys = d.join("SYSTEM");
    peforge::sample::build_hive(&sys, &[("ControlSet001\\Control", vec![sz("X", "y")])]).unwrap();
    let r = d
        .peforge(&["esp", "diagnose", "--hive", sys.to_str().unwrap()])
        .fails(2);
    assert!(r.stderr.contains("not a SOFTWARE hive"), "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: give the SOFTWARE hive"),
        "{}",
        r.stderr
    );
    // Wrong types for InstallationState: binary, multi_sz, non-numeric text, short dword.
    let wrong: &[RawValue] = &[
        RawValue {
            name: "InstallationState".into(),
            ty: types::BINARY,
            data: vec![4, 0, 0, 0],
        },
        RawValue {
            name: "InstallationState".into(),
            ty: types::MULTI_SZ,
            data: [encode_sz("4"), vec![0, 0]].concat(),
        },
        sz("InstallationState", "four"),
        RawValue {
            name: "InstallationState".into(),
            ty: types::DWORD,
            data: vec![4, 0],
        },
    ];
    for (i, v) in wrong.iter().enumerate() {
        let h = hive(&d, &format!("w{i}"), &[(TS, vec![v.clone()])]);
        let before = sha256(&h);
        let r = d
            .peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap(), "--json"])
            .fails(2);
        let e = r.stderr.lines().find(|l| l.starts_with("error:")).unwrap();
        assert!(
            e.contains(&format!("w{i}"))
                && e.contains("Provisioning_TS\\InstallationState")
                && e.contains("not a number"),
            "{e}"
        );
        assert!(r.stdout.is_empty());
        assert_eq!(sha256(&h), before);
    }
    // Missing file; and no input at all is a usage error.
    d.peforge(&["esp", "diagnose", "--hive", "nope"]).fails(2);
    let r = d.peforge(&["esp", "diagnose"]);
    assert_eq!(r.code, 2);
    let r = d.peforge(&["esp", "diagnose", "--hive", "a", "--reg", "b"]);
    assert_eq!(r.code, 2);
}

#[test]
fn wim_input_reads_the_image_hive_and_lists_logs() {
    let d = Dir::new();
    let wim = d.sample_wim("install.wim", false);
    let h = hive(
        &d,
        "SOFTWARE",
        &[
            (PROVIDER, vec![dword("InstallationState", 4)]),
            (TS, vec![dword("InstallationState", 1)]),
        ],
    );
    let w = wim.to_str().unwrap();
    d.peforge(&[
        "wim",
        "put",
        w,
        h.to_str().unwrap(),
        "Windows\\System32\\config\\SOFTWARE",
    ])
    .ok();
    std::fs::write(
        d.join("ccmsetup.log"),
        b"<![LOG[CcmSetup failed with error code 0x80004005]LOG]!>\r\n",
    )
    .unwrap();
    d.peforge(&[
        "wim",
        "put",
        w,
        d.join("ccmsetup.log").to_str().unwrap(),
        "Windows\\ccmsetup\\Logs\\ccmsetup.log",
    ])
    .ok();
    // Independent: the image now holds our hive (wimextract + hivexget).
    let x = d.wimextract(&wim, 1, "Windows/System32/config/SOFTWARE");
    let got = d
        .tool(
            "hivexget",
            &[x.to_str().unwrap(), PROVIDER, "InstallationState"],
        )
        .ok()
        .stdout;
    assert_eq!(got.trim(), "4");
    let before = sha256(&wim);
    let r = d.peforge(&["esp", "diagnose", "--wim", w, "--index", "1", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    common::assert_json_schema("esp-diagnose", &r.stdout);
    let j = r.json();
    assert_eq!(j["input"]["kind"], "wim");
    assert_eq!(j["input"]["index"], 1);
    assert_eq!(j["checks"][0]["state"], 4);
    assert_eq!(j["checks"][1]["state"], 1);
    assert_eq!(j["status"], "error");
    let logs = j["logs_in_image"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0]["path"].as_str().unwrap().ends_with("ccmsetup.log"));
    let size = std::fs::metadata(d.join("ccmsetup.log")).unwrap().len();
    assert_eq!(logs[0]["size"], size);
    assert_eq!(sha256(&wim), before, "diagnose must not change the WIM");
    let r = d.peforge(&["esp", "diagnose", "--wim", w]);
    assert!(r.stdout.contains("peforge wim extract"), "{}", r.stdout);
    // A WIM image without a SOFTWARE hive, or a wrong index.
    let r = d
        .peforge(&["esp", "diagnose", "--wim", w, "--index", "2"])
        .fails(2);
    assert!(r.stderr.contains("install.wim"), "{}", r.stderr);
}

#[test]
fn reg_export_input() {
    let d = Dir::new();
    // Written by hand as regedit exports it (UTF-16LE with BOM, CRLF), independent of peforge.
    let text = "Windows Registry Editor Version 5.00\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\DevicePreparation\\PolicyProviders\\ConfigMgr]\r\n\
\"InstallationState\"=dword:00000003\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup\\Apps\\Tracking\\ConfigMgr\\Provisioning_TS]\r\n\
\"InstallationState\"=dword:00000004\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server]\r\n\
\"ConfigInfo\"=\"2\"\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Enrollments\\ABC\\FirstSync]\r\n\
\"SyncFailureTimeout\"=dword:0000002d\r\n\r\n";
    let mut bytes = vec![0xff, 0xfe];
    for u in text.encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let reg = d.join("esp.reg");
    std::fs::write(&reg, &bytes).unwrap();
    let r = d.peforge(&["esp", "diagnose", "--reg", reg.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["input"]["kind"], "reg");
    assert_eq!(j["checks"][0]["state"], 3);
    assert_eq!(j["checks"][1]["state"], 4);
    assert_eq!(j["config_info"]["level"], "ok");
    assert_eq!(j["esp_timeout"]["minutes"], 45);
    // Later deletions apply, as regedit would apply them: the TS key removed, a value removed.
    let more = format!(
        "{text}[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup]\r\n\r\n\
[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server]\r\n\"ConfigInfo\"=-\r\n"
    );
    std::fs::write(&reg, more.as_bytes()).unwrap();
    let j = d
        .peforge(&["esp", "diagnose", "--reg", reg.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(j["checks"][1]["key_present"], false);
    assert_eq!(j["config_info"]["data"], serde_json::Value::Null);
    assert_eq!(j["status"], "ok");
    // Broken .reg: one error line naming the file and line.
    std::fs::write(
        &reg,
        b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n",
    )
    .unwrap();
    let r = d
        .peforge(&["esp", "diagnose", "--reg", reg.to_str().unwrap()])
        .fails(2);
    assert!(r.stderr.contains("esp.reg"), "{}", r.stderr);
    // An export of another hive only: not SOFTWARE.
    std::fs::write(&reg, b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Setup]\r\n\"X\"=\"y\"\r\n").unwrap();
    let r = d
        .peforge(&["esp", "diagnose", "--reg", reg.to_str().unwrap()])
        .fails(2);
    assert!(r.stderr.contains("not a SOFTWARE hive"), "{}", r.stderr);
}

#[test]
fn a_dirty_hive_is_read_but_flagged() {
    let d = Dir::new();
    let h = hive(
        &d,
        "SOFTWARE",
        &[(PROVIDER, vec![dword("InstallationState", 3)])],
    );
    let j = d
        .peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(j["input"]["dirty"], false);
    // Make the sequence numbers differ and fix the XOR checksum, computed here in Python.
    let py = r#"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
prim = struct.unpack_from('<I', b, 4)[0]
struct.pack_into('<I', b, 8, prim + 1)
x = 0
for o in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, o)[0]
x = {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x)
struct.pack_into('<I', b, 508, x)
open(p, 'wb').write(b)
"#;
    d.tool("python3", &["-c", py, h.to_str().unwrap()]).ok();
    let before = sha256(&h);
    let j = d
        .peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(j["input"]["dirty"], true);
    assert!(j["notes"][0].as_str().unwrap().contains("LOG1"), "{j}");
    assert_eq!(j["checks"][0]["state"], 3);
    let r = d
        .peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap()])
        .ok();
    assert!(r.stdout.contains("the hive is dirty"), "{}", r.stdout);
    assert_eq!(sha256(&h), before);
}

/// The `--json` schema, written on the test side: an added, renamed or removed field fails here.
#[allow(dead_code)] // Every field is declared to lock the schema; not every one is asserted.
mod schema {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Doc {
        pub schema_version: u32,
        pub input: Input,
        pub status: String,
        pub summary: String,
        pub checks: Vec<Check>,
        pub config_info: ConfigInfo,
        pub esp_timeout: Timeout,
        pub notes: Vec<String>,
        pub errors: usize,
        pub logs_in_image: Option<Vec<Log>>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Input {
        pub kind: String,
        pub path: String,
        pub index: Option<u32>,
        pub dirty: Option<bool>,
        pub transaction_logs: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Check {
        pub id: String,
        pub title: String,
        pub phase: String,
        pub key: String,
        pub key_present: bool,
        pub state: Option<u64>,
        pub meaning: String,
        pub level: String,
        pub next_steps: Vec<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ConfigInfo {
        pub key: String,
        pub value: String,
        pub r#type: Option<String>,
        pub data: Option<String>,
        pub meaning: String,
        pub level: String,
        pub fix: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Timeout {
        pub minutes: u64,
        pub source: String,
        pub key: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Log {
        pub path: String,
        pub size: u64,
    }
}

#[test]
fn json_matches_the_documented_schema() {
    let d = Dir::new();
    let h = hive(
        &d,
        "SOFTWARE",
        &[
            (PROVIDER, vec![dword("InstallationState", 4)]),
            (MSDM, vec![sz("ConfigInfo", "2")]),
        ],
    );
    let r = d.peforge(&["esp", "diagnose", "--hive", h.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1);
    common::assert_json_schema("esp-diagnose", &r.stdout);
    let doc: schema::Doc = serde_json::from_str(&r.stdout).unwrap();
    // 2: `input.transaction_logs` (issue #10).
    assert_eq!(doc.schema_version, 2);
    assert_eq!(doc.input.kind, "hive");
    assert_eq!(doc.input.dirty, Some(false));
    assert_eq!(doc.status, "error");
    assert_eq!(doc.errors, 1);
    assert_eq!(doc.checks.len(), 2);
    assert_eq!(doc.checks[0].key, format!("HKLM\\SOFTWARE\\{PROVIDER}"));
    assert_eq!(doc.checks[1].key, format!("HKLM\\SOFTWARE\\{TS}"));
    assert_eq!(doc.config_info.value, "ConfigInfo");
    assert_eq!(doc.config_info.level, "ok");
    assert_eq!(doc.esp_timeout.source, "default");
    assert_eq!(doc.esp_timeout.minutes, 60);
    assert!(doc.logs_in_image.is_none());
    assert!(!doc.notes.is_empty());
}
