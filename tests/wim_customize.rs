//! `peforge wim customize`: every result read back with wimlib-imagex (`dir`, `verify`) and
//! wimextract, not with peforge; ConfigMgr-shaped, plain WinPE and multi-image WIMs; every bad
//! input exits 2 and leaves the WIM byte-identical.

mod common;

use common::{Dir, sha256};
use std::path::{Path, PathBuf};

fn inf_dir() -> PathBuf {
    common::vectors().join("inf")
}
fn netkvm() -> PathBuf {
    inf_dir().join("virtio-win_virtio-win-pkg-scripts__netkvm-w8.1-amd64")
}
fn viostor() -> PathBuf {
    inf_dir().join("virtio-win_virtio-win-pkg-scripts__viostor-w8.1-amd64")
}
fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every path of an image, from `wimlib-imagex dir`.
fn listing(d: &Dir, wim: &Path, index: u32) -> Vec<String> {
    d.tool("wimlib-imagex", &["dir", s(wim), &index.to_string()])
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

fn verify(d: &Dir, wim: &Path) {
    let r = d.tool("wimlib-imagex", &["verify", s(wim)]).ok();
    assert!(r.stdout.contains("successfully verified"), "{}", r.stdout);
}

fn extract_text(d: &Dir, wim: &Path, index: u32, inner: &str) -> String {
    String::from_utf8(std::fs::read(d.wimextract(wim, index, inner)).unwrap()).unwrap()
}

/// The image paths start.cmd loads (`call :drv "%SYSTEMDRIVE%\..."` lines), as `/` paths.
fn drv_lines(start: &str) -> Vec<String> {
    start
        .lines()
        .filter_map(|l| l.strip_prefix("call :drv \"%SYSTEMDRIVE%\\"))
        .map(|r| format!("/{}", r.trim_end_matches('"').replace('\\', "/")))
        .collect()
}

/// Folder `name` holding a copy of INF `inf` of the vectors (as `name.inf`) plus stand-in
/// files.
fn package(d: &Dir, name: &str, inf: &str, extra: &[&str]) -> PathBuf {
    let dir = d.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(inf_dir().join(inf), dir.join(format!("{name}.inf"))).unwrap();
    for f in extra {
        std::fs::write(dir.join(f), format!("stand-in {f}")).unwrap();
    }
    dir
}

#[test]
fn configmgr_image_gets_drivers_before_tsbootshell_and_a_second_run_changes_nothing() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    let before_ini = extract_text(&d, &wim, 1, "/Windows/System32/winpeshl.ini");
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--driver",
            s(&netkvm()),
            "--driver",
            s(&viostor()),
            "--json",
        ])
        .ok();
    common::assert_json_schema("wim-customize", &r.stdout);
    let j = r.json();
    assert_eq!(j["shape"], "configmgr");
    assert_eq!(j["arch"], "amd64");
    verify(&d, &wim);
    let list = listing(&d, &wim, 1);
    // The start-up step loads exactly the staged INFs, which are where it looks.
    let start = extract_text(&d, &wim, 1, "/peforge/start.cmd");
    let loads = drv_lines(&start);
    assert_eq!(
        loads,
        [
            "/peforge/drivers/01-netkvm/netkvm.inf",
            "/peforge/drivers/02-viostor/viostor.inf"
        ]
    );
    for l in &loads {
        assert!(list.contains(l), "{l} not in the image:\n{list:?}");
    }
    // Whole packages, byte-identical to the source folders.
    for (src, folder) in [(netkvm(), "01-netkvm"), (viostor(), "02-viostor")] {
        for e in std::fs::read_dir(&src).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            let got = d.wimextract(&wim, 1, &format!("/peforge/drivers/{folder}/{name}"));
            assert_eq!(sha256(&got), sha256(&src.join(&name)), "{name}");
        }
    }
    assert!(start.contains("drvload %1 >> \"%PEFORGE_LOG%\""));
    assert!(start.contains("set PEFORGE_LOG=%SYSTEMROOT%\\Temp\\peforge-start.log"));
    assert!(start.lines().all(|l| l.is_ascii()) && start.contains("\r\n"));
    // winpeshl.ini: our line first, every other line as it was.
    let ini = extract_text(&d, &wim, 1, "/Windows/System32/winpeshl.ini");
    let lines: Vec<&str> = ini.lines().collect();
    assert_eq!(
        lines,
        [
            "[LaunchApps]",
            "%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\peforge\\start.cmd",
            "%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe"
        ]
    );
    assert_eq!(
        ini.replace(
            "%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\peforge\\start.cmd\r\n",
            ""
        ),
        before_ini
    );
    assert!(lines.iter().all(|l| l.len() <= 250));
    // The record inside the image.
    let rec: serde_json::Value =
        serde_json::from_str(&extract_text(&d, &wim, 1, "/peforge/customize.json")).unwrap();
    assert_eq!(rec["drivers"].as_array().unwrap().len(), 2);
    assert_eq!(rec["hook"]["file"], "Windows\\System32\\winpeshl.ini");
    // Idempotent: the same customization again does not touch the file.
    let h = sha256(&wim);
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--driver",
            s(&netkvm()),
            "--driver",
            s(&viostor()),
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["changed"], false);
    assert_eq!(sha256(&wim), h);
    // --list reads the record back.
    let r = d
        .peforge(&["wim", "customize", "--wim", s(&wim), "--list", "--json"])
        .ok();
    common::assert_json_schema("wim-customize", &r.stdout);
    assert_eq!(
        r.json()["record"]["drivers"][1]["folder"],
        "peforge\\drivers\\02-viostor"
    );
    // --remove-drivers: packages, start.cmd, record and our winpeshl.ini line gone.
    d.peforge(&["wim", "customize", "--wim", s(&wim), "--remove-drivers"])
        .ok();
    verify(&d, &wim);
    let list = listing(&d, &wim, 1);
    assert!(!list.iter().any(|l| l.starts_with("/peforge")), "{list:?}");
    assert_eq!(
        extract_text(&d, &wim, 1, "/Windows/System32/winpeshl.ini"),
        before_ini
    );
}

