//! ISO writer and reader, checked with tools peforge did not write: xorriso (El Torito report,
//! and as an independent ISO writer for our reader), bsdtar (listing and extraction), isoinfo
//! (Joliet and primary listings, volume descriptor).
mod common;

use common::{Dir, assert_tree_equals_dir, sha256, source_bytes};
use peforge::media::{self, ContainerError, FileSource, iso};
use peforge::progress::Silent;

/// `El Torito boot img :   1  BIOS  y   none  0x0000  0x00      8          37` →
/// (platform, load size, LBA).
fn xorriso_boot_entries(
    dir: &Dir,
    iso: &std::path::Path,
) -> (Vec<(String, u32, u32)>, Vec<String>) {
    let run = dir
        .tool(
            "xorriso",
            &[
                "-indev",
                iso.to_str().unwrap(),
                "-report_el_torito",
                "plain",
            ],
        )
        .ok();
    let mut entries = Vec::new();
    let mut paths = Vec::new();
    for line in run.stdout.lines() {
        if let Some(rest) = line.strip_prefix("El Torito boot img :") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            entries.push((
                f[1].to_string(),
                f[6].parse().unwrap(),
                f[7].parse().unwrap(),
            ));
        }
        if let Some(rest) = line.strip_prefix("El Torito img path :") {
            paths.push(rest.split_whitespace().nth(1).unwrap().to_string());
        }
    }
    (entries, paths)
}

#[test]
fn iso_boot_catalog_as_xorriso_reports_it() {
    let d = Dir::new();
    let tree = d.media_tree();
    let out = d.join("media.iso");
    let summary = iso::write(&tree, &out, &Silent).unwrap();
    let (entries, paths) = xorriso_boot_entries(&d, &out);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!((entries[0].0.as_str(), entries[0].1), ("BIOS", 8));
    // efisys.bin is a 1,474,560-byte floppy image: 2880 virtual sectors, as xorriso writes.
    assert_eq!((entries[1].0.as_str(), entries[1].1), ("UEFI", 2880));
    assert_eq!(
        paths,
        ["/boot/etfsboot.com", "/efi/microsoft/boot/efisys.bin"]
    );
    // Our reader agrees with xorriso on every field.
    let r = iso::IsoReader::open(&out).unwrap();
    let ours = r.boot_entries().unwrap();
    assert_eq!(ours, summary.boot_entries);
    for (o, x) in ours.iter().zip(&entries) {
        assert_eq!(o.platform_name(), x.0);
        assert_eq!(u32::from(o.sector_count), x.1);
        assert_eq!(o.load_rba, x.2);
        assert!(o.bootable);
        assert_eq!(o.media_type, 0);
    }
    assert_eq!(ours[0].image.as_deref(), Some("boot/etfsboot.com"));
    assert_eq!(
        ours[1].image.as_deref(),
        Some("efi/microsoft/boot/efisys.bin")
    );
}

#[test]
fn iso_files_extracted_by_bsdtar_equal_the_tree() {
    let d = Dir::new();
    let tree = d.media_tree();
    let out = d.join("media.iso");
    iso::write(&tree, &out, &Silent).unwrap();
    let list = d.tool("bsdtar", &["-tf", out.to_str().unwrap()]).ok();
    for path in tree.files.keys() {
        assert!(
            list.stdout.lines().any(|l| l == path),
            "bsdtar -tf lacks {path}:\n{}",
            list.stdout
        );
    }
    let x = d.join("x");
    std::fs::create_dir(&x).unwrap();
    d.tool(
        "bsdtar",
        &["-xf", out.to_str().unwrap(), "-C", x.to_str().unwrap()],
    )
    .ok();
    assert_tree_equals_dir(&tree, &x, "bsdtar -xf");
}

