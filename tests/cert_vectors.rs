//! Certificate store blobs against the real Windows-written vectors of
//! `../shared/vectors/cert-reg` (spec `cert-store-blob.md` §9): property computation, the
//! `.reg` writer byte for byte, and `peforge cert reg`.

mod common;
use common::{Dir, vectors};

use std::path::{Path, PathBuf};

use peforge::cert::blob::{Blob, prop};
use peforge::cert::{CertInfo, Profile, RegRoots, load};

fn cert_reg_dir() -> PathBuf {
    vectors().join("cert-reg")
}

fn files(ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cert_reg_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .{ext} vectors");
    v
}

/// The key name (last component) and the Blob bytes of a `.reg`, taken without peforge.
fn blob_of_reg_independently(path: &Path) -> (String, Vec<u8>) {
    let (key, blob) = common::reg_key_and_blob(path);
    let name = key.rsplit('\\').next().unwrap().to_string();
    (name, blob)
}

#[test]
fn pem_vectors_thumbprints_match_file_names_and_openssl() {
    let d = Dir::new();
    for pem in files("pem") {
        let loaded = load::load(&pem).unwrap();
        assert_eq!(loaded.len(), 1);
        let stem = pem.file_stem().unwrap().to_str().unwrap();
        assert_eq!(loaded[0].info.thumbprint, stem, "{}", pem.display());
        // openssl's DER is the same bytes, and its SHA-1 fingerprint is the thumbprint.
        assert_eq!(common::openssl_der(&d, &pem), loaded[0].info.der);
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
        assert_eq!(
            fp.trim().rsplit('=').next().unwrap().replace(':', ""),
            stem,
            "{fp}"
        );
    }
}

#[test]
fn every_real_blob_property_is_recomputed_exactly() {
    let mut checked = 0;
    for reg in files("reg") {
        let (key_name, real) = blob_of_reg_independently(&reg);
        let (blob, warnings) = Blob::parse(&real).unwrap();
        assert!(warnings.is_empty(), "{}: {warnings:?}", reg.display());
        let info = CertInfo::from_der(blob.certificate()).unwrap();
        assert_eq!(info.thumbprint, key_name, "{}", reg.display());
        // The certificate in the blob is the PEM vector of the same name.
        let pem = cert_reg_dir().join(format!("{key_name}.pem"));
        assert_eq!(load::load(&pem).unwrap()[0].info.der, info.der);
        for r in &blob.records {
            if [prop::CERTIFICATE, 0x18, 0x59, 0x4B].contains(&r.id) {
                continue;
            }
            let ours = info
                .property(r.id)
                .unwrap_or_else(|| panic!("{}: cannot compute 0x{:02X}", reg.display(), r.id));
            assert_eq!(ours, r.data, "{}: property 0x{:02X}", reg.display(), r.id);
            checked += 1;
        }
        // Our default blob carries the same 0x03 and 0x20 as the real one.
        let ours = Blob::build(&info, Profile::default()).unwrap();
        assert_eq!(ours.ids(), vec![0x03, 0x20]);
        if let Some(p03) = blob.get(0x03) {
            assert_eq!(ours.get(0x03), Some(p03));
        }
        assert_eq!(ours.get(0x20), blob.get(0x20));
        // And our reader agrees with the independent extraction.
        let loaded = load::load_with(&reg, RegRoots::Any).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].reg.as_ref().unwrap().blob, real);
    }
    assert!(checked >= 40, "only {checked} properties checked");
}

#[test]
fn sha1_of_real_blobs_certificate_equals_real_0x03() {
    for reg in files("reg") {
        let (_, real) = blob_of_reg_independently(&reg);
        let (blob, _) = Blob::parse(&real).unwrap();
        let info = CertInfo::from_der(blob.certificate()).unwrap();
        let ours = Blob::build(&info, Profile::Minimal).unwrap();
        if let Some(p03) = blob.get(prop::SHA1_HASH) {
            assert_eq!(ours.get(prop::SHA1_HASH).unwrap(), p03, "{}", reg.display());
        }
    }
}

