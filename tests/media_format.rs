//! `media build --format` inferred from `-o` (`.iso` → iso, `.img`/`.bin` → usb, an existing
//! folder or a path ending in `/` → dir), and an explicit format the name contradicts refused
//! with both named. What was written is identified by xorriso and sfdisk, not peforge.

mod common;

use common::Dir;

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";

fn fixture() -> Dir {
    let d = Dir::new();
    d.sample_wim("boot.wim", true);
    d.media_pki("Format Root", "pfx-Pass-1");
    d.secret_file("media.pass", "Format-Media-Passw0rd!");
    d
}

/// `media build` arguments with `format` (None = no --format) and `out`.
fn args<'a>(format: Option<&'a str>, out: &'a str) -> Vec<&'a str> {
    let all = common::media_build_args(MP, "iso", out);
    let i = all.iter().position(|a| *a == "--format").unwrap();
    let mut v: Vec<&str> = all[..i].iter().chain(&all[i + 2..]).copied().collect();
    if let Some(f) = format {
        v.extend(["--format", f]);
    }
    v
}

#[test]
fn format_follows_the_output_name() {
    let d = fixture();
    d.peforge(&args(None, "cmg.iso")).ok();
    let report = d
        .tool(
            "xorriso",
            &["-indev", "cmg.iso", "-report_el_torito", "plain"],
        )
        .ok();
    assert!(
        report.stdout.contains("El Torito") || report.stderr.contains("El Torito"),
        "{}{}",
        report.stdout,
        report.stderr
    );
    d.peforge(&args(None, "cmg.img")).ok();
    let table = d.tool("sfdisk", &["-J", "cmg.img"]).ok().json();
    assert_eq!(table["partitiontable"]["label"], "dos");
    d.peforge(&args(None, "folder/")).ok();
    assert!(d.join("folder/SMS/data/Variables.dat").is_file());
    // An existing (empty) folder without a trailing slash is a folder output too.
    std::fs::create_dir(d.join("empty")).unwrap();
    d.peforge(&args(None, "empty")).ok();
    assert!(d.join("empty/sources/boot.wim").is_file());
    // An explicit format that agrees is accepted.
    d.peforge(&args(Some("usb"), "stick.bin")).ok();
    assert!(d.join("stick.bin").is_file());
}

#[test]
fn a_contradicting_or_missing_format_is_an_error_naming_both() {
    let d = fixture();
    for (format, out, named) in [
        (Some("usb"), "cmg.iso", "--format usb"),
        (Some("dir"), "cmg.img", "--format dir"),
        (Some("iso"), "folder/", "--format iso"),
    ] {
        let r = d.peforge(&args(format, out)).fails(2);
        assert!(
            r.stderr.contains(named) && r.stderr.contains(out) && r.stderr.contains("contradicts"),
            "{}",
            r.stderr
        );
        assert!(!d.join(out).exists(), "{out} was written");
    }
    let r = d.peforge(&args(None, "medium")).fails(2);
    assert!(
        r.stderr.contains("medium") && r.stderr.contains("--format"),
        "{}",
        r.stderr
    );
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".peforge-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