#[test]
fn plain_winpe_gets_the_step_before_wpeinit_with_start_script_and_overlay() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let before_startnet = extract_text(&d, &wim, 1, "/Windows/System32/startnet.cmd");
    std::fs::create_dir_all(d.join("ov/Tools")).unwrap();
    std::fs::write(d.join("ov/Tools/probe.cmd"), "echo probe\r\n").unwrap();
    std::fs::write(d.join("ov/kernel32.dll"), "overlay replaces this").unwrap();
    std::fs::write(d.join("prestart.cmd"), "@echo off\r\necho hello\r\n").unwrap();
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            "boot.wim",
            "--driver",
            s(&netkvm()),
            "--overlay",
            "ov:X:\\Windows\\System32",
            "--start-script",
            "prestart.cmd",
            "--json",
        ])
        .ok();
    common::assert_json_schema("wim-customize", &r.stdout);
    let j = r.json();
    assert_eq!(j["shape"], "startnet");
    assert_eq!(
        j["overlay_replaced"],
        serde_json::json!(["Windows\\System32\\kernel32.dll"])
    );
    verify(&d, &wim);
    let startnet = extract_text(&d, &wim, 1, "/Windows/System32/startnet.cmd");
    assert_eq!(
        startnet,
        format!("call %SYSTEMDRIVE%\\peforge\\start.cmd\r\n{before_startnet}")
    );
    let start = extract_text(&d, &wim, 1, "/peforge/start.cmd");
    let lines: Vec<&str> = start.lines().collect();
    let drv = lines
        .iter()
        .position(|l| l.starts_with("call :drv"))
        .unwrap();
    let user = lines
        .iter()
        .position(|l| *l == "call \"%SYSTEMDRIVE%\\peforge\\user-start.cmd\"")
        .unwrap();
    assert!(drv < user, "drivers load before the start script:\n{start}");
    assert_eq!(
        extract_text(&d, &wim, 1, "/peforge/user-start.cmd"),
        "@echo off\r\necho hello\r\n"
    );
    assert_eq!(
        extract_text(&d, &wim, 1, "/Windows/System32/Tools/probe.cmd"),
        "echo probe\r\n"
    );
    assert_eq!(
        extract_text(&d, &wim, 1, "/Windows/System32/kernel32.dll"),
        "overlay replaces this"
    );
    // Idempotent with the overlay and script too.
    let h = sha256(&wim);
    d.peforge(&[
        "wim",
        "customize",
        "--wim",
        "boot.wim",
        "--driver",
        s(&netkvm()),
        "--overlay",
        "ov:X:\\Windows\\System32",
        "--start-script",
        "prestart.cmd",
    ])
    .ok();
    assert_eq!(sha256(&wim), h);
    // Removing the drivers keeps the start script and its step.
    d.peforge(&["wim", "customize", "--wim", "boot.wim", "--remove-drivers"])
        .ok();
    let start = extract_text(&d, &wim, 1, "/peforge/start.cmd");
    assert!(drv_lines(&start).is_empty());
    assert!(start.contains("user-start.cmd"));
    assert!(
        !listing(&d, &wim, 1)
            .iter()
            .any(|l| l.starts_with("/peforge/drivers"))
    );
    assert!(
        extract_text(&d, &wim, 1, "/Windows/System32/startnet.cmd")
            .starts_with("call %SYSTEMDRIVE%\\peforge\\start.cmd\r\n")
    );
    verify(&d, &wim);
}