#[test]
fn iso_listings_by_isoinfo() {
    let d = Dir::new();
    let tree = d.media_tree();
    let out = d.join("media.iso");
    iso::write(&tree, &out, &Silent).unwrap();
    let o = out.to_str().unwrap();
    let pvd = d.tool("isoinfo", &["-d", "-i", o]).ok();
    assert!(
        pvd.stdout.contains("Volume id: CONFIGURATION MANAGER"),
        "{}",
        pvd.stdout
    );
    assert!(
        pvd.stdout.contains("Joliet with UCS level 3 found"),
        "{}",
        pvd.stdout
    );
    assert!(
        pvd.stdout.contains("El Torito VD version 1 found"),
        "{}",
        pvd.stdout
    );
    let joliet = d.tool("isoinfo", &["-J", "-l", "-i", o]).ok();
    for name in [
        "efisys_noprompt.bin",
        "segoe_slboot_long_file_name.ttf",
        "TsmBootstrap.ini",
        "file-119-with-a-rather-long-name.txt",
    ] {
        assert!(
            joliet.stdout.contains(name),
            "isoinfo -J lacks {name}:\n{}",
            joliet.stdout
        );
    }
    // Every file, with its size, through the Joliet file extraction of isoinfo.
    for (path, src) in &tree.files {
        // isoinfo converts Joliet names to a single-byte charset: ask for Latin-1.
        use std::os::unix::ffi::OsStrExt;
        let latin1: Vec<u8> = format!("/{path}")
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        let got = std::process::Command::new("isoinfo")
            .args(["-J", "-j", "iso8859-1", "-i", o, "-x"])
            .arg(std::ffi::OsStr::from_bytes(&latin1))
            .output()
            .unwrap();
        assert!(
            got.stdout == source_bytes(src),
            "isoinfo -x /{path} differs"
        );
    }
    // The primary hierarchy is level 1 (8.3, upper case) with unique names.
    let primary = d.tool("isoinfo", &["-l", "-i", o]).ok();
    for name in [
        "EFISYS_N.BIN;1",
        "EFISYS.BIN;1",
        "BOOTMGR.;1",
        "ETFSBOOT.COM;1",
        "MICROSOF",
    ] {
        assert!(
            primary.stdout.contains(name),
            "isoinfo -l lacks {name}:\n{}",
            primary.stdout
        );
    }
}

#[test]
fn iso_is_reproducible_and_depends_on_mtime() {
    let d = Dir::new();
    let mut tree = d.media_tree();
    let a = d.join("a.iso");
    let b = d.join("b.iso");
    iso::write(&tree, &a, &Silent).unwrap();
    iso::write(&tree, &b, &Silent).unwrap();
    assert_eq!(sha256(&a), sha256(&b));
    tree.mtime += 3600;
    let c = d.join("c.iso");
    iso::write(&tree, &c, &Silent).unwrap();
    assert_ne!(sha256(&a), sha256(&c));
    // The recorded date is the tree's mtime (2023-11-14 22:13:20 UTC, plus one hour here).
    let pvd = d
        .tool("xorriso", &["-indev", c.to_str().unwrap(), "-pvd_info"])
        .ok();
    assert!(
        pvd.stdout.contains("Creation Time: 2023111423132000"),
        "{}",
        pvd.stdout
    );
    // Files carry it too (bsdtar's verbose listing, UTC).
    let list = std::process::Command::new("bsdtar")
        .args(["-tvf", c.to_str().unwrap(), "bootmgr"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("Nov 14  2023"),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
}

#[test]
fn reader_reads_an_iso_made_by_xorriso_from_the_folder_writer() {
    let d = Dir::new();
    let tree = d.media_tree();
    let folder = d.join("folder");
    let summary = media::write_dir(&tree, &folder, &Silent).unwrap();
    assert_eq!(summary.files, tree.files.len());
    assert_tree_equals_dir(&tree, &folder, "write_dir");
    let x = d.join("x.iso");
    d.tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-J",
            "-joliet-long",
            "-V",
            "XORRISO",
            "-o",
            x.to_str().unwrap(),
            "-b",
            "boot/etfsboot.com",
            "-no-emul-boot",
            "-boot-load-size",
            "8",
            "-eltorito-alt-boot",
            "-e",
            "efi/microsoft/boot/efisys.bin",
            "-no-emul-boot",
            folder.to_str().unwrap(),
        ],
    )
    .ok();
    let r = iso::IsoReader::open(&x).unwrap();
    assert!(r.is_joliet());
    assert_eq!(r.label(), "XORRISO");
    let mut names: Vec<String> = r.files().iter().map(|f| f.path.clone()).collect();
    // xorriso adds its boot catalog as a file.
    names.retain(|n| n != "boot.catalog");
    let mut want: Vec<String> = tree.files.keys().cloned().collect();
    want.sort();
    names.sort();
    assert_eq!(names, want);
    for (path, src) in &tree.files {
        assert!(r.read(path).unwrap() == source_bytes(src), "{path}");
    }
    let e = r.boot_entries().unwrap();
    assert_eq!(
        e.iter().map(|e| e.platform).collect::<Vec<_>>(),
        [0x00, 0xEF]
    );
    assert_eq!(e[0].sector_count, 8);
    assert_eq!(e[0].image.as_deref(), Some("boot/etfsboot.com"));
    assert_eq!(e[1].image.as_deref(), Some("efi/microsoft/boot/efisys.bin"));
    // Case-insensitive lookups with backslashes, as Windows paths come.
    assert_eq!(
        r.read("\\EFI\\BOOT\\BOOTX64.EFI").unwrap(),
        source_bytes(&tree.files["efi/boot/bootx64.efi"])
    );
}

