//! Transaction-log replay (`shared/specs/hive-logs.md`) against the real dirty hives in
//! `../shared/vectors/hives-dirty`: the replayed hive must hold what the hive Windows recovered
//! holds, as read by hivexregedit (Perl Win::Hivex, an independent reader), not by peforge.

mod common;
use std::path::{Path, PathBuf};

use common::Dir;
use peforge::registry::log::{self, LogFile, State};
use peforge::registry::marvin::{REGISTRY_SEED, marvin32};

fn vec_dir(name: &str) -> PathBuf {
    common::vectors().join("hives-dirty").join(name)
}

fn logs_of(dir: &Path, stem: &str) -> Vec<LogFile> {
    ["LOG1", "LOG2"]
        .iter()
        .enumerate()
        .map(|(i, e)| LogFile::read(&dir.join(format!("{stem}.{e}")), i).unwrap())
        .collect()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The whole hive as hivexregedit exports it (keys, values with types and data).
fn export(d: &Dir, hive: &Path) -> String {
    let r = d.tool("hivexregedit", &["--export", hive.to_str().unwrap(), "\\"]);
    assert_eq!(r.code, 0, "hivexregedit {}: {}", hive.display(), r.stderr);
    assert!(r.stdout.contains("[\\]"), "{}", r.stdout);
    r.stdout
}

fn write(d: &Dir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn key_lines(export: &str) -> Vec<&str> {
    export.lines().filter(|l| l.starts_with('[')).collect()
}

#[test]
fn new_format_both_logs_equals_windows10() {
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let primary = read(&dir.join("NewDirtyHive"));
    let r = log::replay(&primary, &logs_of(&dir, "NewDirtyHive")).unwrap();
    assert_eq!(r.report.state, State::Recovered);
    let order: Vec<&str> = r.report.applied.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(order, ["LOG1", "LOG2"]);
    assert_eq!(r.report.entries, 4);
    assert_eq!(r.report.seq_after, [5, 5]);
    let windows = read(&dir.join("RecoveredHive_Windows10"));
    // Windows flushed once more (6/6); everything else, hive bins included, is byte-identical.
    assert_eq!(r.bytes.len(), windows.len());
    assert_eq!(r.bytes[12..], windows[12..]);
    let got = write(&d, "replayed", &r.bytes);
    let want = export(&d, &dir.join("RecoveredHive_Windows10"));
    assert_eq!(export(&d, &got), want);
    assert_eq!(
        key_lines(&want),
        [
            "[\\]",
            "[\\Key3]",
            "[\\Key3\\Key3_1]",
            "[\\Key3\\Key3_2]",
            "[\\Key3\\Key3_3]"
        ]
    );
    // The stored (stale) data differs: Key1/Key2, so the comparison above can fail.
    assert!(export(&d, &dir.join("NewDirtyHive")).contains("[\\Key1]"));
}

#[test]
fn new_format_order_does_not_depend_on_names() {
    // LOG2 older than LOG1 (as in real Windows 11 hives): swap the files' labels.
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let primary = read(&dir.join("NewDirtyHive"));
    let mut logs = logs_of(&dir, "NewDirtyHive");
    logs.swap(0, 1);
    logs[0].label = "LOG1".into();
    logs[1].label = "LOG2".into();
    let r = log::replay(&primary, &logs).unwrap();
    let order: Vec<&str> = r.report.applied.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(order, ["LOG2", "LOG1"]);
    let got = write(&d, "replayed", &r.bytes);
    assert_eq!(
        export(&d, &got),
        export(&d, &dir.join("RecoveredHive_Windows10"))
    );
}

#[test]
fn new_format_stale_log_skipped() {
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive2");
    let r = log::replay(
        &read(&dir.join("NewDirtyHive")),
        &logs_of(&dir, "NewDirtyHive"),
    )
    .unwrap();
    let order: Vec<&str> = r.report.applied.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(order, ["LOG2"]);
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.label == "LOG1" && s.reason.contains("stale")),
        "{:?}",
        r.report.skipped
    );
    assert_eq!(r.report.seq_after, [5, 5]);
    let got = write(&d, "replayed", &r.bytes);
    // SOURCES.md: the result has the content of NewDirtyHive1's Windows-recovered hive.
    assert_eq!(
        export(&d, &got),
        export(
            &d,
            &vec_dir("NewDirtyHive1").join("RecoveredHive_Windows10")
        )
    );
}

#[test]
fn old_format_equals_windows7() {
    let d = Dir::new();
    let dir = vec_dir("OldDirtyHive");
    let r = log::replay(
        &read(&dir.join("OldDirtyHive")),
        &logs_of(&dir, "OldDirtyHive"),
    )
    .unwrap();
    assert_eq!(r.report.state, State::Recovered);
    assert_eq!(r.report.applied.len(), 1);
    assert_eq!(r.report.applied[0].label, "LOG1");
    assert_eq!(r.report.pages, 64);
    assert_eq!(r.report.seq_after, [5, 5]);
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.label == "LOG2" && s.reason.contains("empty"))
    );
    let got = write(&d, "replayed", &r.bytes);
    let want = export(&d, &dir.join("RecoveredHive_Windows7"));
    assert_eq!(export(&d, &got), want);
    assert!(want.contains("find_me_in_log"));
    assert!(!export(&d, &dir.join("OldDirtyHive")).contains("find_me_in_log"));
}

