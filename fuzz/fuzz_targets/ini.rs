//! `TsmBootstrap.ini` (`media::ini::TsmBootstrapIni`): no panic; parse → to_bytes → parse keeps
//! the entries and the bytes, also after a `set`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::media::ini::TsmBootstrapIni;

fuzz_target!(|data: &[u8]| {
    let Ok(mut ini) = TsmBootstrapIni::parse(data, "TsmBootstrap.ini") else {
        return;
    };
    let out = ini.to_bytes();
    let back = TsmBootstrapIni::parse(&out, "TsmBootstrap.ini").expect("rewrite unreadable");
    assert_eq!(back.entries(), ini.entries());
    assert_eq!(back.to_bytes(), out);
    ini.set("PasswordRequired", "true");
    let set = TsmBootstrapIni::parse(&ini.to_bytes(), "TsmBootstrap.ini").expect("set unreadable");
    assert_eq!(set.get("PasswordRequired"), Some("true"));
});
