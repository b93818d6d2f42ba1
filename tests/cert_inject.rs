//! `peforge cert inject|list|remove|verify` and `wim info` certificates on the synthetic WinPE
//! boot image, checked with wimextract + hivexregedit/hivexsh (independent readers) and openssl,
//! plus every bad input of issue 2.

mod common;
use common::{
    Dir, dir_listing, hivex_blob, hivexsh_ls, reg_key_and_blob, reg_text, sha256, utf16le_bom,
    vectors,
};

use std::path::{Path, PathBuf};

const SOFTWARE: &str = "Windows/System32/config/SOFTWARE";

/// Test certificates made with openssl at test time.
struct Pki {
    root: PathBuf,
    inter: PathBuf,
    leaf: PathBuf,
    expired: PathBuf,
    future: PathBuf,
    sha1: PathBuf,
}

fn openssl(d: &Dir, args: &[&str]) {
    d.tool("openssl", args).ok();
}

const CA_CNF: &str = "[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\n[v3ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n[v3leaf]\nbasicConstraints = critical,CA:FALSE\nextendedKeyUsage = serverAuth\n";

fn pki(d: &Dir) -> Pki {
    let ca_ext = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    let mut root = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "3650",
        "-subj",
        "/CN=Test CMG Root CA",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
    ];
    root.extend(ca_ext);
    openssl(d, &root);
    let mut sha1 = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha1",
        "-days",
        "3650",
        "-subj",
        "/CN=Test SHA1 Root",
        "-keyout",
        "sha1.key",
        "-out",
        "sha1.pem",
    ];
    sha1.extend(ca_ext);
    openssl(d, &sha1);
    // Intermediate and leaf signed by the root.
    std::fs::write(d.join("ca.cnf"), CA_CNF).unwrap();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("serial"), "1000\n").unwrap();
    for (name, cn) in [
        ("inter", "Test Intermediate CA"),
        ("leaf", "cmg.example.com"),
        ("old", "Test Expired Root"),
        ("new", "Test Future Root"),
    ] {
        openssl(
            d,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
    }
    let sign = |csr: &str, out: &str, ext: &str, extra: &[&str]| {
        let mut a = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-notext",
            "-in",
            csr,
            "-out",
            out,
            "-extensions",
            ext,
        ];
        a.extend(extra);
        openssl(d, &a);
    };
    sign(
        "inter.csr",
        "inter.pem",
        "v3ca",
        &["-cert", "root.pem", "-keyfile", "root.key", "-days", "1000"],
    );
    sign(
        "leaf.csr",
        "leaf.pem",
        "v3leaf",
        &["-cert", "root.pem", "-keyfile", "root.key", "-days", "100"],
    );
    sign(
        "old.csr",
        "old.pem",
        "v3ca",
        &[
            "-selfsign",
            "-keyfile",
            "old.key",
            "-startdate",
            "20100101000000Z",
            "-enddate",
            "20200101000000Z",
        ],
    );
    sign(
        "new.csr",
        "new.pem",
        "v3ca",
        &[
            "-selfsign",
            "-keyfile",
            "new.key",
            "-startdate",
            "20900101000000Z",
            "-enddate",
            "20990101000000Z",
        ],
    );
    Pki {
        root: d.join("root.pem"),
        inter: d.join("inter.pem"),
        leaf: d.join("leaf.pem"),
        expired: d.join("old.pem"),
        future: d.join("new.pem"),
        sha1: d.join("sha1.pem"),
    }
}