#[test]
fn old_format_bad_base_block_taken_from_log() {
    let d = Dir::new();
    let dir = vec_dir("BadBaseBlockHive");
    let r = log::replay(
        &read(&dir.join("BadBaseBlockHive")),
        &logs_of(&dir, "BadBaseBlockHive"),
    )
    .unwrap();
    assert_eq!(r.report.state, State::Recovered);
    assert!(r.report.base_block_from_log);
    assert_eq!(r.bytes[24], 3, "minor version from the log's copy");
    let got = write(&d, "replayed", &r.bytes);
    assert_eq!(
        export(&d, &got),
        export(&d, &vec_dir("OldDirtyHive").join("RecoveredHive_Windows7"))
    );
}

#[test]
fn bad_logs_leave_the_hive_stale() {
    for (name, reason) in [
        ("BadLogHive1", "checksum"),
        ("BadLogHive2", "DIRT"),
        ("BadLogHive3", "checksum"),
    ] {
        let dir = vec_dir(name);
        let primary = read(&dir.join("BadLogHive"));
        let r = log::replay(&primary, &logs_of(&dir, "BadLogHive")).unwrap();
        assert_eq!(r.report.state, State::Stale, "{name}");
        assert!(r.report.applied.is_empty(), "{name}");
        assert_eq!(r.bytes, primary, "{name}: stored bytes kept");
        assert!(
            r.report.skipped.iter().any(|s| s.reason.contains(reason)),
            "{name}: {:?}",
            r.report.skipped
        );
        assert!(r.report.summary().contains("may be stale"), "{name}");
    }
}

#[test]
fn clean_hive_ignores_logs() {
    let dir = vec_dir("NewDirtyHive1");
    let clean = read(&dir.join("RecoveredHive_Windows10"));
    let r = log::replay(&clean, &logs_of(&dir, "NewDirtyHive")).unwrap();
    assert_eq!(r.report.state, State::Clean);
    assert_eq!(r.bytes, clean);
}

#[test]
fn old_log_of_another_hive_rejected() {
    // OldDirtyHive.LOG1 beside NewDirtyHive1's primary: valid base block, other timestamp.
    let primary = read(&vec_dir("NewDirtyHive1").join("NewDirtyHive"));
    let other = LogFile::read(&vec_dir("OldDirtyHive").join("OldDirtyHive.LOG1"), 0).unwrap();
    let r = log::replay(&primary, &[other]).unwrap();
    assert_eq!(r.report.state, State::Stale);
    assert!(
        r.report.skipped[0].reason.contains("timestamp"),
        "{:?}",
        r.report.skipped
    );
    assert_eq!(r.bytes, primary);
}

/// Rewrites the two hashes of the HvLE entry at `off` (size from its header).
fn rehash(log: &mut [u8], off: usize) {
    let size = u32::from_le_bytes(log[off + 4..off + 8].try_into().unwrap()) as usize;
    let h1 = marvin32(REGISTRY_SEED, &log[off + 40..off + size]);
    log[off + 24..off + 32].copy_from_slice(&h1.to_le_bytes());
    let h2 = marvin32(REGISTRY_SEED, &log[off..off + 32]);
    log[off + 32..off + 40].copy_from_slice(&h2.to_le_bytes());
}

#[test]
fn marvin_reproduces_stored_hvle_hashes() {
    // spec §9: the first entry of NewDirtyHive1.LOG2 stores Hash-1 0x4746A81707701E5D and
    // Hash-2 0xE637DCAFF6877267; the published .NET vectors are checked in src/registry/marvin.rs.
    let log = read(&vec_dir("NewDirtyHive1").join("NewDirtyHive.LOG2"));
    assert_eq!(
        marvin32(REGISTRY_SEED, &log[512..544]),
        0xE637_DCAF_F687_7267
    );
    assert_eq!(
        marvin32(REGISTRY_SEED, &log[552..8192]),
        0x4746_A817_0770_1E5D
    );
}

