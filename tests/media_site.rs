//! `peforge media build|inspect|retarget` (site-based CMG media), checked with tools peforge did
//! not write: python3 `cryptography` (Variables.dat and the media PFX, a second implementation of
//! spec §6 and §9), openssl (test PKI), wiminfo/wimextract + hivexget (the boot.wim inside the
//! medium), sha256sum (manifest).

mod common;

use std::path::{Path, PathBuf};

use common::{Dir, py_var as var, sha256};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
const PASSWORD: &str = "Corr3ct-Horse!Battery";
const PFX_PASSWORD: &str = "Pfx-Export#2026";
const EPOCH: &str = "1700000000";

struct Fixture {
    d: Dir,
    wim: PathBuf,
    wim_sha: String,
}

fn write(d: &Dir, name: &str, content: &str) -> PathBuf {
    let p = d.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Sample ConfigMgr boot image, an openssl-made root CA and media PFX, password files.
fn fixture() -> Fixture {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    write(&d, "vars.py", common::VARS_PY);
    d.secret_file("media.pass", PASSWORD);
    d.media_pki("Contoso CMG Root", PFX_PASSWORD);
    let wim_sha = sha256(&wim);
    Fixture { d, wim, wim_sha }
}

fn build_args<'a>(out: &'a str, format: &'a str) -> Vec<&'a str> {
    let mut args = common::media_build_args(MP, format, out);
    args.extend([
        "--variable",
        "OSDComputerName=PC-0042",
        "--unknown-computers",
        "a1b2c3d4-0000-4000-8000-000000000064,a1b2c3d4-0000-4000-8000-000000000086",
    ]);
    args
}

fn py_read(d: &Dir, file: &Path, password: &str) -> serde_json::Value {
    d.py_vars(file, password)
}

fn modulus_of(d: &Dir, pem: &str) -> String {
    let r = d
        .tool("openssl", &["x509", "-in", pem, "-noout", "-modulus"])
        .ok();
    r.stdout
        .trim()
        .trim_start_matches("Modulus=")
        .to_ascii_lowercase()
        .trim_start_matches('0')
        .to_string()
}

fn sha1_thumb(d: &Dir, pem: &str) -> String {
    let r = d
        .tool(
            "openssl",
            &["x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
        )
        .ok();
    r.stdout.trim().rsplit('=').next().unwrap().replace(':', "")
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn build_dir_is_read_back_by_independent_tools() {
    let f = fixture();
    let d = &f.d;
    let r = d
        .peforge(&[&build_args("media", "dir")[..], &["--json"]].concat())
        .ok();
    let j = r.json();
    assert_eq!(j["format"], "dir");
    assert_eq!(j["boot_entries"]["bios"], "boot/etfsboot.com");
    assert_eq!(j["boot_entries"]["uefi"], "efi/microsoft/boot/efisys.bin");

    // Variables.dat with a second implementation (python cryptography): AES-128 by default,
    // PKCS#7, the 4-byte trailer, every variable the issue lists.
    let v = py_read(d, &d.join("media/SMS/data/Variables.dat"), PASSWORD);
    assert_eq!(v["alg_id"], 0x660E);
    assert_eq!(v["trailer"], "00000000");
    assert_eq!(var(&v, "SMSTSMP"), Some(MP));
    assert_eq!(var(&v, "_SMSTSSiteCode"), Some("PS1"));
    assert_eq!(var(&v, "_SMSTSHTTPPort"), Some("80"));
    assert_eq!(var(&v, "_SMSTSHTTPSPort"), Some("443"));
    assert_eq!(var(&v, "OSDComputerName"), Some("PC-0042"));
    assert_eq!(
        var(&v, "_SMSTSx64UnknownMachineGUID"),
        Some("a1b2c3d4-0000-4000-8000-000000000064")
    );
    let guid = var(&v, "_SMSMediaGuid").unwrap();
    assert!(uuid::Uuid::parse_str(guid).is_ok(), "{guid}");
    // The PFX opens with the GUID's first 31 characters and holds the input key and certificate.
    assert_eq!(v["pfx_subject"], "CN=PS1 boot media");
    assert_eq!(
        v["pfx_modulus"].as_str().unwrap(),
        modulus_of(d, "media.pem")
    );

    // TsmBootstrap.ini and MediaLabel.txt.
    let ini = std::fs::read_to_string(d.join("media/SMS/data/TsmBootstrap.ini")).unwrap();
    assert!(ini.contains("[MediaInfo]\r\n") && ini.contains("PasswordRequired=true\r\n"));
    assert_eq!(
        std::fs::read_to_string(d.join("media/MediaLabel.txt")).unwrap(),
        "label=Configuration Manager\r\n"
    );

    // boot.wim: one image, the boot index (wiminfo), and the root in AuthRoot (hivexget).
    let info = d.tool("wiminfo", &["media/sources/boot.wim"]).ok().stdout;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("Image Count:"), "1", "{info}");
    assert_eq!(field("Boot Index:"), "1", "{info}");
    let hive = d.wimextract(
        &d.join("media/sources/boot.wim"),
        1,
        "/Windows/System32/config/SOFTWARE",
    );
    let thumb = sha1_thumb(d, "root.pem");
    let key = format!("\\Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\{thumb}");
    d.tool("hivexget", &[hive.to_str().unwrap(), &key, "Blob"])
        .ok();

    // Boot files are the image's own (wimextract of the input).
    for (inner, media) in [
        ("/Windows/Boot/PCAT/bootmgr", "media/bootmgr"),
        (
            "/Windows/Boot/EFI/bootmgfw.efi",
            "media/efi/boot/bootx64.efi",
        ),
        ("/Windows/Boot/DVD/EFI/BCD", "media/efi/microsoft/boot/BCD"),
        (
            "/Windows/Boot/DVD/PCAT/etfsboot.com",
            "media/boot/etfsboot.com",
        ),
    ] {
        let src = d.wimextract(&f.wim, 1, inner);
        assert_eq!(sha256(&src), sha256(&d.join(media)), "{media}");
    }

    // Manifest: every file with its SHA-256 (sha256sum), names but no values.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("peforge-manifest.json")).unwrap())
            .unwrap();
    let mut files = Vec::new();
    all_files(&d.join("media"), &mut files);
    assert_eq!(m["files"].as_array().unwrap().len(), files.len());
    for e in m["files"].as_array().unwrap() {
        let p = d.join("media").join(e["path"].as_str().unwrap());
        assert_eq!(e["sha256"].as_str().unwrap(), sha256(&p), "{}", p.display());
    }
    assert_eq!(m["inputs"][0]["sha256"], f.wim_sha);
    assert_eq!(m["root_certificates"][0], thumb.as_str());
    let names: Vec<&str> = m["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"_SMSTSMediaPFX") && names.contains(&"SMSTSMP"));
    // The input is untouched.
    assert_eq!(sha256(&f.wim), f.wim_sha);

    // inspect: decrypted, secrets redacted, root trusted, no findings (exit 0).
    let r = d
        .peforge(&[
            "media",
            "inspect",
            "media",
            "--password-file",
            "media.pass",
            "--json",
        ])
        .ok();
    let j = r.json();
    assert_eq!(j["findings"].as_array().unwrap().len(), 0, "{j}");
    let pfx = j["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "_SMSTSMediaPFX")
        .unwrap();
    assert!(pfx["value"].as_str().unwrap().starts_with("<redacted"));
    assert!(
        j["trusted_certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["thumbprint"] == thumb.as_str())
    );
    assert_eq!(j["media_certificate"]["subject"], "CN=PS1 boot media");
    let shown = d
        .peforge(&[
            "media",
            "inspect",
            "media",
            "--password-file",
            "media.pass",
            "--json",
            "--show-secrets",
        ])
        .ok()
        .json();
    let g = shown["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "_SMSMediaGuid")
        .unwrap();
    assert_eq!(g["value"], guid);
}

#[test]
fn secrets_appear_in_no_output() {
    let f = fixture();
    let d = &f.d;
    let r = d
        .peforge(&[&build_args("media", "dir")[..], &["--json"]].concat())
        .ok();
    let v = py_read(d, &d.join("media/SMS/data/Variables.dat"), PASSWORD);
    let guid = var(&v, "_SMSMediaGuid").unwrap().to_string();
    let pfx_pw: String = guid.chars().take(31).collect();
    let mut files = Vec::new();
    all_files(&d.join("media"), &mut files);
    files.push(d.join("peforge-manifest.json"));
    // The ISO and USB images (and their manifests) too.
    let mut outs = vec![r];
    for (format, out) in [("iso", "media.iso"), ("usb", "media.img")] {
        let manifest = format!("{out}.json");
        outs.push(
            d.peforge(&[&build_args(out, format)[..], &["--manifest", &manifest]].concat())
                .ok(),
        );
        files.push(d.join(out));
        files.push(d.join(&manifest));
    }
    let insp = d.peforge(&[
        "media",
        "inspect",
        "media",
        "--password-file",
        "media.pass",
        "--json",
    ]);
    for secret in [PASSWORD, PFX_PASSWORD, pfx_pw.as_str()] {
        for enc in [
            secret.as_bytes().to_vec(),
            secret.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ] {
            for file in &files {
                let bytes = std::fs::read(file).unwrap();
                assert!(
                    !bytes.windows(enc.len()).any(|w| w == enc.as_slice()),
                    "{secret} found in {}",
                    file.display()
                );
            }
        }
        for out in outs
            .iter()
            .flat_map(|o| [&o.stdout, &o.stderr])
            .chain([&insp.stdout, &insp.stderr])
        {
            assert!(!out.contains(secret), "{secret} printed");
        }
    }
}

#[test]
fn reproducible_with_source_date_epoch() {
    let f = fixture();
    let d = &f.d;
    let env = [("SOURCE_DATE_EPOCH", EPOCH)];
    let r = d
        .peforge_env(
            &[&build_args("a", "dir")[..], &["--manifest", "a.json"]].concat(),
            &env,
        )
        .ok();
    // The media certificate (made today by openssl) is judged at the real time, not at
    // SOURCE_DATE_EPOCH (2023).
    assert!(!r.stderr.contains("not valid before"), "{}", r.stderr);
    d.peforge_env(
        &[&build_args("b", "dir")[..], &["--manifest", "b.json"]].concat(),
        &env,
    )
    .ok();
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    all_files(&d.join("a"), &mut fa);
    all_files(&d.join("b"), &mut fb);
    fa.sort();
    fb.sort();
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            x.strip_prefix(d.join("a")).unwrap(),
            y.strip_prefix(d.join("b")).unwrap()
        );
        assert_eq!(sha256(x), sha256(y), "{} differs", x.display());
    }
    assert_eq!(sha256(&d.join("a.json")), sha256(&d.join("b.json")));
    // Without SOURCE_DATE_EPOCH the media identity is new each time.
    d.peforge(&[&build_args("c", "dir")[..], &["--manifest", "c.json"]].concat())
        .ok();
    let va = py_read(d, &d.join("a/SMS/data/Variables.dat"), PASSWORD);
    let vc = py_read(d, &d.join("c/SMS/data/Variables.dat"), PASSWORD);
    assert_ne!(var(&va, "_SMSMediaGuid"), var(&vc, "_SMSMediaGuid"));
}

#[test]
fn password_from_environment_and_profile() {
    let f = fixture();
    let d = &f.d;
    let profile = format!(
        "boot_wim = \"boot.wim\"\nmp = \"{MP}\"\nsite_code = \"PS1\"\nmedia_cert = \"media.pfx\"\nmedia_cert_password_file = \"pfx.pass\"\nvariables = [\"A=1\", \"B=2\"]\nlabel = \"Contoso CMG media\"\nno_prompt = true\nformat = \"dir\"\noutput = \"prof\"\n"
    );
    write(d, "media.toml", &profile);
    d.peforge_env(
        &["media", "build", "--profile", "media.toml"],
        &[("PEFORGE_MEDIA_PASSWORD", PASSWORD)],
    )
    .ok();
    let v = py_read(d, &d.join("prof/SMS/data/Variables.dat"), PASSWORD);
    assert_eq!(var(&v, "A"), Some("1"));
    assert_eq!(
        std::fs::read_to_string(d.join("prof/MediaLabel.txt")).unwrap(),
        "label=Contoso CMG media\r\n"
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("peforge-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        m["boot_entries"]["uefi"],
        "efi/microsoft/boot/efisys_noprompt.bin"
    );
    // A password written into a profile is refused.
    write(d, "bad.toml", &format!("{profile}password = \"x\"\n"));
    let r = d
        .peforge(&["media", "build", "--profile", "bad.toml"])
        .fails(2);
    assert!(r.stderr.contains("bad.toml"), "{}", r.stderr);
    // The template profile of the repository parses (every key known).
    let tpl = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/media/cmg-site-media.toml");
    let r = d
        .peforge(&["media", "build", "--profile", tpl.to_str().unwrap()])
        .fails(2);
    assert!(!r.stderr.contains("unknown field"), "{}", r.stderr);
}

fn s(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_refused(f: &Fixture, args: &[&str], what: &str) {
    let r = f.d.peforge(args).fails(2);
    assert!(
        r.stderr.contains(what),
        "expected {what:?} in:\n{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!f.d.join("out").exists(), "output left behind");
    assert!(!f.d.join("peforge-manifest.json").exists());
    assert_eq!(sha256(&f.wim), f.wim_sha);
    let leftovers: Vec<_> = std::fs::read_dir(f.d.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".peforge"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left");
}

#[test]
fn unsafe_media_are_refused() {
    let f = fixture();
    let d = &f.d;
    let base = build_args("out", "dir");
    let with = |from: &str, to: &str| -> Vec<String> {
        base.iter()
            .map(|a| {
                if *a == from {
                    to.to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    // Weak password.
    write(d, "weak.pass", "password\n");
    let v = with("media.pass", "weak.pass");
    assert_refused(&f, &s(&v), "too weak");
    // --allow-weak-password accepts it (a lab).
    let lab: Vec<String> = v
        .iter()
        .map(|a| if a == "out" { "lab".into() } else { a.clone() })
        .collect();
    let r = d
        .peforge(
            &[
                &s(&lab)[..],
                &["--allow-weak-password", "--manifest", "lab.json"],
            ]
            .concat(),
        )
        .ok();
    // weak.pass is readable by others (0644): said on stderr; the 0600 files are not named.
    assert!(
        r.stderr.contains("weak.pass can be read by other users"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("pfx.pass"), "{}", r.stderr);
    // http management point.
    let v = with(MP, "http://mp.contoso.com");
    assert_refused(&f, &s(&v), "not an https:// URL");
    // No password with a CMG URL.
    let mut v: Vec<String> = base.iter().map(|a| a.to_string()).collect();
    let i = v.iter().position(|a| a == "--password-file").unwrap();
    v.drain(i..i + 2);
    v.push("--no-password".into());
    assert_refused(&f, &s(&v), "must have a password");
    // No media certificate and an impossible validity for the new self-signed one.
    let mut v: Vec<String> = base.iter().map(|a| a.to_string()).collect();
    let i = v.iter().position(|a| a == "--media-cert").unwrap();
    v.drain(i..i + 4);
    v.extend(["--media-cert-days".into(), "0".into()]);
    assert_refused(&f, &s(&v), "--media-cert-days 0");
    assert!(!d.join("out.media-cert-registration.json").exists());
    // SMSTSMP through --variable would bypass the https check.
    let v = with("OSDComputerName=PC-0042", "SMSTSMP=http://mp.contoso.com");
    assert_refused(&f, &s(&v), "cannot be set with --variable");
    // Wrong PFX password.
    write(d, "wrong.pass", "nope\n");
    let v = with("pfx.pass", "wrong.pass");
    assert_refused(&f, &s(&v), "wrong PFX password");
}

#[test]
fn inspect_errors_name_the_file() {
    let f = fixture();
    let d = &f.d;
    d.peforge(&build_args("media", "dir")).ok();
    write(d, "other.pass", "Another-Passw0rd!\n");
    let r = d
        .peforge(&["media", "inspect", "media", "--password-file", "other.pass"])
        .fails(2);
    assert!(
        r.stderr.contains("Variables.dat") && r.stderr.contains("wrong media password"),
        "{}",
        r.stderr
    );
    // Corrupt file: truncated ciphertext.
    let dat = d.join("media/SMS/data/Variables.dat");
    let bytes = std::fs::read(&dat).unwrap();
    std::fs::write(&dat, &bytes[..bytes.len() / 2]).unwrap();
    let r = d
        .peforge(&["media", "inspect", "media", "--password-file", "media.pass"])
        .fails(2);
    assert!(
        r.stderr.contains("Variables.dat") && r.stderr.contains("truncated"),
        "{}",
        r.stderr
    );
    // Without a password: header only, and a finding (exit 1).
    std::fs::write(&dat, &bytes).unwrap();
    let r = d.peforge(&["media", "inspect", "media", "--json"]);
    assert_eq!(r.code, 1);
    assert!(
        r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "not-decrypted")
    );
}

#[test]
fn retarget_keeps_unknown_variables_cipher_and_trailer() {
    let f = fixture();
    let d = &f.d;
    d.peforge(&build_args("console", "dir")).ok();
    // Stand in for a console-made medium: python writes an AES-256 file with variables peforge
    // does not know, in a given order, and an 8-byte trailer.
    let old = py_read(d, &d.join("console/SMS/data/Variables.dat"), PASSWORD);
    let guid = var(&old, "_SMSMediaGuid").unwrap().to_string();
    let pfx = var(&old, "_SMSTSMediaPFX").unwrap().to_string();
    let dat = d.join("console/SMS/data/Variables.dat");
    let args: Vec<String> = vec![
        "vars.py".into(),
        "write".into(),
        dat.to_str().unwrap().into(),
        PASSWORD.into(),
        "6610".into(),
        "0000000001000000".into(),
        "_SMSTSSiteSigningCertificate=3082ABCDEF".into(),
        "SMSTSMP=https://old.contoso.com/CCM_Proxy_MutualAuth/1".into(),
        format!("_SMSMediaGuid={guid}"),
        format!("_SMSTSMediaPFX={pfx}"),
        "_SMSTSPublicRootKey=0602000000A40000".into(),
        "_SMSTSIISSSLState=448".into(),
        "_SMSTSSiteCode=PS1".into(),
    ];
    d.tool(
        "python3",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .ok();
    write(d, "new.pass", "N3w-Media-Passw0rd!\n");
    let r = d
        .peforge(&[
            "media",
            "retarget",
            "console",
            "--password-file",
            "media.pass",
            "--new-password-file",
            "new.pass",
            "--mp",
            MP,
            "--variable",
            "OSDComputerName=PC-7",
            "--format",
            "dir",
            "-o",
            "retargeted",
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["operation"], "retarget");
    let v = py_read(
        d,
        &d.join("retargeted/SMS/data/Variables.dat"),
        "N3w-Media-Passw0rd!",
    );
    assert_eq!(v["alg_id"], 0x6610);
    assert_eq!(v["trailer"], "0000000001000000");
    let names: Vec<&str> = v["vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "_SMSTSSiteSigningCertificate",
            "SMSTSMP",
            "_SMSMediaGuid",
            "_SMSTSMediaPFX",
            "_SMSTSPublicRootKey",
            "_SMSTSIISSSLState",
            "_SMSTSSiteCode",
            "OSDComputerName"
        ]
    );
    assert_eq!(var(&v, "SMSTSMP"), Some(MP));
    assert_eq!(var(&v, "_SMSTSPublicRootKey"), Some("0602000000A40000"));
    assert_eq!(var(&v, "_SMSMediaGuid"), Some(guid.as_str()));
    assert_eq!(v["pfx_subject"], "CN=PS1 boot media");
    // Every other file is the template's.
    for p in [
        "sources/boot.wim",
        "bootmgr",
        "efi/boot/bootx64.efi",
        "MediaLabel.txt",
    ] {
        assert_eq!(
            sha256(&d.join("console").join(p)),
            sha256(&d.join("retargeted").join(p)),
            "{p}"
        );
    }
    // --root-cert adds a root to the template's boot image; the roots it had stay.
    d.tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root2.key",
            "-out",
            "root2.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=Second CMG Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    )
    .ok();
    d.peforge(&[
        "media",
        "retarget",
        "console",
        "--password-file",
        "media.pass",
        "--root-cert",
        "root2.pem",
        "--format",
        "dir",
        "-o",
        "rooted",
        "--manifest",
        "rooted.json",
    ])
    .ok();
    let hive = d.wimextract(
        &d.join("rooted/sources/boot.wim"),
        1,
        "/Windows/System32/config/SOFTWARE",
    );
    for pem in ["root.pem", "root2.pem"] {
        let key = format!(
            "\\Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\{}",
            sha1_thumb(d, pem)
        );
        d.tool("hivexget", &[hive.to_str().unwrap(), &key, "Blob"])
            .ok();
    }
    let info = d.tool("wiminfo", &["rooted/sources/boot.wim"]).ok().stdout;
    assert!(
        info.lines()
            .any(|l| l.starts_with("Boot Index:") && l.trim_end().ends_with(" 1")),
        "{info}"
    );
    // The old password no longer opens it.
    let r = d
        .peforge(&[
            "media",
            "inspect",
            "retargeted",
            "--password-file",
            "media.pass",
        ])
        .fails(2);
    assert!(r.stderr.contains("wrong media password"));
}

#[test]
fn inspect_reports_findings() {
    let f = fixture();
    let d = &f.d;
    d.peforge(&build_args("media", "dir")).ok();
    // The boot image swapped for one without the CMG root: the manifest's root is missing.
    std::fs::copy(&f.wim, d.join("media/sources/boot.wim")).unwrap();
    // SMSTSMP rewritten to http by an independent writer (python), keeping the media PFX.
    let old = py_read(d, &d.join("media/SMS/data/Variables.dat"), PASSWORD);
    let dat = d.join("media/SMS/data/Variables.dat");
    let args: Vec<String> = vec![
        "vars.py".into(),
        "write".into(),
        dat.to_str().unwrap().into(),
        PASSWORD.into(),
        "660e".into(),
        "00000000".into(),
        "SMSTSMP=http://mp.contoso.com".into(),
        format!("_SMSMediaGuid={}", var(&old, "_SMSMediaGuid").unwrap()),
        format!("_SMSTSMediaPFX={}", var(&old, "_SMSTSMediaPFX").unwrap()),
    ];
    d.tool(
        "python3",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .ok();
    // The manifest describes the medium as built: point it at the new Variables.dat so it is
    // still recognised as this medium's.
    let mpath = d.join("peforge-manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    for e in m["files"].as_array_mut().unwrap() {
        if e["path"] == "SMS/data/Variables.dat" {
            e["sha256"] = sha256(&dat).into();
        }
    }
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    let r = d.peforge(&[
        "media",
        "inspect",
        "media",
        "--password-file",
        "media.pass",
        "--json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let codes: Vec<String> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap().to_string())
        .collect();
    for want in [
        "mp-not-https",
        "no-site-code",
        "no-trusted-root",
        "cmg-root-missing",
    ] {
        assert!(codes.iter().any(|c| c == want), "{want} not in {codes:?}");
    }
    // Text output names them too.
    let r = d.peforge(&["media", "inspect", "media", "--password-file", "media.pass"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("[mp-not-https]"), "{}", r.stdout);
}

#[test]
fn no_password_media_use_the_documented_default_password() {
    let f = fixture();
    let d = &f.d;
    // Allowed for a plain https MP (not a CMG), with a note.
    let r = d
        .peforge(&[
            "media",
            "build",
            "--boot-wim",
            "boot.wim",
            "--mp",
            "https://mp01.contoso.com",
            "--site-code",
            "PS1",
            "--media-cert",
            "media.pfx",
            "--media-cert-password-file",
            "pfx.pass",
            "--no-password",
            "--format",
            "dir",
            "-o",
            "open",
        ])
        .ok();
    assert!(r.stderr.contains("default password"), "{}", r.stderr);
    // python decrypts it with the fixed password of spec §6.4.
    let v = py_read(
        d,
        &d.join("open/SMS/data/Variables.dat"),
        "{BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}",
    );
    assert_eq!(var(&v, "SMSTSMP"), Some("https://mp01.contoso.com"));
    let ini = std::fs::read_to_string(d.join("open/SMS/data/TsmBootstrap.ini")).unwrap();
    assert!(ini.contains("PasswordRequired=false"), "{ini}");
    // inspect needs no password and says what is wrong with that.
    let r = d.peforge(&["media", "inspect", "open", "--json"]);
    assert_eq!(r.code, 1);
    let j = r.json();
    let codes: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"no-password") && codes.contains(&"mp-not-cmg"),
        "{codes:?}"
    );
    assert!(
        j["variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "SMSTSMP")
    );
}

/// With neither --password-file nor PEFORGE_MEDIA_PASSWORD, a person at a terminal is asked twice;
/// `script` gives peforge a real pseudo-terminal and types the answers. python3 `cryptography`
/// then opens Variables.dat with the typed password, and the password was never echoed.
#[test]
fn tty_prompt_asks_twice_and_the_typed_password_protects_the_media() {
    let f = fixture();
    let d = &f.d;
    let args: Vec<&str> = build_args("prompted", "dir")
        .into_iter()
        .filter(|a| *a != "--password-file" && *a != "media.pass")
        .collect();
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_peforge").to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let shell = format!(
        "(sleep 2; printf '%s\\r' '{PASSWORD}'; sleep 1; printf '%s\\r' '{PASSWORD}') | script -qec \"{cmd}\" /dev/null"
    );
    let r = d.tool("bash", &["-c", &shell]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Media password:"), "{}", r.stdout);
    assert!(r.stdout.contains("Repeat:"), "{}", r.stdout);
    assert!(
        !r.stdout.contains(PASSWORD),
        "the password was echoed:\n{}",
        r.stdout
    );
    let v = py_read(d, &d.join("prompted/SMS/data/Variables.dat"), PASSWORD);
    assert_eq!(var(&v, "_SMSTSSiteCode"), Some("PS1"));

    // Two different answers: refused, nothing written.
    let shell = format!(
        "(sleep 2; printf 'first-Passw0rd!\\r'; sleep 1; printf 'second-Passw0rd!\\r') | script -qec \"{}\" /dev/null",
        cmd.replace("'prompted'", "'mismatch'")
    );
    let r = d.tool("bash", &["-c", &shell]);
    assert!(r.stdout.contains("the passwords differ"), "{}", r.stdout);
    assert!(!d.join("mismatch").exists());
    assert_eq!(sha256(&f.wim), f.wim_sha);
}