#[test]
fn write_dir_refuses_a_non_empty_target_and_is_reproducible() {
    let d = Dir::new();
    let tree = d.media_tree();
    let a = d.join("a");
    std::fs::create_dir(&a).unwrap();
    std::fs::write(a.join("keep.txt"), b"user data").unwrap();
    let err = media::write_dir(&tree, &a, &Silent).unwrap_err();
    assert!(matches!(err, ContainerError::BadTarget { .. }), "{err}");
    assert_eq!(std::fs::read(a.join("keep.txt")).unwrap(), b"user data");
    let b = d.join("b");
    media::write_dir(&tree, &b, &Silent).unwrap();
    // Timestamps come from the tree: `stat` (not peforge) reads them back.
    let st = d
        .tool(
            "stat",
            &["-c", "%Y", b.join("sources/boot.wim").to_str().unwrap()],
        )
        .ok();
    assert_eq!(st.stdout.trim(), "1700000000");
}

fn leftovers(d: &Dir) -> Vec<String> {
    std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".peforge-"))
        .collect()
}

#[test]
fn iso_refuses_a_file_of_4_gib_with_the_fix() {
    let d = Dir::new();
    let big = d.join("install.wim");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let mut tree = media::MediaTree::default();
    tree.insert("sources/install.wim", FileSource::Local(big));
    let out = d.join("big.iso");
    let err = iso::write(&tree, &out, &Silent).unwrap_err();
    assert!(
        matches!(err, ContainerError::FileTooLarge { size, .. } if size == 4 << 30),
        "{err}"
    );
    assert!(err.to_string().contains("sources/install.wim"), "{err}");
    assert!(err.hint().unwrap().contains("split"), "{:?}", err.hint());
    assert!(!out.exists());
    assert!(leftovers(&d).is_empty());
}

#[test]
fn iso_refuses_a_missing_or_empty_boot_image_and_bad_names() {
    let d = Dir::new();
    let out = d.join("x.iso");
    let mut tree = media::MediaTree::default();
    tree.insert("a.txt", FileSource::Bytes(b"a".to_vec()));
    tree.boot.bios = Some("boot/etfsboot.com".into());
    let err = iso::write(&tree, &out, &Silent).unwrap_err();
    assert!(
        matches!(err, ContainerError::BootImageMissing { .. }),
        "{err}"
    );
    tree.insert("boot/etfsboot.com", FileSource::Bytes(Vec::new()));
    let err = iso::write(&tree, &out, &Silent).unwrap_err();
    assert!(
        matches!(err, ContainerError::BootImageEmpty { .. }),
        "{err}"
    );
    let mut tree = media::MediaTree::default();
    tree.insert("a/b?.txt", FileSource::Bytes(b"a".to_vec()));
    let err = iso::write(&tree, &out, &Silent).unwrap_err();
    assert!(matches!(err, ContainerError::BadName { .. }), "{err}");
    let mut tree = media::MediaTree::default();
    tree.insert(
        &format!("{}.txt", "n".repeat(70)),
        FileSource::Bytes(b"a".to_vec()),
    );
    let err = iso::write(&tree, &out, &Silent).unwrap_err();
    assert!(err.to_string().contains("64 characters"), "{err}");
    assert!(!out.exists());
    assert!(leftovers(&d).is_empty());
}