/// Bad inputs: each ends in a clean result or a stop with a reason, never a panic or a loop.
#[test]
fn bad_inputs_stop_cleanly() {
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let primary = read(&dir.join("NewDirtyHive"));
    let logs = logs_of(&dir, "NewDirtyHive");
    let with_log2 = |b: Vec<u8>| {
        let mut l = logs.clone();
        l[1].bytes = b;
        log::replay(&primary, &l).unwrap()
    };
    // Truncated LOG2 (inside entry 4, at 8192..32768): entries 2 and 3 only.
    let r = with_log2(logs[1].bytes[..20000].to_vec());
    assert_eq!(r.report.entries, 2);
    assert_eq!(r.report.seq_after, [3, 3]);
    assert!(
        r.report.applied[1]
            .stop
            .as_deref()
            .unwrap()
            .contains("truncated")
    );
    // A flipped data byte in entry 4: its Hash-1 fails, the chain stops before it.
    let mut flipped = logs[1].bytes.clone();
    flipped[9000] ^= 0x55;
    let r = with_log2(flipped);
    assert_eq!(r.report.seq_after, [3, 3]);
    assert!(
        r.report.applied[1]
            .stop
            .as_deref()
            .unwrap()
            .contains("Hash-1")
    );
    // A flipped header byte: Hash-2 fails.
    let mut flipped = logs[1].bytes.clone();
    flipped[8192 + 20] ^= 1;
    let r = with_log2(flipped);
    assert!(
        r.report.applied[1]
            .stop
            .as_deref()
            .unwrap()
            .contains("Hash-2")
    );
    // Zero-length LOG2: LOG1 alone (entry 2), a normal state.
    let r = with_log2(Vec::new());
    assert_eq!(r.report.seq_after, [2, 2]);
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.label == "LOG2" && s.reason.contains("empty"))
    );
    // LOG2 with a bad base block: skipped, LOG1 alone.
    let mut bad = logs[1].bytes.clone();
    bad[100] ^= 1;
    let r = with_log2(bad);
    assert_eq!(r.report.seq_after, [2, 2]);
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.reason.contains("checksum"))
    );
    // Entry 3 claims hive bins of 1 GiB (hashes recomputed, so only the size is wrong): the
    // chain stops there instead of allocating; LOG1's entry stays applied.
    let mut grow = logs[1].bytes.clone();
    grow[512 + 16..512 + 20].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    rehash(&mut grow, 512);
    let r = with_log2(grow);
    assert_eq!(r.report.seq_after, [2, 2]);
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.reason.contains("grows past")),
        "{:?}",
        r.report.skipped
    );
    // A primary that is not a hive at all.
    assert!(log::replay(&[0u8; 8192], &logs).is_err());
    assert!(log::replay(b"regf", &logs).is_err());
    // LOG1 only, applied: the result is readable by hivexregedit.
    let r = with_log2(Vec::new());
    let p = write(&d, "one", &r.bytes);
    export(&d, &p);
}

#[test]
fn growth_past_the_file_end_is_replayed() {
    // No public vector grows (spec §11): make LOG2's entry 4 (all hive bins) announce one more
    // 4096-byte bin, appended as a new page, with the primary cut to its hive bins so the new
    // bin lies past the end of the file.
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let mut primary = read(&dir.join("NewDirtyHive"));
    primary.truncate(4096 + 20480);
    let logs = logs_of(&dir, "NewDirtyHive");
    let src = &logs[1].bytes;
    let (off, size) = (8192usize, 24576usize);
    assert_eq!(&src[off..off + 4], b"HvLE");
    assert_eq!(
        u32::from_le_bytes(src[off + 4..off + 8].try_into().unwrap()) as usize,
        size
    );
    // New entry: header + 2 refs + 20480 + 4096 bytes, padded to 512.
    let mut bin = vec![0u8; 4096];
    bin[..4].copy_from_slice(b"hbin");
    bin[4..8].copy_from_slice(&20480u32.to_le_bytes());
    bin[8..12].copy_from_slice(&4096u32.to_le_bytes());
    // One free cell spanning the rest of the bin (positive size = free).
    bin[32..36].copy_from_slice(&4064i32.to_le_bytes());
    let data_old = &src[off + 48..off + 48 + 20480];
    let mut e = Vec::new();
    e.extend_from_slice(&src[off..off + 40]);
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&20480u32.to_le_bytes());
    e.extend_from_slice(&20480u32.to_le_bytes());
    e.extend_from_slice(&4096u32.to_le_bytes());
    e.extend_from_slice(data_old);
    e.extend_from_slice(&bin);
    e.resize(e.len().div_ceil(512) * 512, 0);
    let esize = e.len() as u32;
    e[4..8].copy_from_slice(&esize.to_le_bytes());
    e[16..20].copy_from_slice(&24576u32.to_le_bytes());
    e[20..24].copy_from_slice(&2u32.to_le_bytes());
    rehash(&mut e, 0);
    // LOG2 = its base block + entry 3 + the grown entry 4 (entry 5 dropped).
    let mut l2 = src[..8192].to_vec();
    l2.extend_from_slice(&e);
    let mut l = logs.clone();
    l[1].bytes = l2;
    let r = log::replay(&primary, &l).unwrap();
    assert_eq!(r.report.seq_after, [4, 4]);
    assert_eq!(r.report.hbins_after, 24576);
    assert_eq!(r.bytes.len(), 4096 + 24576);
    assert!(
        r.report.bin_problems.is_empty(),
        "{:?}",
        r.report.bin_problems
    );
    let p = write(&d, "grown", &r.bytes);
    // hivex honours the header's hive bins size: it reads the grown hive (the header would hide
    // the bin, or hivex would refuse the file, if the size were not updated).
    let out = export(&d, &p);
    assert!(out.contains("[\\Key3]"), "{out}");
}

// ---- Through the CLI: every reader and editor replays; recover writes a clean copy. ----