/// SHA-1 fingerprint and DER of a PEM file, from openssl.
fn openssl_facts(d: &Dir, pem: &Path) -> (String, Vec<u8>) {
    let fp = d
        .tool(
            "openssl",
            &[
                "x509",
                "-in",
                pem.to_str().unwrap(),
                "-noout",
                "-fingerprint",
                "-sha1",
            ],
        )
        .ok()
        .stdout;
    let thumb = fp.trim().rsplit('=').next().unwrap().replace(':', "");
    let der = d.join("facts.der");
    openssl(
        d,
        &[
            "x509",
            "-in",
            pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    (thumb, std::fs::read(der).unwrap())
}

/// The `minimal` Blob (spec §5: 0x03 then 0x20) built by hand from openssl's values.
fn minimal_blob(thumb: &str, der: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for (id, data) in [(3u32, hex::decode(thumb).unwrap()), (0x20, der.to_vec())] {
        b.extend(id.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend((data.len() as u32).to_le_bytes());
        b.extend(data);
    }
    b
}

fn key(store: &str, thumb: &str) -> String {
    format!("Microsoft\\SystemCertificates\\{store}\\Certificates\\{thumb}")
}

#[test]
fn inject_pem_is_read_back_by_hivex_and_is_idempotent() {
    let d = Dir::new();
    let p = pki(&d);
    let wim = d.sample_wim("boot.wim", true);
    let w = wim.to_str().unwrap();
    let (thumb, der) = openssl_facts(&d, &p.root);
    let r = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            p.root.to_str().unwrap(),
        ])
        .ok();
    assert!(r.stdout.contains("added to AuthRoot"), "{}", r.stdout);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);

    // Independent check: wimextract + hivexregedit. Default store AuthRoot (absent from the
    // sample: created with its ancestors), default profile minimal.
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    assert_eq!(
        hivex_blob(&d, &hive, &key("AuthRoot", &thumb)),
        Some(minimal_blob(&thumb, &der))
    );
    assert_eq!(
        hivexsh_ls(
            &d,
            &hive,
            "Microsoft\\SystemCertificates\\AuthRoot\\Certificates"
        ),
        vec![thumb.clone()]
    );
    // wiminfo still reads the WIM.
    d.tool("wiminfo", &[w]).ok();

    // Second run: nothing changes, and it says so.
    let before = sha256(&wim);
    let j = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            p.root.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["changed"], false);
    assert_eq!(j["certificates"][0]["outcome"], "already_present");
    assert_eq!(j["written"], serde_json::Value::Null);
    assert_eq!(sha256(&wim), before);
    let r = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            p.root.to_str().unwrap(),
        ])
        .ok();
    assert!(
        r.stderr.contains("already present, nothing to do"),
        "{}",
        r.stderr
    );
    assert_eq!(sha256(&wim), before);

    // cert list and wim info show it, with openssl's thumbprint, subject and expiry.
    let j = d
        .peforge(&["cert", "list", "--wim", w, "--json"])
        .ok()
        .json();
    let c = &j["images"][0]["certificates"][0];
    assert_eq!(c["thumbprint"], thumb.as_str());
    assert_eq!(c["store"], "AuthRoot");
    assert_eq!(c["valid"], true);
    let end = d
        .tool(
            "openssl",
            &[
                "x509",
                "-in",
                p.root.to_str().unwrap(),
                "-noout",
                "-enddate",
                "-dateopt",
                "iso_8601",
            ],
        )
        .ok()
        .stdout;
    let end = end.trim().trim_start_matches("notAfter=").replace(' ', "T");
    assert_eq!(c["not_after"], end.as_str());
    let info = d.peforge(&["wim", "info", w, "--json"]).ok().json();
    let certs = &info["images"][0]["certificates"];
    assert_eq!(certs.as_array().unwrap().len(), 1);
    assert_eq!(certs[0]["thumbprint"], thumb.as_str());
    assert_eq!(certs[0]["subject"], "CN=Test CMG Root CA");
    assert_eq!(certs[0]["not_after"], end.as_str());
    let text = d.peforge(&["wim", "info", w]).ok().stdout;
    assert!(
        text.contains(&thumb) && text.contains("CN=Test CMG Root CA"),
        "{text}"
    );
    d.peforge(&["cert", "verify", "--wim", w]).ok();
}

