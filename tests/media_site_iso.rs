//! `peforge media build|inspect|retarget` with `--format iso|usb`, read with tools peforge did
//! not write: xorriso (El Torito), bsdtar (ISO content), sfdisk and mtools (USB image), python3
//! `cryptography` (Variables.dat), and QEMU booting the stand-in boot files of the CMG media.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{BIOS_MARKER, Dir, UEFI_MARKER, ovmf, sha256};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
const PASSWORD: &str = "Iso-Media-Passw0rd!";

/// A ConfigMgr sample boot image (with bootable stand-ins when `bootable`), an openssl-made
/// media PFX and root, password files.
fn fixture(bootable: bool) -> Dir {
    let d = Dir::new();
    if bootable {
        let standins = d.bootable_standins();
        let opts = peforge::sample::SampleOptions {
            configmgr: true,
            filler_bytes: 1 << 20,
            overlay: Some(standins),
            ..Default::default()
        };
        peforge::sample::build_boot_wim(&d.join("boot.wim"), &opts).unwrap();
    } else {
        d.sample_wim("boot.wim", true);
    }
    std::fs::write(d.join("vars.py"), common::VARS_PY).unwrap();
    std::fs::write(d.join("media.pass"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(d.join("pfx.pass"), "pfx-Pass-1\n").unwrap();
    d.tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=ISO CMG Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    )
    .ok();
    d.tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "root.key",
            "-in",
            "root.pem",
            "-out",
            "media.pfx",
            "-passout",
            "pass:pfx-Pass-1",
        ],
    )
    .ok();
    d
}

fn build(d: &Dir, format: &str, out: &str, extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let manifest = format!("{out}.json");
    let mut args = vec![
        "media",
        "build",
        "--boot-wim",
        "boot.wim",
        "--mp",
        MP,
        "--site-code",
        "PS1",
        "--root-cert",
        "root.pem",
        "--media-cert",
        "media.pfx",
        "--media-cert-password-file",
        "pfx.pass",
        "--password-file",
        "media.pass",
        "--format",
        format,
        "-o",
        out,
        "--manifest",
        &manifest,
    ];
    args.extend_from_slice(extra);
    d.peforge_env(&args, env)
}

fn manifest(d: &Dir, out: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(d.join(&format!("{out}.json"))).unwrap()).unwrap()
}

fn py_vars(d: &Dir, file: &Path, password: &str) -> serde_json::Value {
    let r = d
        .tool(
            "python3",
            &["vars.py", "read", file.to_str().unwrap(), password],
        )
        .ok();
    serde_json::from_str(&r.stdout).unwrap()
}

