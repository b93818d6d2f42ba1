//! The media PFX (`media::pfx::open`: PKCS#12 DER, MAC, PBE decryption) with the password of
//! the seed generator (`PEFORGE_FUZZ_PASSWORD` overrides it): no panic; open → write → open
//! keeps the certificate.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::media::pfx;

fuzz_target!(|data: &[u8]| {
    let pw = std::env::var("PEFORGE_FUZZ_PASSWORD").unwrap_or_else(|_| "Pfx!Pass1".into());
    let Ok(c) = pfx::open(data, &pw, "media.pfx") else {
        return;
    };
    let out = c
        .write(&pw, &pfx::SaltSource::Derived([7; 32]))
        .expect("re-protect");
    let back = pfx::open(&out, &pw, "again.pfx").expect("written PFX unreadable");
    assert_eq!(
        c.cert_info().map(|i| i.thumbprint),
        back.cert_info().map(|i| i.thumbprint)
    );
});