#[test]
fn iso_without_boot_images_is_a_plain_data_iso() {
    let d = Dir::new();
    let mut tree = media::MediaTree::default();
    tree.insert("readme.txt", FileSource::Bytes(b"hello".to_vec()));
    let out = d.join("data.iso");
    let s = iso::write(&tree, &out, &Silent).unwrap();
    assert!(s.boot_entries.is_empty());
    let rep = d
        .tool(
            "xorriso",
            &[
                "-indev",
                out.to_str().unwrap(),
                "-report_el_torito",
                "plain",
            ],
        )
        .ok();
    assert!(!rep.stdout.contains("El Torito boot img"), "{}", rep.stdout);
    let cat = d
        .tool("bsdtar", &["-xOf", out.to_str().unwrap(), "readme.txt"])
        .ok();
    assert_eq!(cat.stdout, "hello");
}

#[test]
fn reader_rejects_damaged_images() {
    let d = Dir::new();
    let junk = d.join("junk.iso");
    std::fs::write(&junk, vec![0u8; 40 * 2048]).unwrap();
    let err = iso::IsoReader::open(&junk).unwrap_err();
    assert!(matches!(err, ContainerError::Malformed { .. }), "{err}");
    // A real ISO cut short: descriptors are there, directories are not.
    let mut tree = media::MediaTree::default();
    tree.insert("a.bin", FileSource::Bytes(vec![7; 100_000]));
    let ok = d.join("ok.iso");
    iso::write(&tree, &ok, &Silent).unwrap();
    let bytes = std::fs::read(&ok).unwrap();
    let cut = d.join("cut.iso");
    std::fs::write(&cut, &bytes[..21 * 2048]).unwrap();
    let err = iso::IsoReader::open(&cut).unwrap_err();
    assert!(err.to_string().contains("cut.iso"), "{err}");
    assert!(matches!(err, ContainerError::Malformed { .. }), "{err}");
}

#[test]
fn path_table_agrees_with_directory_records_per_isoinfo() {
    let d = Dir::new();
    let out = d.join("media.iso");
    iso::write(&d.media_tree(), &out, &Silent).unwrap();
    let o = out.to_str().unwrap();
    // Directory records: "Directory listing of /EFI/BOOT/" then the "." entry "[     45 02]  .".
    let listing = d.tool("isoinfo", &["-l", "-i", o]).ok();
    let mut from_records = std::collections::BTreeMap::new();
    let mut current = String::new();
    for line in listing.stdout.lines() {
        if let Some(p) = line.strip_prefix("Directory listing of ") {
            current = p.trim_end_matches('/').to_string();
        } else if line.trim_end().ends_with("]  .") {
            let inside = line.split('[').nth(1).unwrap().split(']').next().unwrap();
            let lba: u32 = inside.split_whitespace().next().unwrap().parse().unwrap();
            from_records.insert(
                if current.is_empty() {
                    "/".to_string()
                } else {
                    current.clone()
                },
                lba,
            );
        }
    }
    // Path table: "   9:    3 23 A" = number, parent number, extent (hex), name.
    let table = d.tool("isoinfo", &["-p", "-i", o]).ok();
    let mut paths: Vec<String> = Vec::new();
    let mut from_table = std::collections::BTreeMap::new();
    for line in table.stdout.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let parent: usize = f[1].parse().unwrap();
        let lba = u32::from_str_radix(f[2], 16).unwrap();
        let path = match f.get(3) {
            None => "/".to_string(),
            Some(name) if parent == 1 => format!("/{name}"),
            Some(name) => format!("{}/{name}", paths[parent - 1]),
        };
        paths.push(path.clone());
        from_table.insert(path, lba);
    }
    assert_eq!(from_table, from_records);
    assert!(from_table.len() > 10, "{from_table:?}");
}

#[test]
fn reader_survives_corrupted_images() {
    let d = Dir::new();
    let tree = d.media_tree();
    let good = d.join("good.iso");
    iso::write(&tree, &good, &Silent).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = d.join("bad.iso");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..300 {
        let mut b = bytes.clone();
        // Damage the metadata area (descriptors, catalog, path tables, directories).
        for _ in 0..1 + round % 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = 16 * 2048 + (x % (60 * 2048)) as usize;
            b[at] ^= (x >> 32) as u8 | 1;
        }
        std::fs::write(&bad, &b).unwrap();
        // Any result but a panic: errors are fine, so is a readable image.
        if let Ok(r) = iso::IsoReader::open(&bad) {
            let _ = r.boot_entries();
            for f in r.files().iter().take(5) {
                let _ = r.read(&f.path);
            }
        }
    }
}