#[test]
fn profiles_stores_bundle_output_and_dry_run() {
    let d = Dir::new();
    let p = pki(&d);
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let before = sha256(&wim);
    // A PEM bundle (root + intermediate) into CA as DER-equivalent, with --output.
    let bundle = d.join("chain.pem");
    let mut s = std::fs::read_to_string(&p.inter).unwrap();
    s.push_str(&std::fs::read_to_string(&p.root).unwrap());
    std::fs::write(&bundle, s).unwrap();
    let dry = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            bundle.to_str().unwrap(),
            "--store",
            "ca",
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(dry["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(dry["certificates"][0]["outcome"], "added");
    assert_eq!(dry["written"], serde_json::Value::Null);
    assert_eq!(sha256(&wim), before, "--dry-run wrote");
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        bundle.to_str().unwrap(),
        "--store",
        "ca",
        "--output",
        "new.wim",
    ])
    .ok();
    assert_eq!(sha256(&wim), before, "--output touched the input");
    let hive = d.wimextract(&d.join("new.wim"), 1, SOFTWARE);
    for pem in [&p.inter, &p.root] {
        let (thumb, der) = openssl_facts(&d, pem);
        assert_eq!(
            hivex_blob(&d, &hive, &key("CA", &thumb)),
            Some(minimal_blob(&thumb, &der))
        );
    }
    // --store auto: the root to ROOT, the intermediate to CA, no warning even with --strict.
    let j = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            bundle.to_str().unwrap(),
            "--store",
            "auto",
            "--strict",
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    let stores: Vec<&str> = j["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["store"].as_str().unwrap())
        .collect();
    assert_eq!(stores, vec!["CA", "ROOT"]);
    let r = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            p.leaf.to_str().unwrap(),
            "--store",
            "auto",
        ])
        .fails(2);
    assert!(
        r.stderr.contains("leaf.pem") && r.stderr.contains("--store auto"),
        "{}",
        r.stderr
    );
    assert_eq!(sha256(&wim), before);
    // DER input, ROOT store, windows profile: the blob is the one `cert reg` writes for the
    // same profile, and starts with 0x6B (SHA-256 of the DER, checked with openssl).
    let der = d.join("root.der");
    openssl(
        &d,
        &[
            "x509",
            "-in",
            p.root.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        der.to_str().unwrap(),
        "--store",
        "root",
        "--profile",
        "windows",
        "--rebuild",
    ])
    .ok();
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let (thumb, _) = openssl_facts(&d, &p.root);
    let blob = hivex_blob(&d, &hive, &key("ROOT", &thumb)).unwrap();
    let sha256_der = d
        .tool("openssl", &["dgst", "-sha256", "-r", der.to_str().unwrap()])
        .ok()
        .stdout;
    let sha256_der = hex::decode(sha256_der.split_whitespace().next().unwrap()).unwrap();
    assert_eq!(&blob[..12], &[0x6b, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0]);
    assert_eq!(&blob[12..44], &sha256_der[..]);
    assert!(blob.ends_with(&std::fs::read(&der).unwrap()));
}

#[test]
fn warnings_and_strict() {
    let d = Dir::new();
    let p = pki(&d);
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let before = sha256(&wim);
    for (pem, needle) in [
        (&p.leaf, "not a CA certificate"),
        (&p.inter, "not self-signed"),
        (&p.expired, "expired on 2020-01-01"),
        (&p.future, "not valid before 2090-01-01"),
        (&p.sha1, "sha1WithRSAEncryption"),
    ] {
        let listing = dir_listing(d.path());
        let r = d
            .peforge(&[
                "cert",
                "inject",
                "--wim",
                w,
                "--cert",
                pem.to_str().unwrap(),
                "--strict",
            ])
            .fails(2);
        assert!(r.stderr.contains(needle), "{}: {}", pem.display(), r.stderr);
        assert!(
            r.stderr
                .contains(pem.file_name().unwrap().to_str().unwrap()),
            "{}",
            r.stderr
        );
        assert_eq!(sha256(&wim), before);
        assert_eq!(dir_listing(d.path()), listing);
        let r = d
            .peforge(&[
                "cert",
                "inject",
                "--wim",
                w,
                "--cert",
                pem.to_str().unwrap(),
                "--dry-run",
            ])
            .ok();
        assert!(
            r.stderr.contains("warning:") && r.stderr.contains(needle),
            "{}",
            r.stderr
        );
    }
    // Without --strict the warning does not stop the injection.
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        p.inter.to_str().unwrap(),
    ])
    .ok();
    // The intermediate in CA is not a warning.
    let r = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            w,
            "--cert",
            p.inter.to_str().unwrap(),
            "--store",
            "ca",
            "--strict",
        ])
        .ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

