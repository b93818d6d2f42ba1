//! Runs killed with SIGKILL (what a CI runner does on a timeout) at several points: the input
//! stays byte-identical, the output is complete or absent, and the next run in the same folder
//! removes what the killed run left (owner records of `peforge::workdir`), with a note. WIM
//! contents are read back with wimlib-imagex/wimextract, not peforge.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Dir, sha256};

/// Where to kill a run.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// As soon as its owner record exists.
    Claimed,
    /// As soon as its temporary file exists.
    TempCreated,
    /// When its temporary file has at least this many bytes.
    TempBytes(u64),
    /// After this long, wherever it is.
    After(Duration),
    /// When a file of this name exists in a `.peforge-` work folder (depth ≤ 4).
    WorkFile(&'static str),
    /// When this output exists.
    Output(&'static str),
}

fn in_work(dir: &Path, name: &str, depth: u32) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.filter_map(|e| e.ok()).any(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if depth > 0 && p.is_dir() && (depth < 4 || n.starts_with(".peforge-")) {
            in_work(&p, name, depth - 1)
        } else {
            depth < 4 && n == name
        }
    })
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".peforge-"))
        .collect();
    v.sort();
    v
}

fn temp_bytes(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(".peforge-") && !n.ends_with(".owner")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .max()
}

/// Starts peforge with `args` in `d` and SIGKILLs it at `point` (or lets it finish if it gets
/// there first). Returns whether it was killed.
fn run_and_kill(d: &Dir, args: &[&str], point: Point) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_peforge"))
        .args(args)
        .current_dir(d.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn peforge");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let hit = match point {
            Point::Claimed => leftovers(d.path()).iter().any(|n| n.ends_with(".owner")),
            Point::TempCreated => temp_bytes(d.path()).is_some(),
            Point::TempBytes(n) => temp_bytes(d.path()).is_some_and(|b| b >= n),
            Point::After(t) => start.elapsed() >= t,
            Point::WorkFile(n) => in_work(d.path(), n, 4),
            Point::Output(o) => d.join(o).exists(),
        };
        if hit {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "run never reached {point:?}"
        );
        std::thread::sleep(Duration::from_micros(300));
    }
}

/// A WIM is complete when wimlib verifies it and wimextract reads `inner` back as `expect`.
fn assert_complete(d: &Dir, wim: &str, inner: &str, expect: &[u8]) {
    d.tool("wimlib-imagex", &["verify", wim]).ok();
    let got = d.wimextract(&d.join(wim), 1, inner);
    assert_eq!(std::fs::read(got).unwrap(), expect, "{wim}: {inner}");
}

fn sample(d: &Dir, mb: &str) -> String {
    d.peforge(&[
        "sample",
        "boot-wim",
        "--configmgr",
        "--size-mb",
        mb,
        "--incompressible",
        "-o",
        "boot.wim",
    ])
    .ok();
    sha256(&d.join("boot.wim"))
}

fn points(wim_bytes: u64) -> [Point; 5] {
    [
        Point::Claimed,
        Point::TempCreated,
        Point::TempBytes(wim_bytes / 3),
        Point::TempBytes(wim_bytes * 9 / 10),
        Point::After(Duration::from_millis(5)),
    ]
}

/// Kills, then checks the invariants and that the next run cleans up.
fn check_after_kill(d: &Dir, killed: bool, args: &[&str], what: &str) {
    let left = leftovers(d.path());
    let next = d.peforge(args).ok();
    let after = leftovers(d.path());
    assert!(
        after.is_empty(),
        "{what}: left after the next run: {after:?}"
    );
    if killed && !left.is_empty() {
        assert!(
            next.stderr.contains("note: removed") && next.stderr.contains("interrupted run"),
            "{what}: no note for {left:?}: {}",
            next.stderr
        );
        for l in &left {
            assert!(
                l.ends_with(".owner") || next.stderr.contains(l.as_str()),
                "{what}: note does not name {l}: {}",
                next.stderr
            );
        }
    }
}

