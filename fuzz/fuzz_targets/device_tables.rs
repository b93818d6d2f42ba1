//! The mount table and swap list readers of `media devices`/`media write`
//! (`device::sysfs::parse_mountinfo`, `parse_swaps`, `parse_devnum`): no panic on any bytes, and
//! every line they accept yields the `major:minor` written in its third field.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peforge::device::sysfs::{parse_devnum, parse_mountinfo, parse_swaps};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for m in parse_mountinfo(&text) {
        let again = format!("1 1 {}:{} / /x rw - ext4 /dev/x rw", m.devnum.0, m.devnum.1);
        assert_eq!(parse_mountinfo(&again)[0].devnum, m.devnum);
    }
    let _ = parse_swaps(&text);
    let _ = parse_devnum(&text);
});