#[test]
fn uefi_only_iso_has_one_uefi_initial_entry() {
    // ARM64-style media: `-bootdata:1#pEF,e,b<efisys.bin>`.
    let d = Dir::new();
    let mut tree = d.media_tree();
    tree.boot.bios = None;
    let out = d.join("uefi.iso");
    iso::write(&tree, &out, &Silent).unwrap();
    let (entries, paths) = xorriso_boot_entries(&d, &out);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!((entries[0].0.as_str(), entries[0].1), ("UEFI", 2880));
    assert_eq!(paths, ["/efi/microsoft/boot/efisys.bin"]);
    d.qemu_boot(
        &["-bios", common::ovmf(), "-cdrom", out.to_str().unwrap()],
        common::UEFI_MARKER,
        std::time::Duration::from_secs(90),
    );
}

#[test]
fn iso_refuses_more_than_eight_directory_levels() {
    let d = Dir::new();
    let mut tree = media::MediaTree::default();
    tree.insert(
        "1/2/3/4/5/6/7/ok.txt",
        FileSource::Bytes(b"7 levels below the root".to_vec()),
    );
    iso::write(&tree, &d.join("ok.iso"), &Silent).unwrap();
    tree.insert(
        "1/2/3/4/5/6/7/8/deep.txt",
        FileSource::Bytes(b"too deep".to_vec()),
    );
    let err = iso::write(&tree, &d.join("deep.iso"), &Silent).unwrap_err();
    assert!(
        matches!(
            err,
            ContainerError::TooDeep {
                depth: 9,
                limit: 8,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("1/2/3/4/5/6/7/8"), "{err}");
}

/// Records progress calls.
#[derive(Default)]
struct Recorder {
    total: std::cell::Cell<Option<u64>>,
    done: std::cell::Cell<u64>,
    finished: std::cell::Cell<bool>,
}

impl peforge::progress::Progress for Recorder {
    fn start(&self, _what: &str, total: Option<u64>) {
        self.total.set(total);
    }
    fn advance(&self, bytes: u64) {
        self.done.set(self.done.get() + bytes);
    }
    fn finish(&self) {
        self.finished.set(true);
    }
}

#[test]
fn progress_covers_every_content_byte() {
    let d = Dir::new();
    let tree = d.media_tree();
    let sum: u64 = tree
        .files
        .values()
        .map(|s| source_bytes(s).len() as u64)
        .sum();
    for kind in ["iso", "usb", "dir"] {
        let p = Recorder::default();
        let out = d.join(&format!("p.{kind}"));
        match kind {
            "iso" => drop(iso::write(&tree, &out, &p).unwrap()),
            "usb" => drop(media::usb::write(&tree, &out, &p).unwrap()),
            _ => drop(media::write_dir(&tree, &out, &p).unwrap()),
        }
        assert_eq!(p.total.get(), Some(sum), "{kind}");
        assert_eq!(p.done.get(), sum, "{kind}");
        assert!(p.finished.get(), "{kind}");
    }
}

#[test]
fn directory_spellings_merge_in_every_container() {
    // The builder may add `EFI/BOOT/...` and `efi/microsoft/...`: one `EFI` folder on media.
    let d = Dir::new();
    let mut tree = media::MediaTree::default();
    tree.insert("EFI/BOOT/BOOTX64.EFI", FileSource::Bytes(b"x".to_vec()));
    tree.insert("efi/microsoft/boot/BCD", FileSource::Bytes(b"bcd".to_vec()));
    let folder = d.join("f");
    media::write_dir(&tree, &folder, &Silent).unwrap();
    assert_eq!(
        common::list_files(&folder),
        ["EFI/BOOT/BOOTX64.EFI", "EFI/microsoft/boot/BCD"]
    );
    let out = d.join("m.iso");
    iso::write(&tree, &out, &Silent).unwrap();
    let list = d.tool("bsdtar", &["-tf", out.to_str().unwrap()]).ok();
    let mut names: Vec<&str> = list.stdout.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".",
            "EFI",
            "EFI/BOOT",
            "EFI/BOOT/BOOTX64.EFI",
            "EFI/microsoft",
            "EFI/microsoft/boot",
            "EFI/microsoft/boot/BCD"
        ]
    );
}

