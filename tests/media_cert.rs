//! `peforge media build` without `--media-cert`: a new self-signed media certificate (spec §9
//! option (b)), checked with tools peforge did not write: python3 `cryptography` (Variables.dat
//! and the PFX with the GUID's first 31 characters), openssl (`pkcs12`, `verify`, `x509`).

mod common;

use std::path::Path;

use common::{Dir, py_var, sha256};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
const PASSWORD: &str = "Corr3ct-Horse!Battery";

/// The shared build arguments without `--media-cert` and its password file.
fn args<'a>(format: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut v = common::media_build_args(MP, format, out);
    let i = v.iter().position(|a| *a == "--media-cert").unwrap();
    v.drain(i..i + 4);
    v
}

fn fixture() -> Dir {
    let d = Dir::new();
    d.sample_wim("boot.wim", true);
    d.secret_file("media.pass", PASSWORD);
    d.media_pki("Contoso CMG Root", "unused-Pfx#1");
    d
}

/// Facts about the certificate in `pem`, read by python3 `cryptography`.
const CERT_PY: &str = r#"
import sys, json
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
c = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
eku = [o.dotted_string for o in c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
c.public_key().verify(c.signature, c.tbs_certificate_bytes, padding.PKCS1v15(), c.signature_hash_algorithm)
print(json.dumps({
    'bits': c.public_key().key_size, 'eku': eku, 'hash': c.signature_hash_algorithm.name,
    'subject': c.subject.rfc4514_string(), 'issuer': c.issuer.rfc4514_string(),
    'not_before': int(c.not_valid_before_utc.timestamp()), 'not_after': int(c.not_valid_after_utc.timestamp()),
}))
"#;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Writes the PFX of a Variables.dat's `_SMSTSMediaPFX` to `media-out.pfx` and returns the
/// media GUID.
fn extract_pfx(d: &Dir, vars_dat: &Path) -> String {
    let v = d.py_vars(vars_dat, PASSWORD);
    let guid = py_var(&v, "_SMSMediaGuid").unwrap().to_string();
    let pfx = hex::decode(py_var(&v, "_SMSTSMediaPFX").unwrap()).unwrap();
    std::fs::write(d.join("media-out.pfx"), pfx).unwrap();
    // python `cryptography` opened the PFX with the GUID's first 31 characters.
    assert_eq!(
        v["pfx_subject"].as_str(),
        Some("CN=SCCM Boot Media PS1"),
        "{v}"
    );
    guid
}

#[test]
fn build_without_media_cert_creates_a_registered_self_signed_identity() {
    let d = fixture();
    let r = d.peforge(&args("dir", "media")).ok();
    assert!(
        r.stderr.contains("self-signed media certificate")
            && r.stderr.contains("SubmitRegistrationRecord")
            && r.stderr.contains("PKI client certificate"),
        "{}",
        r.stderr
    );
    let guid = extract_pfx(&d, &d.join("media/SMS/data/Variables.dat"));
    let pass = format!("pass:{}", &guid[..31]);

    // openssl opens the PFX with the GUID's first 31 characters; certificate and key apart.
    d.tool(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "media-out.pfx",
            "-passin",
            &pass,
            "-nokeys",
            "-out",
            "cert.pem",
        ],
    )
    .ok();
    d.tool(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "media-out.pfx",
            "-passin",
            &pass,
            "-nocerts",
            "-nodes",
            "-out",
            "key.pem",
        ],
    )
    .ok();
    let info = d
        .tool(
            "openssl",
            &[
                "pkcs12",
                "-info",
                "-in",
                "media-out.pfx",
                "-passin",
                &pass,
                "-noout",
            ],
        )
        .ok();
    assert!(info.stderr.contains("MAC: sha1"), "{}", info.stderr);
    // Self-signed: it verifies against itself, for client use.
    let v = d
        .tool(
            "openssl",
            &[
                "verify",
                "-purpose",
                "sslclient",
                "-CAfile",
                "cert.pem",
                "cert.pem",
            ],
        )
        .ok();
    assert!(v.stdout.contains("cert.pem: OK"), "{}", v.stdout);
    // The key in the PFX is the certificate's.
    let m1 = d
        .tool(
            "openssl",
            &["x509", "-in", "cert.pem", "-noout", "-modulus"],
        )
        .ok();
    let m2 = d
        .tool("openssl", &["rsa", "-in", "key.pem", "-noout", "-modulus"])
        .ok();
    assert_eq!(m1.stdout, m2.stdout);

    std::fs::write(d.join("cert.py"), CERT_PY).unwrap();
    let c: serde_json::Value =
        serde_json::from_str(&d.tool("python3", &["cert.py", "cert.pem"]).ok().stdout).unwrap();
    assert_eq!(c["bits"], 2048);
    assert_eq!(c["hash"], "sha256");
    assert_eq!(c["eku"], serde_json::json!(["1.3.6.1.5.5.7.3.2"]));
    assert_eq!(c["subject"], c["issuer"]);
    let (nb, na) = (
        c["not_before"].as_i64().unwrap(),
        c["not_after"].as_i64().unwrap(),
    );
    assert!((nb - now()).abs() < 3600, "starts now: {nb}");
    assert_eq!(na - nb, 365 * 86_400, "one year");

    // Registration record beside the folder: the same certificate, no key, no password.
    let reg_path = d.join("media.media-cert-registration.json");
    let text = std::fs::read_to_string(&reg_path).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&reg_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }
    let reg: serde_json::Value = serde_json::from_str(&text).unwrap();
    let der = common::openssl_der(&d, &d.join("cert.pem"));
    assert_eq!(
        hex::decode(reg["Certificate"].as_str().unwrap()).unwrap(),
        der
    );
    assert_eq!(reg["SMSID"], guid.as_str());
    assert_eq!(reg["Type"], 1);
    assert_eq!(reg["KeyType"], 1);
    assert!(reg["inferred"].as_str().unwrap().contains("INFERRED"));
    let ps = reg["powershell"].to_string();
    assert!(ps.contains("Invoke-CimMethod") && ps.contains("SubmitRegistrationRecord"));
    let key_out = d.join("key.der");
    d.tool(
        "openssl",
        &[
            "pkey",
            "-in",
            "key.pem",
            "-outform",
            "DER",
            "-out",
            key_out.to_str().unwrap(),
        ],
    )
    .ok();
    let key_hex = hex::encode_upper(std::fs::read(&key_out).unwrap());
    let upper = text.to_ascii_uppercase();
    assert!(
        !upper.contains(&key_hex[key_hex.len() - 64..]),
        "key material"
    );
    assert!(!upper.contains("PRIVATE"), "{text}");
    assert!(
        !upper.contains(&hex::encode_upper(std::fs::read(d.join("media-out.pfx")).unwrap())[..64])
    );
    assert!(!text.contains(PASSWORD));
    // The manifest records the certificate but no media-cert input.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("peforge-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["media_certificate"]["subject"], "CN=SCCM Boot Media PS1");
    assert!(!m.to_string().contains(&guid));

    // --media-cert-days sets the validity.
    let mut a = args("dir", "media2");
    a.extend(["--media-cert-days", "30"]);
    d.peforge(&a).ok();
    let guid2 = extract_pfx(&d, &d.join("media2/SMS/data/Variables.dat"));
    let pass2 = format!("pass:{}", &guid2[..31]);
    d.tool(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "media-out.pfx",
            "-passin",
            &pass2,
            "-nokeys",
            "-out",
            "cert2.pem",
        ],
    )
    .ok();
    let c: serde_json::Value =
        serde_json::from_str(&d.tool("python3", &["cert.py", "cert2.pem"]).ok().stdout).unwrap();
    assert_eq!(
        c["not_after"].as_i64().unwrap() - c["not_before"].as_i64().unwrap(),
        30 * 86_400
    );
}

