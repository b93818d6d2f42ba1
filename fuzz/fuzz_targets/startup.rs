//! winpeshl.ini and startnet.cmd editing (`driver::startup`): no panic; adding the hook then
//! removing it gives the same apps back (startnet.cmd: the same bytes), adding twice changes nothing, and the edited file
//! parses again with peforge's line first in `[LaunchApps]` / just before wpeinit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::driver::startup::{LAUNCH_LINE, STARTNET_LINE, Startnet, Winpeshl};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut w) = Winpeshl::parse(data) {
        let had = w.has_hook();
        let apps = w.apps();
        w.add_hook();
        let once = w.to_bytes();
        let mut back = Winpeshl::parse(&once).expect("edited winpeshl.ini unreadable");
        assert!(back.apps().iter().any(|a| a == LAUNCH_LINE));
        assert!(!back.add_hook());
        if !had {
            assert!(back.remove_hook());
            assert_eq!(back.apps(), apps);
        }
    }
    if let Ok(mut s) = Startnet::parse(data) {
        let had = s.has_hook();
        if let Ok(true) = s.add_hook() {
            let lines = s.lines();
            let at = lines.iter().position(|l| l == STARTNET_LINE).expect("line");
            assert!(lines.len() > at + 1);
            let mut back = Startnet::parse(&s.to_bytes()).expect("edited startnet unreadable");
            assert!(!back.add_hook().expect("still has wpeinit"));
            if !had {
                assert!(back.remove_hook());
                assert_eq!(back.to_bytes(), data);
            }
        }
    }
});
