//! The USB image / FAT reader (`media::usb::UsbReader` over `media::fat::FatVolume`): no panic
//! on any image (MBR with a FAT partition, or a bare FAT volume).
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use peforge::media::usb::UsbReader;

struct Capped(usize);
impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        if self.0 > 1 << 20 {
            return Err(std::io::Error::other("capped"));
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.img");
    std::fs::write(&path, data).unwrap();
    let Ok(r) = UsbReader::open(&path) else {
        return;
    };
    let _ = (r.label(), r.volume_id(), r.partitions());
    if let Ok(files) = r.files() {
        for f in files.iter().take(64) {
            let _ = r.copy_to(&f.path, &mut Capped(0));
        }
    }
});
