//! The ISO 9660/Joliet/El Torito reader (`media::iso::IsoReader`): no panic on any image; the
//! files of an image it reads are written again with `media::iso::write` and read back equal.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use peforge::media::iso::{self, IsoReader};
use peforge::media::{FileSource, MediaTree};
use peforge::progress::Silent;

/// Refuses more than 1 MiB so a damaged size cannot make a run copy gigabytes.
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
    let path = dir.path().join("fuzz.iso");
    std::fs::write(&path, data).unwrap();
    let Ok(r) = IsoReader::open(&path) else {
        return;
    };
    let _ = r.boot_entries();
    let mut tree = MediaTree {
        label: r.label().to_string(),
        ..Default::default()
    };
    for f in r.files().iter().take(64) {
        let _ = r.copy_to(&f.path, &mut Capped(0));
        if f.size <= 4096
            && let Ok(b) = r.read(&f.path)
        {
            tree.insert(&f.path, FileSource::Bytes(b));
        }
    }
    // Round trip: what was read is written and read back the same (names the writer accepts).
    let out = dir.path().join("again.iso");
    if iso::write(&tree, &out, &Silent).is_ok() {
        let back = IsoReader::open(&out).expect("written ISO unreadable");
        for (p, src) in &tree.files {
            let FileSource::Bytes(b) = src else { continue };
            assert_eq!(&back.read(p).expect("file lost"), b, "{p}");
        }
    }
});