#[test]
fn remove_deletes_the_key() {
    let d = Dir::new();
    let p = pki(&d);
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let (thumb, _) = openssl_facts(&d, &p.root);
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        p.root.to_str().unwrap(),
        "--store",
        "root",
    ])
    .ok();
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--cert",
        p.root.to_str().unwrap(),
    ])
    .ok();
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    assert!(hivex_blob(&d, &hive, &key("ROOT", &thumb)).is_some());
    // Lower case with colons, from every store.
    let typed = thumb
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let j = d
        .peforge(&[
            "cert",
            "remove",
            "--wim",
            w,
            "--thumbprint",
            &typed,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["removed"].as_array().unwrap().len(), 2, "{j}");
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    assert_eq!(hivex_blob(&d, &hive, &key("ROOT", &thumb)), None);
    assert_eq!(hivex_blob(&d, &hive, &key("AuthRoot", &thumb)), None);
    assert!(
        hivexsh_ls(
            &d,
            &hive,
            "Microsoft\\SystemCertificates\\ROOT\\Certificates"
        )
        .is_empty()
    );
    let before = sha256(&wim);
    let r = d
        .peforge(&["cert", "remove", "--wim", w, "--thumbprint", &thumb])
        .ok();
    assert!(r.stderr.contains("nothing to do"), "{}", r.stderr);
    assert_eq!(sha256(&wim), before);
}

/// A copy of a vector `.reg` with HKEY_CURRENT_USER\Software replaced by
/// HKEY_LOCAL_MACHINE\SOFTWARE (same encoding), for the HKCU hive vectors.
fn as_machine_reg(d: &Dir, src: &Path) -> PathBuf {
    let text = reg_text(src).replace(
        "[HKEY_CURRENT_USER\\Software\\",
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\",
    );
    let dst = d.join(src.file_name().unwrap().to_str().unwrap());
    std::fs::write(&dst, utf16le_bom(&text)).unwrap();
    dst
}