#[test]
fn killed_cert_inject_output_leaves_input_intact_and_nothing_after_the_next_run() {
    let d = Dir::new();
    let input_sha = sample(&d, "16");
    let size = std::fs::metadata(d.join("boot.wim")).unwrap().len();
    let root = common::openssl_root_ca(&d, "root", "Killed Run Root");
    let root = root.to_str().unwrap().to_string();
    let args = [
        "cert", "inject", "--wim", "boot.wim", "--cert", &root, "--output", "new.wim",
    ];
    let mut left_something = 0;
    for point in points(size) {
        let _ = std::fs::remove_file(d.join("new.wim"));
        let killed = run_and_kill(&d, &args, point);
        assert_eq!(
            sha256(&d.join("boot.wim")),
            input_sha,
            "{point:?}: input changed"
        );
        if d.join("new.wim").exists() {
            d.tool("wimlib-imagex", &["verify", "new.wim"]).ok();
        }
        if !leftovers(d.path()).is_empty() {
            left_something += 1;
        }
        let _ = std::fs::remove_file(d.join("new.wim"));
        check_after_kill(
            &d,
            killed,
            &args,
            &format!("cert inject --output, {point:?}"),
        );
        assert_eq!(sha256(&d.join("boot.wim")), input_sha);
        d.tool("wimlib-imagex", &["verify", "new.wim"]).ok();
    }
    // The kill points inside the write did leave temporary items, so the sweep was exercised.
    assert!(
        left_something >= 2,
        "only {left_something} kills left anything"
    );
}

#[test]
fn killed_wim_put_rebuild_leaves_old_or_new_wim_and_nothing_after_the_next_run() {
    let d = Dir::new();
    sample(&d, "16");
    let size = std::fs::metadata(d.join("boot.wim")).unwrap().len();
    let inner = "Windows/System32/startnet.cmd";
    let mut left_something = 0;
    for (n, point) in points(size).into_iter().enumerate() {
        let new = format!("wpeinit\r\nrem rebuild {n}\r\n");
        std::fs::write(d.join("startnet.cmd"), &new).unwrap();
        let before = sha256(&d.join("boot.wim"));
        let args = ["wim", "put", "boot.wim", "startnet.cmd", inner, "--rebuild"];
        let killed = run_and_kill(&d, &args, point);
        // Old or new, never half: the old bytes exactly, or a verified WIM with the new file.
        if sha256(&d.join("boot.wim")) != before {
            assert_complete(&d, "boot.wim", inner, new.as_bytes());
        } else {
            d.tool("wimlib-imagex", &["verify", "boot.wim"]).ok();
        }
        if !leftovers(d.path()).is_empty() {
            left_something += 1;
        }
        check_after_kill(&d, killed, &args, &format!("wim put --rebuild, {point:?}"));
        assert_complete(&d, "boot.wim", inner, new.as_bytes());
    }
    assert!(
        left_something >= 2,
        "only {left_something} kills left anything"
    );
}

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";

fn media_fixture() -> Dir {
    let d = Dir::new();
    sample(&d, "4");
    d.media_pki("Killed Media Root", "pfx-Pass-1");
    d.secret_file("media.pass", "Killed-Media-Passw0rd!");
    d
}

fn inputs_sha(d: &Dir, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| sha256(&d.join(n))).collect()
}

/// An ISO output is complete when bsdtar reads its whole directory and it holds the boot image
/// and the variables file.
fn assert_iso_complete(d: &Dir, iso: &str) {
    let list = d.tool("bsdtar", &["-tf", iso]).ok().stdout;
    for f in [
        "sources/boot.wim",
        "SMS/data/Variables.dat",
        "SMS/data/TsmBootstrap.ini",
    ] {
        assert!(
            list.lines().any(|l| l.eq_ignore_ascii_case(f)),
            "{iso}: no {f}: {list}"
        );
    }
}

fn media_points(out: &'static str) -> [Point; 5] {
    [
        Point::Claimed,
        Point::TempCreated,
        Point::WorkFile("boot.wim"),
        Point::WorkFile(if out.ends_with(".iso") {
            "medium.iso"
        } else {
            "medium.usb"
        }),
        Point::Output(out),
    ]
}