#[test]
fn output_rebuild_and_dry_run() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    let h = sha256(&wim);
    d.peforge(&[
        "wim",
        "customize",
        "--wim",
        "boot.wim",
        "--driver",
        s(&netkvm()),
        "--dry-run",
    ])
    .ok();
    assert_eq!(sha256(&wim), h, "a dry run writes nothing");
    d.peforge(&[
        "wim",
        "customize",
        "--wim",
        "boot.wim",
        "--driver",
        s(&netkvm()),
        "--output",
        "new.wim",
    ])
    .ok();
    assert_eq!(sha256(&wim), h, "--output leaves the input untouched");
    let new = d.join("new.wim");
    verify(&d, &new);
    assert!(listing(&d, &new, 1).contains(&"/peforge/drivers/01-netkvm/netkvm.sys".to_string()));
    d.peforge(&[
        "wim",
        "customize",
        "--wim",
        "boot.wim",
        "--driver",
        s(&viostor()),
        "--rebuild",
    ])
    .ok();
    verify(&d, &wim);
    assert!(listing(&d, &wim, 1).contains(&"/peforge/drivers/01-viostor/viostor.sys".to_string()));
    // A profile gives the same as the flags.
    std::fs::write(
        d.join("c.toml"),
        format!("wim = \"new.wim\"\ndrivers = [{:?}]\n", s(&viostor())),
    )
    .unwrap();
    d.peforge(&["wim", "customize", "--profile", "c.toml"]).ok();
    let start = extract_text(&d, &new, 1, "/peforge/start.cmd");
    assert_eq!(
        drv_lines(&start),
        [
            "/peforge/drivers/01-netkvm/netkvm.inf",
            "/peforge/drivers/02-viostor/viostor.inf"
        ]
    );
}

