//! `peforge driver inspect` on every INF of `../shared/vectors/inf`, compared with a test-side
//! reader written separately in Python (`tests/py/infread.py`) and with the vector set's
//! `EXPECTED.json` (computed by its own independent reader); bad inputs exit 2.

mod common;

use common::Dir;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn inf_dir() -> PathBuf {
    common::vectors().join("inf")
}

/// Every `.inf` / `.inx` file of the vectors, recursively.
fn all_infs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![inf_dir()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() && p.file_name().unwrap() != "LICENSES" {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("inf" | "inx" | "INF")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn python_read(d: &Dir, inf: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/infread.py");
    let r = d
        .tool(
            "python3",
            &[script.to_str().unwrap(), inf.to_str().unwrap()],
        )
        .ok();
    serde_json::from_str(&r.stdout).unwrap()
}

fn lower_set(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_lowercase())
        .collect();
    s.sort();
    s.dedup();
    s
}

#[test]
fn every_vector_matches_the_independent_readers() {
    let d = Dir::new();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(inf_dir().join("EXPECTED.json")).unwrap()).unwrap();
    let files = all_infs();
    assert_eq!(files.len(), 20, "the vector set has 20 INF/INX files");
    for inf in &files {
        let r = d.peforge(&["driver", "inspect", "--json", inf.to_str().unwrap()]);
        assert!(
            r.code == 0 || r.code == 1,
            "{}: {}",
            inf.display(),
            r.stderr
        );
        common::assert_json_schema("driver-inspect", &r.stdout);
        let doc = r.json();
        let pkgs = doc["packages"].as_array().unwrap();
        assert_eq!(pkgs.len(), 1);
        let p = &pkgs[0];
        let py = python_read(&d, inf);
        let what = inf.display().to_string();
        for (ours, theirs) in [
            ("class", "class"),
            ("class_guid", "class_guid"),
            ("provider", "provider"),
            ("signature", "signature"),
            ("driver_ver", "driver_ver"),
            ("continuations", "continuations"),
            ("encoding", "encoding"),
        ] {
            assert_eq!(p[ours], py[theirs], "{what}: {ours}");
        }
        let mut archs = lower_set(&p["architectures"]);
        archs.sort();
        assert_eq!(
            archs,
            lower_set(&py["architectures"]),
            "{what}: architectures"
        );
        assert_eq!(p["undecorated_models"], py["undecorated"], "{what}");
        assert_eq!(
            lower_set(&p["hardware_ids"]),
            lower_set(&py["hardware_ids"]),
            "{what}: hardware IDs"
        );
        let ours_cats: serde_json::Map<String, Value> = p["catalogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["key"].as_str().unwrap().into(), c["file"].clone()))
            .collect();
        assert_eq!(Value::Object(ours_cats.clone()), py["catalogs"], "{what}");
        let mut ours_files: Vec<(String, bool)> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().into(),
                    f["present"].as_bool().unwrap(),
                )
            })
            .collect();
        ours_files.sort();
        let mut py_files: Vec<(String, bool)> = py["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f[0].as_str().unwrap().into(), f[1].as_bool().unwrap()))
            .collect();
        py_files.sort();
        assert_eq!(ours_files, py_files, "{what}: needed files");

        // The vector set's own expected values (tools/infcheck.py, a third reader).
        let rel = inf
            .strip_prefix(inf_dir())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let e = expected["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == rel.as_str())
            .unwrap_or_else(|| panic!("{rel} not in EXPECTED.json"));
        assert_eq!(p["class"], e["class"], "{what}");
        assert_eq!(p["class_guid"], e["classguid"], "{what}");
        assert_eq!(p["provider"], e["provider"], "{what}");
        assert_eq!(p["driver_ver"], e["driverver"], "{what}");
        assert_eq!(p["continuations"], e["continuations"], "{what}");
        assert_eq!(Value::Object(ours_cats), e["catalogfiles"], "{what}");
        assert_eq!(
            lower_set(&p["hardware_ids"]),
            lower_set(&e["ids_list"]),
            "{what}"
        );
        let e_arch: Vec<String> = e["architectures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap()
                    .replace(" (undecorated)", "")
                    .to_lowercase()
            })
            .collect();
        assert_eq!(archs, {
            let mut v = e_arch;
            v.sort();
            v
        });
        let markers: Vec<&str> = e["template_markers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let ours_markers: Vec<&str> = p["template_markers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(ours_markers, markers, "{what}: template markers");
        if let Some(pkg) = e.get("package") {
            let present: Vec<&str> = p["files"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["present"] == true)
                .map(|f| f["path"].as_str().unwrap())
                .chain(
                    p["catalogs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|c| c["present"] == true)
                        .map(|c| c["file"].as_str().unwrap()),
                )
                .collect();
            let mut present = present;
            present.sort();
            let want: Vec<&str> = pkg["present"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            assert_eq!(present, want, "{what}: package files present");
        }
        let codes: Vec<&str> = p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        // Findings the issue lists, against facts of the independent reader.
        assert_eq!(
            codes.contains(&"DRV002"),
            py["catalogs"].as_object().unwrap().is_empty(),
            "{what}: unsigned finding"
        );
        assert_eq!(
            codes.contains(&"DRV004"),
            py_files.iter().any(|(_, present)| !present),
            "{what}: missing-file finding"
        );
        assert_eq!(
            codes.contains(&"DRV006"),
            !markers.is_empty(),
            "{what}: template finding"
        );
        assert_eq!(
            r.code,
            i32::from(
                p["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["severity"] == "error")
            ),
            "{what}: exit 1 exactly when a finding is an error"
        );
    }
}

#[test]
fn package_folders_are_judged_for_the_image_architecture() {
    let d = Dir::new();
    let viostor = inf_dir().join("virtio-win_virtio-win-pkg-scripts__viostor-w8.1-amd64");
    let r = d
        .peforge(&[
            "driver",
            "inspect",
            "--json",
            "--arch",
            "x64",
            viostor.to_str().unwrap(),
        ])
        .ok();
    let p = &r.json()["packages"][0];
    assert_eq!(p["winpe"]["sections"][0], "VioStor.NTamd64.6.3");
    assert_eq!(p["winpe"]["catalog"], "viostor.cat");
    assert_eq!(p["winpe"]["refused"], Value::Null);
    // The same package for an arm64 WinPE: refused, naming what it supports.
    let r = d
        .peforge(&[
            "driver",
            "inspect",
            "--json",
            "--arch",
            "arm64",
            viostor.to_str().unwrap(),
        ])
        .ok();
    let refused = r.json()["packages"][0]["winpe"]["refused"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("arm64") && refused.contains("amd64"),
        "{refused}"
    );
    // nete1000 is undecorated: x86 only, and unsigned.
    let e1000 = inf_dir().join("snykiotcubedev_reactos-0.4.13-release__nete1000.inf");
    let r = d.peforge(&[
        "driver",
        "inspect",
        "--json",
        "--arch",
        "x86",
        e1000.to_str().unwrap(),
    ]);
    let p = &r.json()["packages"][0];
    assert_eq!(p["winpe"]["sections"][0], "IntelMfg");
    assert!(p["winpe"]["refused"].as_str().unwrap().contains("unsigned"));
    // A toaster for Windows 10 1709+ is not for an older WinPE (version-decorated models).
    let toast = inf_dir().join("microsoft_Windows-driver-samples__toastpkg-multios.inf");
    let r = d.peforge(&[
        "driver",
        "inspect",
        "--json",
        "--arch",
        "x64",
        "--os-version",
        "10.0.15063",
        toast.to_str().unwrap(),
    ]);
    assert_eq!(
        r.json()["packages"][0]["winpe"]["sections"],
        serde_json::json!([])
    );
}

#[test]
fn a_folder_is_searched_recursively_and_duplicate_ids_are_reported() {
    let d = Dir::new();
    let r = d.peforge(&["driver", "inspect", "--json", inf_dir().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    common::assert_json_schema("driver-inspect", &r.stdout);
    let doc = r.json();
    let n_inf = all_infs()
        .iter()
        .filter(|p| p.extension().unwrap() == "inf")
        .count();
    assert_eq!(doc["packages"].as_array().unwrap().len(), n_inf);
    // viostor.inx and viostor.inf are not both read (.inx is not an INF); vioscsi and
    // viostor claim different IDs, but the two ReactOS and Windows samples do not overlap
    // either: the only duplicate claim in the set is OpteeTrEE's IDs across its own sections,
    // which is not across packages. Build one: the same package twice in two folders.
    let a = d.join("a");
    let b = d.join("b");
    for dir in [&a, &b] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(
            inf_dir().join("virtio-win_virtio-win-pkg-scripts__viorng-w7-amd64.inf"),
            dir.join("viorng.inf"),
        )
        .unwrap();
    }
    let r = d.peforge(&["driver", "inspect", "--json", "a", "b"]);
    let f = &r.json()["findings"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f[0]["code"], "DRV014");
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_file() {
    let d = Dir::new();
    std::fs::create_dir_all(d.join("empty/sub")).unwrap();
    std::fs::write(d.join("empty/sub/readme.txt"), "no driver here").unwrap();
    let r = d.peforge(&["driver", "inspect", "empty"]).fails(2);
    assert!(r.stderr.contains("empty: no .inf file"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"));

    std::fs::write(
        d.join("bad.inf"),
        b"[Version\r\nSignature=\"$Windows NT$\"\r\n",
    )
    .unwrap();
    let r = d.peforge(&["driver", "inspect", "bad.inf"]).fails(2);
    assert!(
        r.stderr
            .contains("bad.inf: malformed INF: line 1: section name not closed"),
        "{}",
        r.stderr
    );
    std::fs::write(d.join("bin.inf"), b"MZ\x90\x00\x03\x00\x00\x00").unwrap();
    let r = d.peforge(&["driver", "inspect", "bin.inf"]).fails(2);
    assert!(r.stderr.contains("bin.inf: malformed INF"), "{}", r.stderr);
    std::fs::write(d.join("nover.inf"), b"[Strings]\r\nA=1\r\n").unwrap();
    let r = d.peforge(&["driver", "inspect", "nover.inf"]).fails(2);
    assert!(
        r.stderr.contains("nover.inf: not a driver INF"),
        "{}",
        r.stderr
    );
    let r = d.peforge(&["driver", "inspect", "missing-dir"]).fails(2);
    assert!(r.stderr.contains("missing-dir"), "{}", r.stderr);
}