#[test]
fn importing_every_vector_reg_yields_its_exact_key_and_value_bytes() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let dir = vectors().join("cert-reg");
    let mut regs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "reg"))
        .collect();
    regs.sort();
    let mut args: Vec<String> = vec![
        "cert".into(),
        "inject".into(),
        "--wim".into(),
        w.into(),
        "--json".into(),
        "--cert".into(),
    ];
    let mut expected = Vec::new();
    for reg in &regs {
        let (k, blob) = reg_key_and_blob(reg);
        let path = if k.starts_with("HKEY_CURRENT_USER") {
            // The HKCU vectors are refused as they are (not a machine store).
            let r = d
                .peforge(&[
                    "cert",
                    "inject",
                    "--wim",
                    w,
                    "--cert",
                    reg.to_str().unwrap(),
                ])
                .fails(2);
            assert!(
                r.stderr.contains("is not a machine certificate store"),
                "{}",
                r.stderr
            );
            as_machine_reg(&d, reg)
        } else {
            reg.clone()
        };
        // Hive-relative key: drop HKEY_LOCAL_MACHINE\SOFTWARE (or the HKCU root it replaced).
        let rel: String = k.splitn(3, '\\').nth(2).unwrap().to_string();
        expected.push((rel, blob));
        args.push(path.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let j = d.peforge(&args).ok().json();
    // SYNTHETIC full and minimal name the same certificates: the second is already present.
    assert_eq!(j["changed"], true);
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let mut seen = std::collections::HashSet::new();
    for (rel, blob) in &expected {
        let got = hivex_blob(&d, &hive, rel).unwrap_or_else(|| panic!("{rel} missing"));
        if seen.insert(rel.to_uppercase()) {
            assert!(got == *blob, "{rel}: Blob bytes differ");
        }
        // The key name is stored exactly (hivexsh lists it with its case).
        let (parent, name) = rel.rsplit_once('\\').unwrap();
        assert!(
            hivexsh_ls(&d, &hive, parent).contains(&name.to_string()),
            "{rel}"
        );
    }
    d.peforge(&["cert", "verify", "--wim", w]).ok();
}

#[test]
fn bad_inputs_give_one_error_and_change_nothing() {
    let d = Dir::new();
    let p = pki(&d);
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let root = p.root.to_str().unwrap();
    let before = sha256(&wim);
    let bytes = std::fs::read(&wim).unwrap();
    std::fs::write(
        d.join("notawim.wim"),
        b"this is not a wim file at all, just some text",
    )
    .unwrap();
    std::fs::write(d.join("trunc.wim"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(
        d.join("garbage.pem"),
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(d.join("garbage.cer"), [0x30u8, 0x82, 0x01, 0x00, 1, 2, 3]).unwrap();

    // A .reg whose Blob does not match its key name: one hex digit of the key name changed.
    let (k, blob) =
        reg_key_and_blob(&vectors().join("cert-reg/SYNTHETIC__ISRG_Root_X1__minimal.reg"));
    let bad_key = k.replace("CABD2A79", "CABD2A78");
    let blob_hex: Vec<String> = blob.iter().map(|b| format!("{b:02x}")).collect();
    let text = format!(
        "Windows Registry Editor Version 5.00\r\n\r\n[{bad_key}]\r\n\"Blob\"=hex:{}\r\n\r\n",
        blob_hex.join(",")
    );
    std::fs::write(d.join("mismatch.reg"), utf16le_bom(&text)).unwrap();
    // A .reg that is not UTF-16LE/UTF-8 text (UTF-16 big-endian), and binary junk named .reg.
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    std::fs::write(d.join("utf16be.reg"), be).unwrap();
    std::fs::write(d.join("junk.reg"), [0u8, 1, 2, 3, 0xFF, 0, 7, 9]).unwrap();
    // A valid .reg that is not a certificate key.
    std::fs::write(
        d.join("other.reg"),
        utf16le_bom("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso]\r\n\"x\"=dword:00000001\r\n\r\n"),
    )
    .unwrap();
    // HKEY_CURRENT_USER certificate key.
    std::fs::write(
        d.join("hkcu.reg"),
        utf16le_bom(&text.replace(
            &bad_key,
            &k.replace(
                "HKEY_LOCAL_MACHINE\\SOFTWARE",
                "HKEY_CURRENT_USER\\Software",
            ),
        )),
    )
    .unwrap();

    // Images: a second image without SOFTWARE, a corrupt hive, a dirty hive.
    let two = d.join("two.wim");
    std::fs::copy(&wim, &two).unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::write(d.join("empty/readme.txt"), "no hive here").unwrap();
    d.tool(
        "wimappend",
        &[
            d.join("empty").to_str().unwrap(),
            two.to_str().unwrap(),
            "data",
        ],
    )
    .ok();
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let mut dirty = std::fs::read(&hive).unwrap();
    dirty[4] = dirty[4].wrapping_add(1);
    std::fs::write(d.join("SOFTWARE.dirty"), &dirty).unwrap();
    std::fs::write(d.join("SOFTWARE.corrupt"), vec![0x41u8; 8192]).unwrap();
    let mut wims = Vec::new();
    for kind in ["dirty", "corrupt"] {
        let path = d.join(&format!("{kind}.wim"));
        std::fs::copy(&wim, &path).unwrap();
        d.tool(
            "wimupdate",
            &[
                path.to_str().unwrap(),
                "1",
                &format!("--command=add SOFTWARE.{kind} /Windows/System32/config/SOFTWARE"),
            ],
        )
        .ok();
        wims.push(path);
    }
    let ro = d.join("ro.wim");
    std::fs::copy(&wim, &ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();

    let two_s = two.to_str().unwrap();
    let ro_s = ro.to_str().unwrap();
    let dirty_s = wims[0].to_str().unwrap();
    let corrupt_s = wims[1].to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--wim", "notawim.wim", "--cert", root],
            "notawim.wim",
            "not a WIM",
        ),
        (
            vec!["--wim", "trunc.wim", "--cert", root],
            "trunc.wim",
            "trunc.wim",
        ),
        (
            vec!["--wim", w, "--index", "3", "--cert", root],
            "boot.wim",
            "image 3 does not exist",
        ),
        (
            vec!["--wim", two_s, "--index", "2", "--cert", root],
            "two.wim",
            "has no Windows",
        ),
        (
            vec!["--wim", corrupt_s, "--cert", root],
            "corrupt.wim",
            "not a valid registry hive",
        ),
        (vec!["--wim", dirty_s, "--cert", root], "dirty.wim", "dirty"),
        (
            vec!["--wim", w, "--cert", "garbage.pem"],
            "garbage.pem",
            "not a certificate",
        ),
        (
            vec!["--wim", w, "--cert", "garbage.cer"],
            "garbage.cer",
            "not a certificate",
        ),
        (
            vec!["--wim", w, "--cert", "mismatch.reg"],
            "mismatch.reg:3",
            "is not the SHA-1 of the certificate",
        ),
        (
            vec!["--wim", w, "--cert", "utf16be.reg"],
            "utf16be.reg",
            "big-endian",
        ),
        (
            vec!["--wim", w, "--cert", "junk.reg"],
            "junk.reg",
            "not text",
        ),
        (
            vec!["--wim", w, "--cert", "other.reg"],
            "other.reg",
            "not a certificate store export",
        ),
        (
            vec!["--wim", w, "--cert", "hkcu.reg"],
            "hkcu.reg:3",
            "not a machine certificate store",
        ),
        (vec!["--wim", ro_s, "--cert", root], "ro.wim", "read-only"),
        (
            vec!["--wim", "missing.wim", "--cert", root],
            "missing.wim",
            "missing.wim",
        ),
        (
            vec!["--wim", w, "--cert", "missing.pem"],
            "missing.pem",
            "missing.pem",
        ),
    ];
    let hashes: Vec<(PathBuf, String)> = [&wim, &two, &ro, &wims[0], &wims[1]]
        .iter()
        .map(|p| (p.to_path_buf(), sha256(p)))
        .collect();
    for (args, file, needle) in cases {
        let listing = dir_listing(d.path());
        let mut full = vec!["cert", "inject"];
        full.extend(&args);
        let r = d.peforge(&full).fails(2);
        let err = r.stderr.lines().find(|l| l.starts_with("error:")).unwrap();
        assert!(
            err.contains(file),
            "{full:?}: error does not name {file}: {err}"
        );
        assert!(err.contains(needle), "{full:?}: {err}");
        assert_eq!(dir_listing(d.path()), listing, "{full:?} left files behind");
        for (p, h) in &hashes {
            assert_eq!(&sha256(p), h, "{full:?} changed {}", p.display());
        }
    }
    assert_eq!(sha256(&wim), before);
    // The same errors for list/remove where they apply.
    d.peforge(&["cert", "list", "--wim", "notawim.wim"])
        .fails(2);
    d.peforge(&[
        "cert",
        "remove",
        "--wim",
        ro_s,
        "--thumbprint",
        &"A".repeat(40),
    ])
    .fails(2);
    let r = d
        .peforge(&["cert", "remove", "--wim", w, "--thumbprint", "xyz"])
        .fails(2);
    assert!(r.stderr.contains("\"xyz\""), "{}", r.stderr);
    // cert reg: bad input, no output left behind.
    let listing = dir_listing(d.path());
    let r = d
        .peforge(&["cert", "reg", "--cert", "garbage.pem", "-o", "out.reg"])
        .fails(2);
    assert!(r.stderr.contains("garbage.pem"), "{}", r.stderr);
    let r = d
        .peforge(&[
            "cert",
            "reg",
            "--cert",
            root,
            "--root-key",
            "HKEY_CURRENT_USER\\X",
            "-o",
            "out.reg",
        ])
        .fails(2);
    assert!(r.stderr.contains("HKEY_LOCAL_MACHINE"), "{}", r.stderr);
    assert_eq!(dir_listing(d.path()), listing);
    // wim info does not fail on a corrupt hive: it says why it cannot list certificates.
    let j = d.peforge(&["wim", "info", corrupt_s, "--json"]).ok().json();
    assert!(
        j["images"][0]["certificates_error"]
            .as_str()
            .unwrap()
            .contains("not a valid registry hive"),
        "{j}"
    );
    // --all-images skips the image without a hive and injects into image 1.
    let j = d
        .peforge(&[
            "cert",
            "inject",
            "--wim",
            two_s,
            "--all-images",
            "--cert",
            root,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(j["certificates"][0]["image"], 1);
}

#[test]
fn seed_procedure_reg_and_loose_hive_file() {
    let d = Dir::new();
    let p = pki(&d);
    let (thumb, der) = openssl_facts(&d, &p.root);
    // The .reg of the seed's step 1 (winpe-offline prefix), as `cert reg` writes it.
    let j = d
        .peforge(&[
            "cert",
            "reg",
            "--cert",
            p.root.to_str().unwrap(),
            "-o",
            "step1.reg",
            "--json",
        ])
        .ok()
        .json();
    let expected_key = format!(
        "HKEY_LOCAL_MACHINE\\winpe-offline\\Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\{thumb}"
    );
    assert_eq!(j["keys"][0]["key"], expected_key.as_str());
    let (k, blob) = reg_key_and_blob(&d.join("step1.reg"));
    assert_eq!(k, expected_key);
    assert_eq!(blob, minimal_blob(&thumb, &der));
    // The Microsoft Learn example shows a lower-case thumbprint: accepted with a warning, and
    // written under the upper-case name Windows uses.
    let lower = std::fs::read(d.join("step1.reg")).unwrap();
    let units: Vec<u16> = lower[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units)
        .unwrap()
        .replace(&thumb, &thumb.to_lowercase());
    std::fs::write(d.join("lower.reg"), utf16le_bom(&text)).unwrap();

    // Loose hive file target (the extracted SOFTWARE of the sample).
    let wim = d.sample_wim("boot.wim", false);
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let h = hive.to_str().unwrap();
    let r = d
        .peforge(&["cert", "inject", "--hive-file", h, "--cert", "lower.reg"])
        .ok();
    assert!(r.stderr.contains("not upper case"), "{}", r.stderr);
    assert_eq!(
        hivex_blob(&d, &hive, &key("AuthRoot", &thumb)),
        Some(minimal_blob(&thumb, &der))
    );
    assert_eq!(
        hivexsh_ls(
            &d,
            &hive,
            "Microsoft\\SystemCertificates\\AuthRoot\\Certificates"
        ),
        vec![thumb.clone()]
    );
    let r = d
        .peforge(&[
            "cert",
            "inject",
            "--hive-file",
            h,
            "--cert",
            "lower.reg",
            "--strict",
        ])
        .fails(2);
    assert!(r.stderr.contains("lower.reg:3"), "{}", r.stderr);
    let j = d
        .peforge(&["cert", "list", "--hive-file", h, "--json"])
        .ok()
        .json();
    assert_eq!(
        j["images"][0]["certificates"][0]["thumbprint"],
        thumb.as_str()
    );
}

#[test]
fn verify_reports_a_mismatched_entry() {
    // A hive entry whose key name is not the SHA-1 of its certificate (written with hivexregedit,
    // not peforge) is a finding: exit 1.
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let (_, blob) =
        reg_key_and_blob(&vectors().join("cert-reg/SYNTHETIC__ISRG_Root_X1__minimal.reg"));
    let hexs: Vec<String> = blob.iter().map(|b| format!("{b:02x}")).collect();
    let bad = "0000000000000000000000000000000000000000";
    let text = format!(
        "Windows Registry Editor Version 5.00\n\n[\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\{bad}]\n\"Blob\"=hex:{}\n",
        hexs.join(",")
    );
    std::fs::write(d.join("m.reg"), text).unwrap();
    d.tool(
        "hivexregedit",
        &["--merge", hive.to_str().unwrap(), "m.reg"],
    )
    .ok();
    let r = d.peforge(&["cert", "verify", "--hive-file", hive.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("is not the SHA-1 of the certificate"),
        "{}",
        r.stdout
    );
    let j = d
        .peforge(&[
            "cert",
            "list",
            "--hive-file",
            hive.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["images"][0]["certificates"][0]["valid"], false);
}

#[test]
fn lower_case_key_written_by_another_tool_is_replaced_by_the_upper_case_name() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let hive = d.wimextract(&wim, 1, SOFTWARE);
    let reg = vectors().join("cert-reg/SYNTHETIC__ISRG_Root_X1__minimal.reg");
    let (k, blob) = reg_key_and_blob(&reg);
    let thumb = k.rsplit('\\').next().unwrap().to_string();
    let hexs: Vec<String> = blob.iter().map(|b| format!("{b:02x}")).collect();
    let text = format!(
        "Windows Registry Editor Version 5.00\n\n[\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\{}]\n\"Blob\"=hex:{}\n",
        thumb.to_lowercase(),
        hexs.join(",")
    );
    std::fs::write(d.join("l.reg"), text).unwrap();
    d.tool(
        "hivexregedit",
        &["--merge", hive.to_str().unwrap(), "l.reg"],
    )
    .ok();
    let certs = "Microsoft\\SystemCertificates\\ROOT\\Certificates";
    assert_eq!(hivexsh_ls(&d, &hive, certs), vec![thumb.to_lowercase()]);
    let pem = vectors().join(format!("cert-reg/{thumb}.pem"));
    let j = d
        .peforge(&[
            "cert",
            "inject",
            "--hive-file",
            hive.to_str().unwrap(),
            "--cert",
            pem.to_str().unwrap(),
            "--store",
            "root",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(j["certificates"][0]["outcome"], "replaced");
    assert_eq!(hivexsh_ls(&d, &hive, certs), vec![thumb.clone()]);
    assert_eq!(hivex_blob(&d, &hive, &key("ROOT", &thumb)), Some(blob));
}