fn kill_media_runs(d: &Dir, args: &[&str], out: &'static str, inputs: &[&str]) {
    let before = inputs_sha(d, inputs);
    let mut left_something = 0;
    for point in media_points(out) {
        let _ = std::fs::remove_file(d.join(out));
        let killed = run_and_kill(d, args, point);
        assert_eq!(inputs_sha(d, inputs), before, "{point:?}: an input changed");
        if d.join(out).exists() {
            assert_iso_complete(d, out);
        }
        if !leftovers(d.path()).is_empty() {
            left_something += 1;
        }
        check_after_kill(d, killed, args, &format!("{} {point:?}", args[1]));
        assert_iso_complete(d, out);
        assert_eq!(inputs_sha(d, inputs), before);
    }
    assert!(
        left_something >= 3,
        "only {left_something} kills left anything"
    );
}

#[test]
fn killed_media_build_and_retarget_leave_inputs_intact_and_nothing_after_the_next_run() {
    let d = media_fixture();
    let build = common::media_build_args(MP, "iso", "cmg.iso");
    kill_media_runs(
        &d,
        &build,
        "cmg.iso",
        &["boot.wim", "root.pem", "media.pfx"],
    );
    let retarget = [
        "media",
        "retarget",
        "cmg.iso",
        "--mp",
        "https://cmg2.contoso.com/CCM_Proxy_MutualAuth/72186325152220501",
        "--password-file",
        "media.pass",
        "-o",
        "new.iso",
    ];
    kill_media_runs(&d, &retarget, "new.iso", &["cmg.iso"]);
}

#[test]
fn killed_hive_set_on_a_loose_hive_leaves_old_or_new_hive_and_nothing_after_the_next_run() {
    let d = Dir::new();
    sample(&d, "1");
    let extracted = d.wimextract(&d.join("boot.wim"), 1, "Windows/System32/config/SOFTWARE");
    std::fs::copy(&extracted, d.join("SOFTWARE")).unwrap();
    // Grow the hive (~2.5 MB, with hivexregedit) so that writing it takes long enough to be
    // killed half-way.
    let filler = vec!["ab"; 16_000].join(",");
    let mut reg = String::from(
        "Windows Registry Editor Version 5.00\r\n\r\n[\\Peforge]\r\n\r\n[\\Peforge\\Filler]\r\n",
    );
    for i in 0..150 {
        reg.push_str(&format!("\"v{i}\"=hex:{filler}\r\n"));
    }
    std::fs::write(d.join("filler.reg"), reg).unwrap();
    d.tool("hivexregedit", &["--merge", "SOFTWARE", "filler.reg"])
        .ok();
    std::fs::remove_file(d.join("filler.reg")).unwrap();
    let size = std::fs::metadata(d.join("SOFTWARE")).unwrap().len();
    assert!(size > 2_000_000, "hive is only {size} bytes");
    let get = |value: &str| {
        let r = d.tool("hivexget", &["SOFTWARE", "Peforge\\Filler", value]);
        (r.code == 0).then(|| r.stdout.trim().to_string())
    };
    let mut left_something = 0;
    for (i, point) in points(size).into_iter().enumerate() {
        let before = sha256(&d.join("SOFTWARE"));
        let value = format!("k{i}");
        let args = [
            "hive",
            "set",
            "--hive-file",
            "SOFTWARE",
            "--key",
            "Peforge\\Filler",
            "--value",
            &value,
            "--type",
            "sz",
            "--data",
            "done",
        ];
        let killed = run_and_kill(&d, &args, point);
        // The hive is the old one or the new one, and hivex reads it either way.
        let now = get(&value);
        if sha256(&d.join("SOFTWARE")) == before {
            assert_eq!(now, None, "{point:?}: unchanged hive has the value");
        } else {
            assert_eq!(
                now.as_deref(),
                Some("done"),
                "{point:?}: a changed hive is the new one"
            );
        }
        assert!(get("v149").is_some(), "{point:?}: the filler is gone");
        if !leftovers(d.path()).is_empty() {
            left_something += 1;
        }
        check_after_kill(
            &d,
            killed,
            &args,
            &format!("hive set --hive-file, {point:?}"),
        );
        assert_eq!(get(&value).as_deref(), Some("done"));
    }
    assert!(
        left_something >= 2,
        "only {left_something} kills left anything"
    );
}