fn cert_reg(d: &Dir, pem: &str, profile: &str, store: &str, root: &str) -> Vec<u8> {
    let pem = cert_reg_dir().join(pem);
    d.peforge(&[
        "cert",
        "reg",
        "--cert",
        pem.to_str().unwrap(),
        "--store",
        store,
        "--profile",
        profile,
        "--root-key",
        root,
        "-o",
        "out.reg",
    ])
    .ok();
    std::fs::read(d.join("out.reg")).unwrap()
}

#[test]
fn cert_reg_reproduces_real_windows_exports_byte_for_byte() {
    let d = Dir::new();
    let hklm = "HKEY_LOCAL_MACHINE\\SOFTWARE";
    for (reg, pem, profile) in [
        (
            "RealTenzo-RealTenzo__cert.reg",
            "50E8E66831E80168D79A7969ECA005A323740371.pem",
            "windows",
        ),
        (
            "BengbuGuards-MythwareToolkit__RootCA.reg",
            "B759697225BF14DA7F67596D9A687058C4EBAC60.pem",
            "legacy",
        ),
        (
            "SYNTHETIC__ISRG_Root_X1__minimal.reg",
            "CABD2A79A1076A31F21D253635CB039D4329A5E8.pem",
            "minimal",
        ),
        (
            "SYNTHETIC__ISRG_Root_X1__full.reg",
            "CABD2A79A1076A31F21D253635CB039D4329A5E8.pem",
            "windows",
        ),
        (
            "SYNTHETIC__DigiCert_Global_Root_G2__minimal.reg",
            "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4.pem",
            "minimal",
        ),
        (
            "SYNTHETIC__DigiCert_Global_Root_G2__full.reg",
            "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4.pem",
            "windows",
        ),
    ] {
        let expected = std::fs::read(cert_reg_dir().join(reg)).unwrap();
        let got = cert_reg(&d, pem, profile, "root", hklm);
        assert!(got == expected, "{reg}: cert reg output differs");
    }
}

#[test]
fn cert_reg_winpe_offline_prefix_changes_only_the_key_path() {
    let d = Dir::new();
    let got = cert_reg(
        &d,
        "50E8E66831E80168D79A7969ECA005A323740371.pem",
        "windows",
        "authroot",
        "HKEY_LOCAL_MACHINE\\winpe-offline",
    );
    let real = std::fs::read(cert_reg_dir().join("RealTenzo-RealTenzo__cert.reg")).unwrap();
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let from = utf16("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\");
    let to = utf16("HKEY_LOCAL_MACHINE\\winpe-offline\\Microsoft\\SystemCertificates\\AuthRoot\\");
    let pos = real.windows(from.len()).position(|w| w == from).unwrap();
    let mut expected = real[..pos].to_vec();
    expected.extend(&to);
    expected.extend(&real[pos + from.len()..]);
    assert!(
        got == expected,
        "winpe-offline export differs from the rewritten real export"
    );
    // The default --root-key is the seed's winpe-offline and the default store AuthRoot.
    let pem = cert_reg_dir().join("50E8E66831E80168D79A7969ECA005A323740371.pem");
    d.peforge(&[
        "cert",
        "reg",
        "--cert",
        pem.to_str().unwrap(),
        "--profile",
        "windows",
        "-o",
        "default.reg",
    ])
    .ok();
    assert!(std::fs::read(d.join("default.reg")).unwrap() == expected);
}

#[test]
fn reg_writer_round_trips_every_vector_export() {
    // Reading a UTF-16 regedit export and writing it again gives the same bytes.
    for reg in files("reg") {
        let bytes = std::fs::read(&reg).unwrap();
        if !bytes.starts_with(&[0xFF, 0xFE]) {
            continue;
        }
        let f = peforge::registry::reg::parse(&bytes, &reg).unwrap();
        assert!(
            peforge::registry::reg::write(&f) == bytes,
            "{}: rewrite differs",
            reg.display()
        );
    }
}