#[test]
fn reproducible_builds_derive_the_new_identity() {
    let d = fixture();
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    for out in ["a.iso", "b.iso"] {
        d.peforge_env(&args("iso", out), &env).ok();
    }
    assert_eq!(sha256(&d.join("a.iso")), sha256(&d.join("b.iso")));
    assert_eq!(
        std::fs::read(d.join("a.iso.media-cert-registration.json")).unwrap(),
        std::fs::read(d.join("b.iso.media-cert-registration.json")).unwrap()
    );
    // Without SOURCE_DATE_EPOCH the identity is new each time.
    d.peforge(&args("iso", "c.iso")).ok();
    let reg = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(n)).unwrap()).unwrap()
    };
    assert_ne!(
        reg("a.iso.media-cert-registration.json")["Certificate"],
        reg("c.iso.media-cert-registration.json")["Certificate"]
    );
    // The reproducible certificate starts at SOURCE_DATE_EPOCH.
    assert_eq!(
        reg("a.iso.media-cert-registration.json")["valid_from"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn profile_sets_the_validity_and_json_names_the_registration() {
    let d = fixture();
    std::fs::write(
        d.join("m.toml"),
        format!(
            "boot_wim = \"boot.wim\"\nmp = \"{MP}\"\nsite_code = \"PS1\"\npassword_file = \"media.pass\"\nmedia_cert_days = 10\nformat = \"dir\"\noutput = \"out\"\n"
        ),
    )
    .unwrap();
    let r = d
        .peforge(&["media", "build", "--profile", "m.toml", "--json"])
        .ok();
    let j = r.json();
    let reg_path = j["media_cert_registration"].as_str().unwrap();
    assert!(
        reg_path.ends_with("out.media-cert-registration.json"),
        "{j}"
    );
    let reg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("out.media-cert-registration.json")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("reg.der"),
        hex::decode(reg["Certificate"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    d.tool(
        "openssl",
        &[
            "x509", "-inform", "DER", "-in", "reg.der", "-out", "reg.pem",
        ],
    )
    .ok();
    std::fs::write(d.join("cert.py"), CERT_PY).unwrap();
    let c: serde_json::Value =
        serde_json::from_str(&d.tool("python3", &["cert.py", "reg.pem"]).ok().stdout).unwrap();
    assert_eq!(
        c["not_after"].as_i64().unwrap() - c["not_before"].as_i64().unwrap(),
        10 * 86_400
    );
    // Same certificate as in the medium's PFX.
    extract_pfx(&d, &d.join("out/SMS/data/Variables.dat"));
    let guid = reg["SMSID"].as_str().unwrap();
    let pass = format!("pass:{}", &guid[..31]);
    d.tool(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "media-out.pfx",
            "-passin",
            &pass,
            "-nokeys",
            "-out",
            "cert.pem",
        ],
    )
    .ok();
    assert_eq!(
        common::openssl_der(&d, &d.join("cert.pem")),
        std::fs::read(d.join("reg.der")).unwrap()
    );
}
