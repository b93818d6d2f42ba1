//! `peforge media build|inspect|retarget` with `--format iso|usb` end to end: a bootable sample
//! boot image (stand-in boot files inside the WIM) becomes CMG media as an ISO and a USB image;
//! xorriso, sfdisk and mtools read them, QEMU boots them (SeaBIOS and OVMF), and inspect and
//! retarget read media straight from the images.
mod common;

use std::time::Duration;

use common::{BIOS_MARKER, Dir, UEFI_MARKER, ovmf, sha256};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
const MP2: &str = "https://cmg2.contoso.com/CCM_Proxy_MutualAuth/72186325152220501";
const PASSWORD: &str = "Corr3ct-Horse!Battery";
const PFX_PASSWORD: &str = "Pfx-Export#2026";
const TIMEOUT: Duration = Duration::from_secs(90);

/// A bootable ConfigMgr sample WIM, a test PKI (root + media PFX) and the password files.
fn fixture() -> Dir {
    let d = Dir::new();
    let _ = d.media_tree(); // builds boot.wim with the bootable stand-ins inside
    std::fs::write(d.join("media.pass"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(d.join("pfx.pass"), format!("{PFX_PASSWORD}\n")).unwrap();
    let ossl = |args: &[&str]| d.tool("openssl", args).ok();
    ossl(&[
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
        "/CN=Contoso CMG Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
    ]);
    ossl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "media.key",
        "-out",
        "media.csr",
        "-subj",
        "/CN=PS1 boot media",
    ]);
    ossl(&[
        "x509",
        "-req",
        "-in",
        "media.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-out",
        "media.pem",
        "-days",
        "365",
        "-set_serial",
        "7",
    ]);
    ossl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "media.key",
        "-in",
        "media.pem",
        "-name",
        "media",
        "-out",
        "media.pfx",
        "-passout",
        &format!("pass:{PFX_PASSWORD}"),
    ]);
    d
}

fn build(d: &Dir, format: &str, out: &str) -> common::Run {
    d.peforge(&[
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
        "--no-prompt",
        "--format",
        format,
        "-o",
        out,
        "--json",
    ])
}

fn inspect_mp(d: &Dir, medium: &str, password_file: &str) -> String {
    let r = d.peforge(&[
        "media",
        "inspect",
        medium,
        "--password-file",
        password_file,
        "--json",
    ]);
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    j["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "SMSTSMP")
        .map(|v| v["value"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no SMSTSMP in {j}"))
}

#[test]
fn iso_media_build_boots_and_inspects() {
    let d = fixture();
    let wim_sha = sha256(&d.join("boot.wim"));
    build(&d, "iso", "cmg.iso").ok();
    assert_eq!(sha256(&d.join("boot.wim")), wim_sha, "input changed");
    let iso = d.join("cmg.iso");
    let rep = d
        .tool(
            "xorriso",
            &[
                "-indev",
                iso.to_str().unwrap(),
                "-report_el_torito",
                "plain",
            ],
        )
        .ok();
    let entries: Vec<&str> = rep
        .stdout
        .lines()
        .filter(|l| l.starts_with("El Torito boot img :"))
        .collect();
    assert_eq!(entries.len(), 2, "{}", rep.stdout);
    assert!(
        entries[0].contains("BIOS") && entries[0].split_whitespace().nth(11) == Some("8"),
        "{}",
        entries[0]
    );
    assert!(entries[1].contains("UEFI"), "{}", entries[1]);
    let list = d.tool("bsdtar", &["-tf", iso.to_str().unwrap()]).ok();
    for path in [
        "sources/boot.wim",
        "SMS/data/Variables.dat",
        "SMS/data/TsmBootstrap.ini",
        "boot/etfsboot.com",
    ] {
        assert!(
            list.stdout.lines().any(|l| l.eq_ignore_ascii_case(path)),
            "{path} missing:\n{}",
            list.stdout
        );
    }
    // The stand-in boot files travelled through the WIM into the ISO and boot.
    d.qemu_boot(&["-cdrom", iso.to_str().unwrap()], BIOS_MARKER, TIMEOUT);
    d.qemu_boot(
        &["-bios", ovmf(), "-cdrom", iso.to_str().unwrap()],
        UEFI_MARKER,
        TIMEOUT,
    );
    // inspect reads the ISO itself, boot entries from its catalog (--no-prompt image).
    assert_eq!(inspect_mp(&d, "cmg.iso", "media.pass"), MP);
    let j = d
        .peforge(&[
            "media",
            "inspect",
            "cmg.iso",
            "--password-file",
            "media.pass",
            "--json",
        ])
        .json();
    assert_eq!(j["boot_entries"]["bios"], "boot/etfsboot.com", "{j}");
    assert_eq!(
        j["boot_entries"]["uefi"], "efi/microsoft/boot/efisys_noprompt.bin",
        "{j}"
    );
}

#[test]
fn usb_media_build_boots_and_retargets_from_the_image() {
    let d = fixture();
    build(&d, "usb", "cmg.img").ok();
    let img = d.join("cmg.img");
    let dump = d.tool("sfdisk", &["-d", img.to_str().unwrap()]).ok();
    assert!(dump.stdout.contains("type=c, bootable"), "{}", dump.stdout);
    let vars = d
        .tool(
            "mdir",
            &["-i", &format!("{}@@1M", img.display()), "-b", "::/SMS/data"],
        )
        .ok();
    assert!(vars.stdout.contains("Variables.dat"), "{}", vars.stdout);
    let drive = format!(
        "if=none,id=stick,format=raw,snapshot=on,file={}",
        img.display()
    );
    d.qemu_boot(
        &[
            "-bios",
            ovmf(),
            "-device",
            "qemu-xhci",
            "-drive",
            &drive,
            "-device",
            "usb-storage,drive=stick",
        ],
        UEFI_MARKER,
        TIMEOUT,
    );
    assert_eq!(inspect_mp(&d, "cmg.img", "media.pass"), MP);
    // retarget takes the USB image as its template and writes an ISO.
    let before = sha256(&img);
    d.peforge(&[
        "media",
        "retarget",
        "cmg.img",
        "--password-file",
        "media.pass",
        "--mp",
        MP2,
        "--format",
        "iso",
        "-o",
        "re.iso",
    ])
    .ok();
    assert_eq!(sha256(&img), before, "template changed");
    assert_eq!(inspect_mp(&d, "re.iso", "media.pass"), MP2);
}

#[test]
fn reproducible_iso_and_usb_with_source_date_epoch() {
    let d = fixture();
    let run = |format: &str, out: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_peforge"))
            .args([
                "media",
                "build",
                "--boot-wim",
                "boot.wim",
                "--mp",
                MP,
                "--site-code",
                "PS1",
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
            ])
            .current_dir(d.path())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    for (format, a, b) in [("iso", "a.iso", "b.iso"), ("usb", "a.img", "b.img")] {
        run(format, a);
        run(format, b);
        assert_eq!(
            sha256(&d.join(a)),
            sha256(&d.join(b)),
            "{format} not reproducible"
        );
    }
}