/// A two-image WIM made with wimlib-imagex: 1 = plain WinPE amd64, 2 = ConfigMgr arm64.
fn multi_image(d: &Dir) -> PathBuf {
    for (n, cm) in [("one", false), ("two", true)] {
        let root = d.join(n);
        std::fs::create_dir_all(&root).unwrap();
        let opts = peforge::sample::SampleOptions {
            configmgr: cm,
            filler_bytes: 0,
            ..Default::default()
        };
        peforge::sample::stage_tree(&root, &opts).unwrap();
    }
    let wim = d.join("multi.wim");
    d.tool(
        "wimlib-imagex",
        &[
            "capture",
            s(&d.join("one")),
            s(&wim),
            "PE amd64",
            "--boot",
            "--image-property",
            "WINDOWS/ARCH=9",
            "--image-property",
            "WINDOWS/INSTALLATIONTYPE=WindowsPE",
        ],
    )
    .ok();
    d.tool(
        "wimlib-imagex",
        &[
            "append",
            s(&d.join("two")),
            s(&wim),
            "PE arm64",
            "--image-property",
            "WINDOWS/ARCH=12",
            "--image-property",
            "WINDOWS/INSTALLATIONTYPE=WindowsPE",
        ],
    )
    .ok();
    wim
}

#[test]
fn multi_image_wim_with_index() {
    let d = Dir::new();
    let wim = multi_image(&d);
    let two_before = listing(&d, &wim, 2);
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--index",
            "1",
            "--driver",
            s(&netkvm()),
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["index"], 1);
    verify(&d, &wim);
    assert!(listing(&d, &wim, 1).contains(&"/peforge/drivers/01-netkvm/netkvm.inf".to_string()));
    assert_eq!(listing(&d, &wim, 2), two_before, "image 2 untouched");
    // Image 2 is arm64: the amd64 package is refused by name, nothing written.
    let h = sha256(&wim);
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--index",
            "2",
            "--driver",
            s(&netkvm()),
        ])
        .fails(2);
    assert!(
        r.stderr
            .contains("netkvm.inf: refused for image 2 (arm64): no models section for arm64"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("amd64"), "{}", r.stderr);
    assert_eq!(sha256(&wim), h);
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--index",
            "3",
            "--driver",
            s(&netkvm()),
        ])
        .fails(2);
    assert!(r.stderr.contains("image 3 does not exist"), "{}", r.stderr);
}

#[test]
fn bad_inputs_exit_2_and_leave_the_wim_unchanged() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    let h = sha256(&wim);
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::create_dir_all(d.join("bad")).unwrap();
    std::fs::write(d.join("bad/bad.inf"), "[Version\r\n").unwrap();
    std::fs::create_dir_all(d.join("ov")).unwrap();
    std::fs::write(d.join("ov/a.txt"), "a").unwrap();
    // nvme.inf is amd64 and x86 and has no catalog; nvme.sys stands in.
    let unsigned = package(&d, "nvme", "gigaherz_nvmewin__nvme.inf", &["nvme.sys"]);
    // nete1000 is x86 only (undecorated models).
    let x86 = package(
        &d,
        "e1000",
        "snykiotcubedev_reactos-0.4.13-release__nete1000.inf",
        &[],
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--driver", "bad"], "bad.inf: malformed INF: line 1"),
        (vec!["--driver", "empty"], "empty: no .inf file"),
        (vec!["--driver", "missing"], "missing: not a folder"),
        (
            vec!["--start-script", "ov"],
            "ov: the start script is not a file",
        ),
        (vec!["--overlay", "ov:../../etc"], "outside the image"),
        (vec!["--overlay", "ov:C:\\Windows"], "outside the image"),
        (
            vec!["--overlay", "nothere:Tools"],
            "nothere: the overlay is not a folder",
        ),
        (
            vec!["--driver", s(&unsigned)],
            "nvme.inf: refused for image 1 (amd64): no CatalogFile",
        ),
        (
            vec!["--driver", s(&x86), "--allow-unsigned"],
            "refused for image 1 (amd64): no models section for amd64",
        ),
    ];
    for (args, want) in cases {
        let mut a = vec!["wim", "customize", "--wim", "boot.wim"];
        a.extend(&args);
        let r = d.peforge(&a).fails(2);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{args:?}: {}", r.stderr);
        assert_eq!(sha256(&wim), h, "{args:?} changed the WIM");
    }
    // With --allow-unsigned the unsigned amd64 package is staged.
    d.peforge(&[
        "wim",
        "customize",
        "--wim",
        "boot.wim",
        "--driver",
        s(&unsigned),
        "--allow-unsigned",
        "--output",
        "test-signing.wim",
    ])
    .ok();
    let list = listing(&d, &d.join("test-signing.wim"), 1);
    assert!(
        list.contains(&"/peforge/drivers/01-nvme/nvme.sys".to_string()),
        "{list:?}"
    );
}

