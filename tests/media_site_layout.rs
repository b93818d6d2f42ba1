//! `peforge media build` boot-file layout (spec §1, §2): Windows UEFI CA 2023 `_EX` swaps,
//! `--no-prompt`, `--pe-media`, refusals when boot files are missing; `--cipher aes256`; media
//! certificates exported by OpenSSL in its legacy formats (3DES, RC2-40). Content is compared with
//! wimextract's copy of the image's files and python3 `cryptography`.

mod common;

use std::path::{Path, PathBuf};

use common::{Dir, sha256};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";

fn put(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn setup(d: &Dir, legacy: &[&str]) {
    std::fs::write(d.join("media.pass"), "Layout-Test-Passw0rd!\n").unwrap();
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
            "media.key",
            "-out",
            "media.pem",
            "-days",
            "30",
            "-subj",
            "/CN=layout media",
        ],
    )
    .ok();
    let mut args = vec![
        "pkcs12",
        "-export",
        "-inkey",
        "media.key",
        "-in",
        "media.pem",
        "-out",
        "media.pfx",
        "-passout",
        "pass:pfx-Pass-1",
    ];
    args.extend_from_slice(legacy);
    d.tool("openssl", &args).ok();
}

fn build(d: &Dir, wim: &str, extra: &[&str], out: &str) -> common::Run {
    let mut args = vec![
        "media",
        "build",
        "--boot-wim",
        wim,
        "--mp",
        MP,
        "--site-code",
        "LAB",
        "--media-cert",
        "media.pfx",
        "--media-cert-password-file",
        "pfx.pass",
        "--password-file",
        "media.pass",
        "--format",
        "dir",
        "-o",
        out,
        "--manifest",
    ];
    let manifest = format!("{out}.json");
    args.push(&manifest);
    args.extend_from_slice(extra);
    d.peforge(&args)
}

fn sample_with_overlay(d: &Dir, name: &str, overlay: &Path) -> PathBuf {
    let path = d.join(name);
    let opts = peforge::sample::SampleOptions {
        configmgr: true,
        filler_bytes: 1 << 16,
        overlay: Some(overlay.to_path_buf()),
        ..Default::default()
    };
    peforge::sample::build_boot_wim(&path, &opts).unwrap();
    path
}

