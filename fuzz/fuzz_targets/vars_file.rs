//! `Variables.dat` container (`media::vars::open`, header, AES/3DES, padding) with the password
//! the seed generator uses (`PEFORGE_FUZZ_PASSWORD` overrides it): no panic; open → encrypt →
//! open gives the same cipher, trailer and variables (the lengths change when the writer
//! normalises the text, e.g. single-quoted attributes; they are compared when it does not).
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::media::vars;

fn password() -> String {
    std::env::var("PEFORGE_FUZZ_PASSWORD").unwrap_or_else(|_| "Robust!Pass1".into())
}

fuzz_target!(|data: &[u8]| {
    let _ = vars::read_header(data, "Variables.dat");
    let pw = password();
    for pw in [pw.as_str(), vars::DEFAULT_PASSWORD] {
        let Ok(v) = vars::open(data, pw, "Variables.dat") else {
            continue;
        };
        let again = v.encrypt(pw).expect("re-encrypt");
        let back = vars::open(&again, pw, "Variables.dat").expect("rewritten file unreadable");
        assert_eq!(back.header.cipher, v.header.cipher);
        assert_eq!(back.header.trailer, v.header.trailer);
        let (_, plain) = vars::decrypt(data, pw, "Variables.dat").expect("decrypts again");
        if *v.list.to_plaintext() == *plain {
            assert_eq!(back.header, v.header);
            assert_eq!(again, data, "an unchanged list is rewritten byte for byte");
        }
        assert_eq!(back.list.names(), v.list.names());
        for n in v.list.names() {
            assert_eq!(back.list.get(&n), v.list.get(&n));
        }
    }
});