/// Copies a vector folder's hive and logs into `d` under `name`, with the logs' names in the
/// given case (Windows matches them case-insensitively).
fn stage(d: &Dir, vector: &str, stem: &str, name: &str, log_names: [&str; 2]) -> PathBuf {
    let dir = vec_dir(vector);
    let hive = d.join(name);
    std::fs::write(&hive, read(&dir.join(stem))).unwrap();
    for (ext, to) in ["LOG1", "LOG2"].iter().zip(log_names) {
        std::fs::write(d.join(to), read(&dir.join(format!("{stem}.{ext}")))).unwrap();
    }
    hive
}

#[test]
fn hive_get_replays_logs_beside_in_any_case() {
    let d = Dir::new();
    let hive = stage(
        &d,
        "NewDirtyHive1",
        "NewDirtyHive",
        "SOFTWARE",
        ["software.log1", "SOFTWARE.Log2"],
    );
    let before = common::sha256(&hive);
    let h = hive.to_str().unwrap();
    let r = d
        .peforge(&["hive", "get", "--hive-file", h, "--key", ""])
        .ok();
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["[]", "  Key3\\"],
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("replayed LOG1 then LOG2 (4 entries, 4 pages"),
        "{}",
        r.stderr
    );
    let r = d
        .peforge(&["hive", "get", "--hive-file", h, "--key", "", "--json"])
        .ok();
    common::assert_json_schema("hive-get", &r.stdout);
    let j = r.json();
    assert_eq!(j["subkeys"], serde_json::json!(["Key3"]));
    assert_eq!(j["transaction_logs"]["state"], "recovered");
    assert_eq!(j["transaction_logs"]["entries"], 4);
    let r = d
        .peforge(&[
            "hive",
            "get",
            "--hive-file",
            h,
            "--key",
            "Key3",
            "--value",
            "@",
            "--json",
        ])
        .ok();
    common::assert_json_schema("hive-get", &r.stdout);
    assert_eq!(r.json()["data"].as_str().unwrap().len(), 1440);
    // A read changes nothing.
    assert_eq!(common::sha256(&hive), before);
    assert_eq!(
        common::dir_listing(d.path()),
        ["SOFTWARE", "SOFTWARE.Log2", "software.log1"]
    );
}