#[test]
fn unreadable_sources_fail_cleanly_in_every_container() {
    let d = Dir::new();
    let fifo = d.join("not-a-file");
    d.tool("mkfifo", &[fifo.to_str().unwrap()]).ok();
    let missing = d.join("missing.wim");
    for src in [&fifo, &missing] {
        let mut tree = media::MediaTree::default();
        tree.insert("a.txt", FileSource::Bytes(b"a".to_vec()));
        tree.insert("sources/boot.wim", FileSource::Local(src.clone()));
        let name = src.file_name().unwrap().to_str().unwrap();
        let e1 = iso::write(&tree, &d.join("o.iso"), &Silent).unwrap_err();
        let e2 = media::usb::write(&tree, &d.join("o.img"), &Silent).unwrap_err();
        let e3 = media::write_dir(&tree, &d.join("o"), &Silent).unwrap_err();
        for e in [e1, e2, e3] {
            assert!(matches!(e, ContainerError::Io { .. }), "{e}");
            assert!(e.to_string().contains(name), "{e}");
        }
        for out in ["o.iso", "o.img", "o"] {
            assert!(!d.join(out).exists(), "{out} left behind");
        }
        assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    }
}

#[test]
fn reader_takes_long_names_from_udf_when_there_is_no_joliet() {
    // genisoimage -udf writes an ISO 9660 (8.3) + UDF 1.02 bridge, like oscdimg -u1.
    let d = Dir::new();
    let tree = d.media_tree();
    let folder = d.join("folder");
    media::write_dir(&tree, &folder, &Silent).unwrap();
    let x = d.join("udf.iso");
    d.tool(
        "genisoimage",
        &[
            "-quiet",
            "-udf",
            "-input-charset",
            "utf-8",
            "-V",
            "UDFMEDIA",
            "-o",
            x.to_str().unwrap(),
            "-b",
            "boot/etfsboot.com",
            "-no-emul-boot",
            "-boot-load-size",
            "8",
            folder.to_str().unwrap(),
        ],
    )
    .ok();
    let r = iso::IsoReader::open(&x).unwrap();
    assert_eq!(r.file_system(), iso::IsoFileSystem::Udf);
    let mut names: Vec<String> = r.files().iter().map(|f| f.path.clone()).collect();
    names.retain(|n| n != "boot.catalog");
    let want: Vec<String> = tree.files.keys().cloned().collect();
    assert_eq!(names, want);
    for (path, src) in &tree.files {
        assert!(r.read(path).unwrap() == source_bytes(src), "{path}");
    }
    let e = r.boot_entries().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].image.as_deref(), Some("boot/etfsboot.com"));
    // Without its ISO 9660 descriptors (a UDF-only image, like oscdimg -u2) the UDF side alone
    // still gives every file.
    let mut bytes = std::fs::read(&x).unwrap();
    let vrs_start = (16..32)
        .find(|i| &bytes[i * 2048 + 1..i * 2048 + 6] == b"BEA01")
        .unwrap();
    bytes[16 * 2048..vrs_start * 2048].fill(0);
    let only = d.join("udf-only.iso");
    std::fs::write(&only, &bytes).unwrap();
    let r = iso::IsoReader::open(&only).unwrap();
    assert_eq!(r.file_system(), iso::IsoFileSystem::Udf);
    assert_eq!(r.files().len(), tree.files.len() + 1);
    assert_eq!(
        r.read("sources/boot.wim").unwrap(),
        source_bytes(&tree.files["sources/boot.wim"])
    );
    assert_eq!(media::Medium::open(&only).unwrap().kind(), "iso");
    // Damaged UDF structures give errors, never a panic.
    let bad = d.join("bad.iso");
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..150 {
        let mut b = bytes.clone();
        for _ in 0..1 + round % 6 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = 256 * 2048 + (x % (64 * 2048)) as usize;
            b[at] ^= (x >> 32) as u8 | 1;
        }
        std::fs::write(&bad, &b).unwrap();
        if let Ok(r) = iso::IsoReader::open(&bad) {
            for f in r.files().iter().take(3) {
                let _ = r.read(&f.path);
            }
        }
    }
}
