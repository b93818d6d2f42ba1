//! The pasted `CCMSETUPCMD` / ccmsetup line (`client::CommandLine::parse` + `validate`): no
//! panic; a line that validates comes back equal from both emitters (ccmsetup and Intune).
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::client::CommandLine;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let Ok(mut c) = CommandLine::parse(&line) else {
        return;
    };
    if c.validate().is_err() {
        let _ = c.to_intune();
        let _ = c.to_ccmsetup();
        return;
    }
    let mut emitted = vec![c.to_ccmsetup()];
    emitted.extend(c.to_intune().ok());
    for out in emitted {
        let mut back = CommandLine::parse(&out).expect("emitted line unreadable");
        back.validate().expect("emitted line invalid");
        assert_eq!(back, c, "{out}");
    }
});