#[test]
fn explicit_logs_and_dirty_without_logs() {
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let lone = d.join("SOFTWARE");
    std::fs::write(&lone, read(&dir.join("NewDirtyHive"))).unwrap();
    let h = lone.to_str().unwrap();
    // No logs: the stale data, with a warning naming the missing files.
    let r = d
        .peforge(&["hive", "get", "--hive-file", h, "--key", ""])
        .ok();
    assert!(r.stdout.contains("Key1"), "{}", r.stdout);
    assert!(r.stderr.contains("warning:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("SOFTWARE.LOG1, SOFTWARE.LOG2"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("may be stale"), "{}", r.stderr);
    let j = d
        .peforge(&["hive", "get", "--hive-file", h, "--key", "", "--json"])
        .ok()
        .json();
    assert_eq!(j["transaction_logs"]["state"], "stale");
    assert_eq!(
        j["transaction_logs"]["missing"],
        serde_json::json!(["SOFTWARE.LOG1", "SOFTWARE.LOG2"])
    );
    // Editing is refused, as before, with one error line and the fix.
    let r = d
        .peforge(&[
            "hive",
            "set",
            "--hive-file",
            h,
            "--key",
            "A",
            "--value",
            "v",
            "--type",
            "sz",
            "--data",
            "x",
        ])
        .fails(2);
    assert!(r.stderr.contains("dirty"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("hint: copy the hive together with its SOFTWARE.LOG1"),
        "{}",
        r.stderr
    );
    // --log from elsewhere (repeatable): replayed.
    let l1 = dir.join("NewDirtyHive.LOG1");
    let l2 = dir.join("NewDirtyHive.LOG2");
    let r = d
        .peforge(&[
            "hive",
            "get",
            "--hive-file",
            h,
            "--key",
            "",
            "--log",
            l1.to_str().unwrap(),
            "--log",
            l2.to_str().unwrap(),
        ])
        .ok();
    assert!(
        r.stdout.contains("Key3") && !r.stdout.contains("Key1"),
        "{}",
        r.stdout
    );
    // Bad logs only (BadLogHive3): stale read, refused edit.
    let bad = vec_dir("BadLogHive3").join("BadLogHive");
    let r = d
        .peforge(&[
            "hive",
            "get",
            "--hive-file",
            bad.to_str().unwrap(),
            "--key",
            "",
        ])
        .ok();
    assert!(r.stderr.contains("checksum wrong"), "{}", r.stderr);
}

#[test]
fn recover_writes_a_clean_hive_and_never_touches_inputs() {
    let d = Dir::new();
    for (vector, stem, reference) in [
        (
            "NewDirtyHive1",
            "NewDirtyHive",
            "NewDirtyHive1/RecoveredHive_Windows10",
        ),
        (
            "NewDirtyHive2",
            "NewDirtyHive",
            "NewDirtyHive1/RecoveredHive_Windows10",
        ),
        (
            "OldDirtyHive",
            "OldDirtyHive",
            "OldDirtyHive/RecoveredHive_Windows7",
        ),
        (
            "BadBaseBlockHive",
            "BadBaseBlockHive",
            "OldDirtyHive/RecoveredHive_Windows7",
        ),
    ] {
        let hive = vec_dir(vector).join(stem);
        let before = common::sha256(&hive);
        let out = d.join(&format!("{vector}.clean"));
        let r = d
            .peforge(&[
                "hive",
                "recover",
                hive.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--json",
            ])
            .ok();
        common::assert_json_schema("hive-recover", &r.stdout);
        let j = r.json();
        assert_eq!(j["transaction_logs"]["state"], "recovered", "{vector}");
        assert!(!j["stale_logs"].as_array().unwrap().is_empty(), "{vector}");
        let b = read(&out);
        let u = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(u(4), u(8), "{vector}: sequence numbers equal");
        assert_eq!(u(28), 0, "{vector}: primary file type");
        let x = b[..508]
            .chunks(4)
            .fold(0u32, |x, w| x ^ u32::from_le_bytes(w.try_into().unwrap()));
        assert_eq!(u(508), x, "{vector}: checksum");
        assert_eq!(
            export(&d, &out),
            export(&d, &common::vectors().join("hives-dirty").join(reference)),
            "{vector}"
        );
        assert_eq!(common::sha256(&hive), before, "{vector}: input unchanged");
    }
    // Text output; refusing to overwrite the input; refusing a hive no log can recover.
    let hive = stage(
        &d,
        "OldDirtyHive",
        "OldDirtyHive",
        "H",
        ["H.LOG1", "H.LOG2"],
    );
    let r = d.peforge(&["hive", "recover", "H", "-o", "H.out"]).ok();
    assert!(
        r.stdout.contains("replayed LOG1 (1 entry, 64 pages"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("stale"), "{}", r.stderr);
    let sum = common::sha256(&hive);
    for target in ["H", "./H.LOG1"] {
        let r = d.peforge(&["hive", "recover", "H", "-o", target]).fails(2);
        assert!(r.stderr.contains("refusing to write over"), "{}", r.stderr);
    }
    assert_eq!(common::sha256(&hive), sum);
    let bad = vec_dir("BadLogHive2").join("BadLogHive");
    let r = d
        .peforge(&["hive", "recover", bad.to_str().unwrap(), "-o", "bad.out"])
        .fails(2);
    assert!(r.stderr.contains("DIRT"), "{}", r.stderr);
    assert!(!d.join("bad.out").exists());
}

#[test]
fn edit_of_a_dirty_hive_with_logs_round_trips_in_hivexsh() {
    let d = Dir::new();
    let hive = stage(
        &d,
        "NewDirtyHive1",
        "NewDirtyHive",
        "SOFTWARE",
        ["SOFTWARE.LOG1", "SOFTWARE.LOG2"],
    );
    let logs_before = [
        common::sha256(&d.join("SOFTWARE.LOG1")),
        common::sha256(&d.join("SOFTWARE.LOG2")),
    ];
    let r = d
        .peforge(&[
            "hive",
            "set",
            "--hive-file",
            "SOFTWARE",
            "--key",
            "Key3\\Added",
            "--value",
            "v",
            "--type",
            "sz",
            "--data",
            "edited",
            "--output",
            "OUT",
            "--json",
        ])
        .ok();
    common::assert_json_schema("hive-set", &r.stdout);
    let stale = r.json()["stale_logs"].clone();
    assert_eq!(stale.as_array().unwrap().len(), 2, "{stale}");
    assert!(
        stale[0].as_str().unwrap().ends_with("SOFTWARE.LOG1"),
        "{stale}"
    );
    assert!(r.stderr.contains("now stale"), "{}", r.stderr);
    let out = d.join("OUT");
    // hivexsh: the logs' keys (Key3 and its subkeys) and the edit; the stale Key1 is gone.
    assert_eq!(common::hivexsh_ls(&d, &out, ""), ["Key3"]);
    assert_eq!(
        common::hivexsh_ls(&d, &out, "Key3"),
        ["Added", "Key3_1", "Key3_2", "Key3_3"]
    );
    let script = "cd \\Key3\\Added\nlsval\n";
    let sh = std::process::Command::new("hivexsh")
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .expect("hivexsh is required (run scripts/setup.sh)");
    assert!(
        String::from_utf8_lossy(&sh.stdout).contains("\"v\"=\"edited\""),
        "{}",
        String::from_utf8_lossy(&sh.stdout)
    );
    // The rest equals Windows' recovery: the export minus the added key.
    let got = export(&d, &out);
    let want = export(
        &d,
        &vec_dir("NewDirtyHive1").join("RecoveredHive_Windows10"),
    );
    let strip = |s: &str| {
        s.split("\n\n")
            .filter(|b| !b.contains("[\\Key3\\Added]"))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    assert_eq!(strip(&got), strip(&want));
    // Written clean; the user's hive and logs are untouched.
    let b = read(&out);
    assert_eq!(b[4..8], b[8..12]);
    assert_eq!(
        read(&hive),
        read(&vec_dir("NewDirtyHive1").join("NewDirtyHive"))
    );
    assert_eq!(
        logs_before,
        [
            common::sha256(&d.join("SOFTWARE.LOG1")),
            common::sha256(&d.join("SOFTWARE.LOG2"))
        ]
    );
}

// ---- Hive kind check and the cert/esp readers. ----

fn dword(name: &str, v: u32) -> peforge::registry::RawValue {
    peforge::registry::RawValue {
        name: name.into(),
        ty: 4,
        data: v.to_le_bytes().to_vec(),
    }
}

const PROVIDER: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\DevicePreparation\\PolicyProviders\\ConfigMgr";

#[test]
fn cert_and_esp_name_the_right_hive() {
    let d = Dir::new();
    let system = d.join("SYSTEM");
    peforge::sample::build_hive(
        &system,
        &[
            ("Select", vec![dword("Current", 1)]),
            ("ControlSet001\\Control", vec![]),
        ],
    )
    .unwrap();
    let bcd = d.join("BCD");
    peforge::sample::build_hive(
        &bcd,
        &[
            ("Description", vec![dword("KeyName", 1)]),
            ("Objects", vec![]),
        ],
    )
    .unwrap();
    let user = d.join("NTUSER.DAT");
    peforge::sample::build_hive(
        &user,
        &[
            ("Control Panel\\Desktop", vec![]),
            ("Software\\Microsoft", vec![]),
        ],
    )
    .unwrap();
    for (hive, what) in [
        (&system, "SYSTEM hive"),
        (&bcd, "BCD"),
        (&user, "user hive"),
    ] {
        let h = hive.to_str().unwrap();
        for args in [
            vec!["cert", "list", "--hive-file", h],
            vec!["esp", "diagnose", "--hive", h],
        ] {
            let r = d.peforge(&args).fails(2);
            assert!(
                r.stderr.contains("not a SOFTWARE hive") && r.stderr.contains(what),
                "{:?}: {}",
                args,
                r.stderr
            );
            assert!(
                r.stderr
                    .contains("hint: give the SOFTWARE hive: Windows\\System32\\config\\SOFTWARE"),
                "{}",
                r.stderr
            );
        }
        let sum = common::sha256(hive);
        let pem = d.join("x.pem");
        std::fs::write(&pem, b"not used").unwrap();
        let r = d
            .peforge(&[
                "cert",
                "remove",
                "--hive-file",
                h,
                "--thumbprint",
                &"ab".repeat(20),
            ])
            .fails(2);
        assert!(r.stderr.contains("not a SOFTWARE hive"), "{}", r.stderr);
        assert_eq!(common::sha256(hive), sum);
    }
    // A dirty-hive vector is no SOFTWARE hive either (its root holds a GUID key only).
    let v = vec_dir("NewDirtyHive1").join("NewDirtyHive");
    let r = d
        .peforge(&["cert", "list", "--hive-file", v.to_str().unwrap()])
        .fails(2);
    assert!(
        r.stderr.contains("no Microsoft\\Windows\\CurrentVersion"),
        "{}",
        r.stderr
    );
}

/// Builds a new-format (HvLE) log that takes the clean hive `old` to the clean hive `new` (one
/// entry holding all of `new`'s hive bins, hashed with Marvin32), and the dirty primary Windows
/// would leave: `old` with its primary sequence number advanced.
fn synthetic_new_log(old: &[u8], new: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let u = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let checksum = |b: &mut [u8]| {
        let x = b[..508]
            .chunks(4)
            .fold(0u32, |x, w| x ^ u32::from_le_bytes(w.try_into().unwrap()));
        let x = match x {
            0 => 1,
            0xFFFF_FFFF => 0xFFFF_FFFE,
            v => v,
        };
        b[508..512].copy_from_slice(&x.to_le_bytes());
    };
    let seq = u(old, 8).wrapping_add(1);
    let hbins = u(new, 40) as usize;
    let mut primary = old.to_vec();
    primary[4..8].copy_from_slice(&seq.to_le_bytes());
    checksum(&mut primary);
    let mut log = new[..512].to_vec();
    log[4..8].copy_from_slice(&seq.to_le_bytes());
    log[8..12].copy_from_slice(&seq.to_le_bytes());
    log[28..32].copy_from_slice(&6u32.to_le_bytes());
    checksum(&mut log);
    let mut e = Vec::new();
    e.extend_from_slice(b"HvLE");
    e.extend_from_slice(&0u32.to_le_bytes()); // size, below
    e.extend_from_slice(&0u32.to_le_bytes()); // flags
    e.extend_from_slice(&seq.to_le_bytes());
    e.extend_from_slice(&(hbins as u32).to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&[0u8; 16]); // hashes, below
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&(hbins as u32).to_le_bytes());
    e.extend_from_slice(&new[4096..4096 + hbins]);
    e.resize(e.len().div_ceil(512) * 512, 0);
    let size = e.len() as u32;
    e[4..8].copy_from_slice(&size.to_le_bytes());
    rehash(&mut e, 0);
    log.extend_from_slice(&e);
    (primary, log)
}

#[test]
fn esp_diagnose_reads_what_windows_sees() {
    let d = Dir::new();
    let base = vec![("Microsoft\\Windows NT\\CurrentVersion", vec![])];
    let old = d.join("old");
    let mut c = base.clone();
    c.push((PROVIDER, vec![dword("InstallationState", 1)]));
    peforge::sample::build_hive(&old, &c).unwrap();
    let new = d.join("new");
    let mut c = base.clone();
    c.push((PROVIDER, vec![dword("InstallationState", 4)]));
    peforge::sample::build_hive(&new, &c).unwrap();
    let (primary, log) = synthetic_new_log(&read(&old), &read(&new));
    std::fs::create_dir(d.join("dev")).unwrap();
    let hive = write(&d, "dev/SOFTWARE", &primary);
    // Without its log: the stale state 1, flagged, naming the missing files.
    let r = d
        .peforge(&[
            "esp",
            "diagnose",
            "--hive",
            hive.to_str().unwrap(),
            "--json",
        ])
        .ok();
    common::assert_json_schema("esp-diagnose", &r.stdout);
    let j = r.json();
    assert_eq!(j["checks"][0]["state"], 1);
    assert_eq!(j["input"]["transaction_logs"]["state"], "stale");
    assert!(
        j["notes"][0]
            .as_str()
            .unwrap()
            .contains("SOFTWARE.LOG1, SOFTWARE.LOG2 not found"),
        "{j}"
    );
    assert!(r.stderr.contains("warning:"), "{}", r.stderr);
    // With it beside (lower case): state 4, what Windows would see after loading the hive.
    write(&d, "dev/software.log2", &log);
    let r = d.peforge(&[
        "esp",
        "diagnose",
        "--hive",
        hive.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    common::assert_json_schema("esp-diagnose", &r.stdout);
    let j = r.json();
    assert_eq!(j["checks"][0]["state"], 4);
    assert_eq!(j["input"]["dirty"], true);
    assert_eq!(j["input"]["transaction_logs"]["state"], "recovered");
    assert!(
        j["notes"][0]
            .as_str()
            .unwrap()
            .contains("what Windows sees"),
        "{j}"
    );
    // hivexregedit on `hive recover`'s output agrees with the hive the log was made from.
    let out = d.join("clean");
    d.peforge(&[
        "hive",
        "recover",
        hive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(export(&d, &out), export(&d, &new));
    // cert list reads the replayed hive too (no stores: an empty list, not an error).
    let r = d
        .peforge(&["cert", "list", "--hive-file", hive.to_str().unwrap()])
        .ok();
    assert!(
        r.stderr.contains("note:") && r.stderr.contains("replayed LOG2"),
        "{}",
        r.stderr
    );
}

#[test]
fn hive_in_a_wim_is_replayed_and_its_logs_emptied_on_edit() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    // Put NewDirtyHive1 and its logs (mixed case) in place of the image's SYSTEM hive, with
    // wimupdate (wimlib's own tool, not peforge).
    let dir = vec_dir("NewDirtyHive1");
    for (from, to) in [
        ("NewDirtyHive", "SYSTEM"),
        ("NewDirtyHive.LOG1", "SYSTEM.LOG1"),
        ("NewDirtyHive.LOG2", "system.log2"),
    ] {
        std::fs::write(d.join(to), read(&dir.join(from))).unwrap();
        d.tool(
            "wimupdate",
            &[
                w,
                "1",
                &format!("--command=add {to} /Windows/System32/config/{to}"),
            ],
        )
        .ok();
    }
    let r = d
        .peforge(&["hive", "get", "--wim", w, "--hive", "SYSTEM", "--key", ""])
        .ok();
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["[]", "  Key3\\"],
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("replayed LOG1 then LOG2"), "{}", r.stderr);
    // Edit into a new WIM: the hive is written clean and the image's logs are emptied.
    let r = d
        .peforge(&[
            "hive", "set", "--wim", w, "--hive", "SYSTEM", "--key", "Key3\\W", "--value", "v",
            "--type", "dword", "--data", "7", "--output", "new.wim",
        ])
        .ok();
    assert!(r.stderr.contains("emptied"), "{}", r.stderr);
    let new = d.join("new.wim");
    let hive = d.wimextract(&new, 1, "Windows/System32/config/SYSTEM");
    let b = read(&hive);
    assert_eq!(b[4..8], b[8..12], "written clean");
    assert_eq!(
        common::hivexsh_ls(&d, &hive, "Key3"),
        ["Key3_1", "Key3_2", "Key3_3", "W"]
    );
    assert_eq!(common::hivexsh_ls(&d, &hive, ""), ["Key3"]);
    for log in ["SYSTEM.LOG1", "system.log2"] {
        let l = d.wimextract(&new, 1, &format!("Windows/System32/config/{log}"));
        assert_eq!(std::fs::metadata(&l).unwrap().len(), 0, "{log} emptied");
    }
    // The input WIM is unchanged: its hive still replays to the same content.
    let r = d
        .peforge(&[
            "hive", "get", "--wim", w, "--hive", "SYSTEM", "--key", "Key3",
        ])
        .ok();
    assert!(!r.stdout.contains("  W"), "{}", r.stdout);
}

#[test]
fn new_format_bad_primary_base_block_uses_the_latest_log() {
    // No public vector (spec §6.4): break NewDirtyHive1's primary checksum. Only the log with
    // the latest entries (LOG2, base seq 3) is used, with its base block; entries 3-5 rebuild
    // every bin, so the content is Windows 10's.
    let d = Dir::new();
    let dir = vec_dir("NewDirtyHive1");
    let mut primary = read(&dir.join("NewDirtyHive"));
    primary[508] ^= 0xFF;
    let r = log::replay(&primary, &logs_of(&dir, "NewDirtyHive")).unwrap();
    assert_eq!(r.report.state, State::Recovered);
    assert!(r.report.base_block_from_log);
    let order: Vec<&str> = r.report.applied.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(order, ["LOG2"]);
    assert_eq!(r.report.seq_after, [5, 5]);
    let windows = read(&dir.join("RecoveredHive_Windows10"));
    assert_eq!(r.bytes[4096..24576], windows[4096..24576]);
    let got = write(&d, "replayed", &r.bytes);
    assert_eq!(
        export(&d, &got),
        export(&d, &dir.join("RecoveredHive_Windows10"))
    );
}

#[test]
fn single_log_scheme_is_a_fallback() {
    // OldDirtyHive's log named .LOG (single-log scheme): used when no .LOG1/.LOG2 is usable,
    // and ignored beside a usable .LOG1.
    let dir = vec_dir("OldDirtyHive");
    let primary = read(&dir.join("OldDirtyHive"));
    let mut single = LogFile::read(&dir.join("OldDirtyHive.LOG1"), 0).unwrap();
    single.label = "LOG".into();
    let empty = LogFile::read(&dir.join("OldDirtyHive.LOG2"), 1).unwrap();
    let r = log::replay(&primary, &[empty, single.clone()]).unwrap();
    assert_eq!(r.report.applied[0].label, "LOG");
    let log1 = LogFile::read(&dir.join("OldDirtyHive.LOG1"), 0).unwrap();
    let r = log::replay(&primary, &[log1, single]).unwrap();
    assert_eq!(r.report.applied[0].label, "LOG1");
    assert!(
        r.report
            .skipped
            .iter()
            .any(|s| s.label == "LOG" && s.reason.contains("not needed"))
    );
}

#[test]
fn sequence_numbers_wrap_around() {
    // Synthetic (spec §11): the hive is at 0xFFFFFFFF, its log's entry is 0 (serial order).
    let d = Dir::new();
    let old = d.join("old");
    peforge::sample::build_hive(&old, &[("A", vec![dword("V", 1)])]).unwrap();
    let new = d.join("new");
    peforge::sample::build_hive(&new, &[("A", vec![dword("V", 2)]), ("B", vec![])]).unwrap();
    let mut o = read(&old);
    o[4..12].copy_from_slice(&[0xFF; 8]);
    let x = o[..508]
        .chunks(4)
        .fold(0u32, |x, w| x ^ u32::from_le_bytes(w.try_into().unwrap()));
    o[508..512].copy_from_slice(&x.to_le_bytes());
    let (primary, log) = synthetic_new_log(&o, &read(&new));
    assert_eq!(primary[4..12], [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    let l = LogFile {
        label: "LOG1".into(),
        path: "x.LOG1".into(),
        bytes: log,
    };
    let r = log::replay(&primary, &[l]).unwrap();
    assert_eq!(r.report.state, State::Recovered, "{:?}", r.report.skipped);
    assert_eq!(r.report.seq_after, [0, 0]);
    let got = write(&d, "got", &r.bytes);
    assert_eq!(export(&d, &got), export(&d, &new));
}

#[test]
fn cert_list_json_says_what_was_replayed() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let pem = common::openssl_root_ca(&d, "root", "Hive Log Test Root");
    d.peforge(&[
        "-q",
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        pem.to_str().unwrap(),
    ])
    .ok();
    for cmd in ["list", "verify"] {
        let r = d.peforge(&["cert", cmd, "--wim", w, "--json"]).ok();
        common::assert_json_schema(&format!("cert-{cmd}"), &r.stdout);
        let j = r.json();
        assert_eq!(j["images"][0]["transaction_logs"]["state"], "clean");
        assert_eq!(j["images"][0]["certificates"].as_array().unwrap().len(), 1);
    }
    // A dirty SOFTWARE hive file with its log: replayed, and said so in the field.
    let old = d.join("old");
    peforge::sample::build_hive(&old, &[("Microsoft\\Windows NT\\CurrentVersion", vec![])])
        .unwrap();
    let new = d.join("new");
    peforge::sample::build_hive(
        &new,
        &[("Microsoft\\Windows NT\\CurrentVersion", vec![dword("X", 1)])],
    )
    .unwrap();
    let (primary, log) = synthetic_new_log(&read(&old), &read(&new));
    let hive = write(&d, "SOFTWARE", &primary);
    write(&d, "SOFTWARE.LOG1", &log);
    let r = d
        .peforge(&[
            "cert",
            "list",
            "--hive-file",
            hive.to_str().unwrap(),
            "--json",
        ])
        .ok();
    common::assert_json_schema("cert-list", &r.stdout);
    let j = r.json();
    assert_eq!(j["images"][0]["image"], serde_json::Value::Null);
    assert_eq!(j["images"][0]["transaction_logs"]["state"], "recovered");
    assert_eq!(
        j["images"][0]["transaction_logs"]["applied"][0]["label"],
        "LOG1"
    );
}