fn var<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    v["vars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

/// Every manifest file has the listed SHA-256 under `root` (extracted by another tool).
fn assert_manifest_matches(m: &serde_json::Value, root: &Path) {
    for f in m["files"].as_array().unwrap() {
        let p = root.join(f["path"].as_str().unwrap());
        assert_eq!(f["sha256"].as_str().unwrap(), sha256(&p), "{}", p.display());
    }
}

#[test]
fn iso_has_both_el_torito_entries_and_every_file() {
    let d = fixture(false);
    let wim_sha = sha256(&d.join("boot.wim"));
    build(&d, "iso", "cmg.iso", &["--no-prompt"], &[]).ok();
    let r = d
        .tool(
            "xorriso",
            &["-indev", "cmg.iso", "-report_el_torito", "plain"],
        )
        .ok();
    let cat = format!("{}{}", r.stdout, r.stderr);
    let img_lines: Vec<&str> = cat
        .lines()
        .filter(|l| l.starts_with("El Torito boot img :"))
        .collect();
    assert_eq!(img_lines.len(), 2, "{cat}");
    assert!(
        img_lines[0].contains("BIOS") && img_lines[0].contains("none"),
        "{cat}"
    );
    assert!(img_lines[1].contains("UEFI"), "{cat}");
    assert!(cat.contains("/boot/etfsboot.com"), "{cat}");
    assert!(
        cat.contains("/efi/microsoft/boot/efisys_noprompt.bin"),
        "{cat}"
    );
    // bsdtar extracts every file with the manifest's content.
    std::fs::create_dir(d.join("x")).unwrap();
    d.tool("bsdtar", &["-xf", "cmg.iso", "-C", "x"]).ok();
    let m = manifest(&d, "cmg.iso");
    assert_manifest_matches(&m, &d.join("x"));
    assert_eq!(
        m["output_sha256"].as_str().unwrap(),
        sha256(&d.join("cmg.iso"))
    );
    let v = py_vars(&d, &d.join("x/SMS/data/Variables.dat"), PASSWORD);
    assert_eq!(var(&v, "SMSTSMP"), Some(MP));
    // Volume name: the first 11 characters of the label.
    let r = d.tool("isoinfo", &["-d", "-i", "cmg.iso"]).ok();
    assert!(
        r.stdout
            .to_ascii_uppercase()
            .contains("VOLUME ID: CONFIGURATI"),
        "{}",
        r.stdout
    );
    // inspect reads the ISO itself: El Torito entries, variables, the root in the boot image.
    let j = d
        .peforge(&[
            "media",
            "inspect",
            "cmg.iso",
            "--password-file",
            "media.pass",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["container"], "iso");
    assert_eq!(
        j["boot_entries"]["uefi"],
        "efi/microsoft/boot/efisys_noprompt.bin"
    );
    assert_eq!(j["findings"].as_array().unwrap().len(), 0, "{j}");
    assert_eq!(sha256(&d.join("boot.wim")), wim_sha);
}

#[test]
fn usb_image_partition_and_fat_content() {
    let d = fixture(false);
    build(&d, "usb", "cmg.img", &[], &[]).ok();
    let r = d.tool("sfdisk", &["-d", "cmg.img"]).ok();
    let part = r
        .stdout
        .lines()
        .find(|l| l.starts_with("cmg.img1"))
        .unwrap_or_default()
        .to_string();
    assert!(
        part.contains("type=c") && part.contains("bootable"),
        "{}",
        r.stdout
    );
    let start: u64 = part
        .split([',', ':'])
        .find_map(|f| {
            f.trim()
                .strip_prefix("start=")
                .map(|s| s.trim().parse().unwrap())
        })
        .unwrap();
    let img = format!("cmg.img@@{}", start * 512);
    let r = d
        .tool("mtype", &["-i", &img, "::/SMS/data/TsmBootstrap.ini"])
        .ok();
    assert!(r.stdout.contains("PasswordRequired=true"), "{}", r.stdout);
    // Copy everything out with mtools and compare with the manifest.
    std::fs::create_dir(d.join("x")).unwrap();
    d.tool("mcopy", &["-s", "-n", "-i", &img, "::/*", "x/"])
        .ok();
    let m = manifest(&d, "cmg.img");
    assert_manifest_matches(&m, &d.join("x"));
    let v = py_vars(&d, &d.join("x/SMS/data/Variables.dat"), PASSWORD);
    assert_eq!(var(&v, "_SMSTSSiteCode"), Some("PS1"));
    // inspect reads the USB image.
    let j = d
        .peforge(&[
            "media",
            "inspect",
            "cmg.img",
            "--password-file",
            "media.pass",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["container"], "usb");
    assert!(
        j["variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "SMSTSMP")
    );
}

#[test]
fn iso_and_usb_are_reproducible() {
    let d = fixture(false);
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    for (format, a, b) in [("iso", "a.iso", "b.iso"), ("usb", "a.img", "b.img")] {
        build(&d, format, a, &[], &env).ok();
        build(&d, format, b, &[], &env).ok();
        assert_eq!(sha256(&d.join(a)), sha256(&d.join(b)), "{format}");
        assert_eq!(
            sha256(&d.join(&format!("{a}.json"))),
            sha256(&d.join(&format!("{b}.json")))
        );
    }
}

#[test]
fn retarget_an_iso_template_into_a_usb_image() {
    let d = fixture(false);
    build(
        &d,
        "iso",
        "console.iso",
        &["--variable", "Keep_Me=yes"],
        &[],
    )
    .ok();
    let new_mp = "https://cmg2.contoso.com/CCM_Proxy_MutualAuth/1234567890";
    d.peforge(&[
        "media",
        "retarget",
        "console.iso",
        "--password-file",
        "media.pass",
        "--mp",
        new_mp,
        "--format",
        "usb",
        "-o",
        "re.img",
        "--manifest",
        "re.img.json",
    ])
    .ok();
    let r = d.tool("sfdisk", &["-d", "re.img"]).ok();
    let start: u64 = r
        .stdout
        .lines()
        .find(|l| l.starts_with("re.img1"))
        .and_then(|l| {
            l.split([',', ':']).find_map(|f| {
                f.trim()
                    .strip_prefix("start=")
                    .map(|s| s.trim().parse().unwrap())
            })
        })
        .unwrap();
    d.tool(
        "mcopy",
        &[
            "-n",
            "-i",
            &format!("re.img@@{}", start * 512),
            "::/SMS/data/Variables.dat",
            "re.dat",
        ],
    )
    .ok();
    let v = py_vars(&d, &d.join("re.dat"), PASSWORD);
    assert_eq!(var(&v, "SMSTSMP"), Some(new_mp));
    assert_eq!(var(&v, "Keep_Me"), Some("yes"));
    assert!(var(&v, "_SMSTSMediaPFX").is_some());
}

#[test]
fn cmg_media_boot_under_qemu() {
    let d = fixture(true);
    build(&d, "iso", "cmg.iso", &[], &[]).ok();
    build(&d, "usb", "cmg.img", &[], &[]).ok();
    let timeout = Duration::from_secs(90);
    d.qemu_boot(&["-cdrom", "cmg.iso"], BIOS_MARKER, timeout);
    d.qemu_boot(
        &["-bios", ovmf(), "-cdrom", "cmg.iso"],
        UEFI_MARKER,
        timeout,
    );
    let drive = "if=none,id=stick,format=raw,snapshot=on,file=cmg.img";
    d.qemu_boot(
        &[
            "-bios",
            ovmf(),
            "-device",
            "qemu-xhci",
            "-drive",
            drive,
            "-device",
            "usb-storage,drive=stick",
        ],
        UEFI_MARKER,
        timeout,
    );
}