/// A sample whose start-up file is `content`, captured with wimlib-imagex.
fn with_startup_file(d: &Dir, name: &str, configmgr: bool, file: &str, content: &[u8]) -> PathBuf {
    let root = d.join(&format!("{name}-root"));
    std::fs::create_dir_all(&root).unwrap();
    let opts = peforge::sample::SampleOptions {
        configmgr,
        filler_bytes: 0,
        ..Default::default()
    };
    peforge::sample::stage_tree(&root, &opts).unwrap();
    std::fs::write(root.join("Windows/System32").join(file), content).unwrap();
    let wim = d.join(name);
    d.tool(
        "wimlib-imagex",
        &[
            "capture",
            s(&root),
            s(&wim),
            "PE",
            "--boot",
            "--image-property",
            "WINDOWS/ARCH=9",
            "--image-property",
            "WINDOWS/INSTALLATIONTYPE=WindowsPE",
        ],
    )
    .ok();
    wim
}

#[test]
fn startup_files_it_cannot_understand_are_refused() {
    let d = Dir::new();
    let cases: Vec<(&str, bool, &str, &[u8], &str)> = vec![
        (
            "a.wim",
            true,
            "winpeshl.ini",
            b"[Shell]\r\nCmd=x\r\n",
            "section [Shell] is not one",
        ),
        (
            "b.wim",
            true,
            "winpeshl.ini",
            b"[LaunchApps]\r\n%SYSTEMDRIVE%\\custom.exe\r\n",
            "does not run TsBootShell.exe",
        ),
        (
            "c.wim",
            false,
            "startnet.cmd",
            b"@echo off\r\nnet use\r\n",
            "no wpeinit line",
        ),
        ("d.wim", false, "startnet.cmd", b"\xff\xfew\0p\0", "UTF-16"),
    ];
    for (name, cm, file, content, want) in cases {
        let wim = with_startup_file(&d, name, cm, file, content);
        let h = sha256(&wim);
        let r = d
            .peforge(&[
                "wim",
                "customize",
                "--wim",
                s(&wim),
                "--driver",
                s(&netkvm()),
            ])
            .fails(2);
        assert!(
            r.stderr.contains(&format!("Windows\\System32\\{file}")) && r.stderr.contains(want),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(sha256(&wim), h);
    }
    // An MDT-style winpeshl.ini without TsBootShell: the line goes first, bddrun kept.
    let wim = with_startup_file(
        &d,
        "mdt.wim",
        false,
        "winpeshl.ini",
        b"[LaunchApps]\r\n%SYSTEMROOT%\\System32\\bddrun.exe,/bootstrap\r\n",
    );
    let r = d
        .peforge(&[
            "wim",
            "customize",
            "--wim",
            s(&wim),
            "--driver",
            s(&netkvm()),
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["shape"], "winpeshl");
    let ini = extract_text(&d, &wim, 1, "/Windows/System32/winpeshl.ini");
    assert_eq!(
        ini,
        "[LaunchApps]\r\n%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\peforge\\start.cmd\r\n%SYSTEMROOT%\\System32\\bddrun.exe,/bootstrap\r\n"
    );
    verify(&d, &wim);
}