#[test]
fn secure_boot_2023_uses_the_ex_files() {
    let d = Dir::new();
    setup(&d, &[]);
    // Without _EX folders the build is refused, like Microsoft's script.
    d.sample_wim("plain.wim", true);
    let r = build(&d, "plain.wim", &["--secure-boot-2023"], "refused").fails(2);
    assert!(
        r.stderr.contains("EFI_EX") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(!d.join("refused").exists());

    let ov = d.join("ov2023");
    put(&ov, "Windows/Boot/EFI_EX/bootmgfw_EX.efi", "2023 bootmgfw");
    put(&ov, "Windows/Boot/EFI_EX/bootmgr_EX.efi", "2023 bootmgr");
    put(
        &ov,
        "Windows/Boot/FONTS_EX/segmono_boot_EX.ttf",
        "2023 font",
    );
    put(
        &ov,
        "Windows/Boot/DVD_EX/EFI/en-US/efisys_EX.bin",
        "2023 efisys",
    );
    put(
        &ov,
        "Windows/Boot/DVD_EX/EFI/en-US/efisys_noprompt_EX.bin",
        "2023 efisys noprompt",
    );
    put(&ov, "Windows/Boot/EFI/boot.stl", "stl");
    let wim = sample_with_overlay(&d, "ex.wim", &ov);
    let wim_sha = sha256(&wim);
    let r = build(&d, "ex.wim", &["--secure-boot-2023", "--json"], "m2023").ok();
    assert_eq!(
        r.json()["boot_entries"]["uefi"],
        "efi/microsoft/boot/efisys_ex.bin"
    );
    let same = |inner: &str, media: &str| {
        let src = d.wimextract(&wim, 1, inner);
        assert_eq!(
            sha256(&src),
            sha256(&d.join("m2023").join(media)),
            "{media}"
        );
    };
    same(
        "/Windows/Boot/EFI_EX/bootmgfw_EX.efi",
        "efi/boot/bootx64.efi",
    );
    same("/Windows/Boot/EFI_EX/bootmgr_EX.efi", "bootmgr.efi");
    same(
        "/Windows/Boot/FONTS_EX/segmono_boot_EX.ttf",
        "efi/microsoft/boot/fonts/segmono_boot.ttf",
    );
    same(
        "/Windows/Boot/DVD_EX/EFI/en-US/efisys_EX.bin",
        "efi/microsoft/boot/efisys_ex.bin",
    );
    same("/Windows/Boot/EFI/boot.stl", "efi/microsoft/boot/boot.stl");
    // The BIOS side keeps the 2011 files.
    same("/Windows/Boot/PCAT/bootmgr", "bootmgr");
    same(
        "/Windows/Boot/Fonts/segmono_boot.ttf",
        "boot/fonts/segmono_boot.ttf",
    );
    // --no-prompt picks the no-prompt _EX image.
    let r = build(
        &d,
        "ex.wim",
        &["--secure-boot-2023", "--no-prompt", "--json"],
        "np",
    )
    .ok();
    assert_eq!(
        r.json()["boot_entries"]["uefi"],
        "efi/microsoft/boot/efisys_noprompt_ex.bin"
    );
    assert_eq!(sha256(&wim), wim_sha);
}

#[test]
fn pe_media_folder_overrides_and_missing_files_are_named() {
    let d = Dir::new();
    setup(&d, &[]);
    // An image without boot files: refused, naming what is missing.
    let empty = d.join("nofiles");
    std::fs::create_dir_all(&empty).unwrap();
    let ov = d.join("ov-none");
    put(&ov, "readme.txt", "x");
    let wim = d.join("bare.wim");
    peforge::wim::capture(
        &[peforge::wim::CaptureImage {
            source: &ov,
            name: "bare",
            properties: &[("WINDOWS/ARCH", "9")],
        }],
        &wim,
    )
    .unwrap();
    let r = build(&d, "bare.wim", &[], "bare").fails(2);
    assert!(
        r.stderr.contains("bootmgr") && r.stderr.contains("--pe-media"),
        "{}",
        r.stderr
    );

    // An ADK-style media folder (copype: media\ and fwfiles\) supplies them.
    let adk = d.join("WinPE_amd64");
    for f in [
        "media/bootmgr",
        "media/bootmgr.efi",
        "media/Boot/BCD",
        "media/Boot/boot.sdi",
        "media/EFI/Boot/bootx64.efi",
        "media/EFI/Microsoft/Boot/BCD",
        "media/sources/boot.wim",
        "fwfiles/etfsboot.com",
        "fwfiles/efisys.bin",
        "media/Boot/bootfix.bin",
    ] {
        put(&adk, f, &format!("adk {f}"));
    }
    let r = build(
        &d,
        "bare.wim",
        &["--pe-media", "WinPE_amd64/media", "--json"],
        "adk",
    )
    .ok();
    let j = r.json();
    // One spelling per folder: the ADK's "Boot" wins over "boot" (as on the written medium).
    assert_eq!(j["boot_entries"]["bios"], "Boot/etfsboot.com");
    assert_eq!(
        sha256(&adk.join("media/EFI/Boot/bootx64.efi")),
        sha256(&d.join("adk/EFI/Boot/bootx64.efi"))
    );
    assert_eq!(
        sha256(&adk.join("fwfiles/etfsboot.com")),
        sha256(&d.join("adk/Boot/etfsboot.com"))
    );
    // sources/boot.wim is the exported input image, not the ADK's.
    assert_ne!(
        sha256(&adk.join("media/sources/boot.wim")),
        sha256(&d.join("adk/sources/boot.wim"))
    );
    let info = d
        .tool("wiminfo", &["adk/sources/boot.wim", "1"])
        .ok()
        .stdout;
    assert!(info.contains("bare"), "{info}");
    assert!(d.join("adk/Boot/bootfix.bin").is_file());
    // --no-prompt leaves out bootfix.bin (the BIOS "press any key" prompt).
    build(
        &d,
        "bare.wim",
        &["--pe-media", "WinPE_amd64/media", "--no-prompt"],
        "adk-np",
    )
    .ok();
    assert!(!d.join("adk-np/Boot/bootfix.bin").exists());
    assert!(d.join("adk-np/Boot/BCD").is_file());
}

fn py_alg(d: &Dir, file: &str) -> u32 {
    let r = d
        .tool(
            "python3",
            &["-c", "import struct,sys; print(struct.unpack('<I', open(sys.argv[1],'rb').read()[16:20])[0])", file],
        )
        .ok();
    r.stdout.trim().parse().unwrap()
}

#[test]
fn aes256_and_legacy_pfx_inputs() {
    for legacy in [
        &["-legacy"][..],
        &[
            "-keypbe",
            "PBE-SHA1-3DES",
            "-certpbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ][..],
    ] {
        let d = Dir::new();
        setup(&d, legacy);
        d.sample_wim("boot.wim", true);
        build(&d, "boot.wim", &["--cipher", "aes256"], "m").ok();
        assert_eq!(py_alg(&d, "m/SMS/data/Variables.dat"), 0x6610);
        // The re-protected PFX opens with openssl given the media GUID's first 31 characters.
        let j = d
            .peforge(&[
                "media",
                "inspect",
                "m",
                "--password-file",
                "media.pass",
                "--json",
                "--show-secrets",
            ])
            .json();
        let vars = j["variables"].as_array().unwrap();
        let get = |n: &str| {
            vars.iter().find(|v| v["name"] == n).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let pfx = hex::decode(get("_SMSTSMediaPFX")).unwrap();
        std::fs::write(d.join("out.pfx"), pfx).unwrap();
        let pass: String = get("_SMSMediaGuid").chars().take(31).collect();
        let r = d
            .tool(
                "openssl",
                &[
                    "pkcs12",
                    "-in",
                    "out.pfx",
                    "-nokeys",
                    "-passin",
                    &format!("pass:{pass}"),
                ],
            )
            .ok();
        assert!(r.stdout.contains("layout media"), "{}", r.stdout);
    }
}

#[test]
fn only_the_chosen_image_is_kept_as_the_boot_index() {
    let d = Dir::new();
    setup(&d, &[]);
    let (a, b) = (d.join("img1"), d.join("img2"));
    for (dir, cm) in [(&a, false), (&b, true)] {
        std::fs::create_dir_all(dir).unwrap();
        let opts = peforge::sample::SampleOptions {
            configmgr: cm,
            filler_bytes: 1 << 16,
            ..Default::default()
        };
        peforge::sample::stage_tree(dir, &opts).unwrap();
    }
    put(&b, "marker-second.txt", "second image");
    let wim = d.join("two.wim");
    peforge::wim::capture(
        &[
            peforge::wim::CaptureImage {
                source: &a,
                name: "first",
                properties: &[("WINDOWS/ARCH", "9")],
            },
            peforge::wim::CaptureImage {
                source: &b,
                name: "second",
                properties: &[("WINDOWS/ARCH", "9")],
            },
        ],
        &wim,
    )
    .unwrap();
    let before = sha256(&wim);
    build(&d, "two.wim", &["--index", "2"], "m").ok();
    let info = d.tool("wiminfo", &["m/sources/boot.wim"]).ok().stdout;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(field("Image Count:"), "1", "{info}");
    assert_eq!(field("Boot Index:"), "1", "{info}");
    assert_eq!(field("Name:"), "second", "{info}");
    let m = d.wimextract(&d.join("m/sources/boot.wim"), 1, "/marker-second.txt");
    assert_eq!(std::fs::read_to_string(m).unwrap(), "second image");
    assert_eq!(sha256(&wim), before);
    // An index that does not exist is an error naming the WIM.
    let r = build(&d, "two.wim", &["--index", "3"], "m3").fails(2);
    assert!(
        r.stderr.contains("two.wim") && r.stderr.contains("image 3"),
        "{}",
        r.stderr
    );
}
