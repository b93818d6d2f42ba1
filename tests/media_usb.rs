//! USB disk image writer and reader, checked with tools peforge did not write: sfdisk and
//! fdisk (partition table), mtools (listing, label, extraction), fsck.fat (file system check),
//! and mkfs.fat/mtools as an independent FAT writer for our reader.
mod common;

use common::{Dir, assert_tree_equals_dir, sha256, source_bytes};
use peforge::media::{self, ContainerError, FileSource, usb};
use peforge::progress::Silent;

#[test]
fn partition_table_as_sfdisk_and_fdisk_read_it() {
    let d = Dir::new();
    let out = d.join("media.img");
    let s = usb::write(&d.media_tree(), &out, &Silent).unwrap();
    let dump = d.tool("sfdisk", &["-J", out.to_str().unwrap()]).ok().json();
    let table = &dump["partitiontable"];
    assert_eq!(table["label"], "dos");
    let parts = table["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "{dump}");
    assert_eq!(parts[0]["start"], 2048);
    assert_eq!(parts[0]["size"], s.partition_bytes / 512);
    assert_eq!(parts[0]["type"], "c");
    assert_eq!(parts[0]["bootable"], true);
    let image_bytes = std::fs::metadata(&out).unwrap().len();
    assert_eq!(image_bytes, s.bytes);
    assert_eq!(image_bytes, (2048 + s.partition_bytes / 512) * 512);
    let dump = d.tool("sfdisk", &["-d", out.to_str().unwrap()]).ok();
    assert!(dump.stdout.contains("label: dos"), "{}", dump.stdout);
    let line = dump.stdout.lines().find(|l| l.contains("start=")).unwrap();
    assert!(
        line.contains("start=        2048,") && line.ends_with("type=c, bootable"),
        "{line}"
    );
    let fdisk = d.tool("fdisk", &["-l", out.to_str().unwrap()]).ok();
    assert!(fdisk.stdout.contains("W95 FAT32 (LBA)"), "{}", fdisk.stdout);
    assert!(
        !fdisk
            .stderr
            .contains("does not start on physical sector boundary"),
        "{}",
        fdisk.stderr
    );
}

#[test]
fn mtools_lists_and_extracts_the_tree_and_fsck_is_clean() {
    let d = Dir::new();
    let tree = d.media_tree();
    let out = d.join("media.img");
    let s = usb::write(&tree, &out, &Silent).unwrap();
    let img = format!("{}@@1M", out.display());
    let label = d.tool("mlabel", &["-i", &img, "-s", "::"]).ok();
    assert!(label.stdout.contains("CONFIGURATI"), "{}", label.stdout);
    let dir = d.tool("mdir", &["-i", &img, "-/", "-b", "::/"]).ok();
    for path in tree.files.keys() {
        let want = format!("::/{path}");
        assert!(
            dir.stdout.lines().any(|l| l == want),
            "mdir lacks {want}:\n{}",
            dir.stdout
        );
    }
    let tsm = d
        .tool("mtype", &["-i", &img, "::/SMS/data/TsmBootstrap.ini"])
        .ok();
    assert_eq!(tsm.stdout, "[MediaInfo]\r\nMediaType=BootMedia\r\n");
    let x = d.join("x");
    std::fs::create_dir(&x).unwrap();
    d.tool(
        "mcopy",
        &["-s", "-n", "-i", &img, "::/*", x.to_str().unwrap()],
    )
    .ok();
    assert_tree_equals_dir(&tree, &x, "mcopy -s");
    // 8.3 short names exist next to the long ones (mdir shows both).
    let listing = d.tool("mdir", &["-i", &img, "::/efi/microsoft/boot"]).ok();
    assert!(
        listing.stdout.contains("EFISYS~1 BIN"),
        "{}",
        listing.stdout
    );
    // fsck.fat on the partition alone.
    let bytes = std::fs::read(&out).unwrap();
    let part = d.join("part.img");
    std::fs::write(&part, &bytes[(1 << 20)..]).unwrap();
    let fsck = d
        .tool("fsck.fat", &["-n", "-v", part.to_str().unwrap()])
        .ok();
    assert!(fsck.stdout.contains("32 bit entries"), "{}", fsck.stdout);
    assert!(
        fsck.stdout.contains("2048 hidden sectors"),
        "{}",
        fsck.stdout
    );
    assert!(!fsck.stdout.contains("Dirty bit"), "{}", fsck.stdout);
    // Volume serial as recorded, in mdir's notation.
    let serial = format!("{:04X}-{:04X}", s.volume_id >> 16, s.volume_id & 0xFFFF);
    let root = d.tool("mdir", &["-i", &img, "::/"]).ok();
    assert!(
        root.stdout.contains(&serial),
        "serial {serial} not in:\n{}",
        root.stdout
    );
    assert!(
        root.stdout.contains("Volume in drive : is CONFIGURATI"),
        "{}",
        root.stdout
    );
    // BPB_HiddSec = partition start, read with od (offset 0x1C of the partition's boot sector).
    let od = d
        .tool(
            "od",
            &["-An", "-tu4", "-j", "28", "-N", "4", part.to_str().unwrap()],
        )
        .ok();
    assert_eq!(od.stdout.trim(), "2048");
}

#[test]
fn usb_image_is_reproducible_and_serial_follows_inputs() {
    let d = Dir::new();
    let mut tree = d.media_tree();
    let a = d.join("a.img");
    let b = d.join("b.img");
    let sa = usb::write(&tree, &a, &Silent).unwrap();
    usb::write(&tree, &b, &Silent).unwrap();
    assert_eq!(sha256(&a), sha256(&b));
    tree.mtime += 2;
    let c = d.join("c.img");
    let sc = usb::write(&tree, &c, &Silent).unwrap();
    assert_ne!(sa.volume_id, sc.volume_id);
    assert_ne!(sha256(&a), sha256(&c));
    // File times are the tree's mtime (mtools prints local time: force UTC).
    let out = std::process::Command::new("mdir")
        .args(["-i", &format!("{}@@1M", c.display()), "::/bootmgr"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2023-11-14  22:13"), "{text}");
}

#[test]
fn reader_reads_our_image_and_a_mkfs_fat_image() {
    let d = Dir::new();
    let tree = d.media_tree();
    let out = d.join("media.img");
    usb::write(&tree, &out, &Silent).unwrap();
    let r = usb::UsbReader::open(&out).unwrap();
    assert_eq!(r.label(), "CONFIGURATI");
    let parts = r.partitions();
    assert_eq!(parts.len(), 1);
    assert!(parts[0].active && parts[0].kind == 0x0C && parts[0].start_lba == 2048);
    let files = r.files().unwrap();
    assert_eq!(files.len(), tree.files.len());
    for (path, src) in &tree.files {
        assert!(r.read(path).unwrap() == source_bytes(src), "{path}");
    }
    // efisys.bin was made by mkfs.fat + mcopy: a bare FAT12 volume.
    let efisys = d
        .bootable_standins()
        .join("Windows/Boot/DVD/EFI/en-US/efisys.bin");
    let before = sha256(&efisys);
    let r = usb::UsbReader::open(&efisys).unwrap();
    assert!(r.partitions().is_empty());
    let f = r.files().unwrap();
    assert_eq!(
        f.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["EFI/BOOT/BOOTX64.EFI"]
    );
    assert_eq!(
        r.read("efi\\boot\\bootx64.efi").unwrap(),
        std::fs::read(d.bootable_standins().join("Windows/Boot/EFI/bootmgfw.efi")).unwrap()
    );
    assert!(matches!(
        r.read("nope.txt"),
        Err(ContainerError::NotFound { .. })
    ));
    drop(r);
    assert_eq!(sha256(&efisys), before, "reading must not modify the image");
}

#[test]
fn usb_refuses_a_file_of_4_gib_with_the_split_fix() {
    let d = Dir::new();
    let big = d.join("install.wim");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let mut tree = media::MediaTree::default();
    tree.insert("sources/install.wim", FileSource::Local(big));
    let out = d.join("big.img");
    let err = usb::write(&tree, &out, &Silent).unwrap_err();
    assert!(
        matches!(
            err,
            ContainerError::FileTooLarge {
                format: "FAT32",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.hint().unwrap().contains("wimlib-imagex split"),
        "{:?}",
        err.hint()
    );
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".peforge-"))
        .collect();
    assert!(left.is_empty());
}

#[test]
fn reader_rejects_non_disk_images() {
    let d = Dir::new();
    let junk = d.join("junk.img");
    std::fs::write(&junk, vec![0u8; 4096]).unwrap();
    let err = usb::UsbReader::open(&junk).unwrap_err();
    assert!(matches!(err, ContainerError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("junk.img"), "{err}");
    // An MBR whose partition points past the end of the file.
    let mut mbr = vec![0u8; 4096];
    mbr[446] = 0x80;
    mbr[450] = 0x0C;
    mbr[454..458].copy_from_slice(&2048u32.to_le_bytes());
    mbr[458..462].copy_from_slice(&100_000u32.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    std::fs::write(&junk, &mbr).unwrap();
    let err = usb::UsbReader::open(&junk).unwrap_err();
    assert!(err.to_string().contains("beyond the end"), "{err}");
}

#[test]
fn medium_opens_iso_usb_image_and_folder_alike() {
    let d = Dir::new();
    let tree = d.media_tree();
    let iso = d.join("m.iso");
    let img = d.join("m.img");
    let dir = d.join("m");
    media::iso::write(&tree, &iso, &Silent).unwrap();
    usb::write(&tree, &img, &Silent).unwrap();
    media::write_dir(&tree, &dir, &Silent).unwrap();
    let mut want: Vec<(String, u64)> = tree
        .files
        .iter()
        .map(|(p, s)| (p.clone(), source_bytes(s).len() as u64))
        .collect();
    want.sort();
    for (path, kind) in [(&iso, "iso"), (&img, "usb"), (&dir, "dir")] {
        let m = media::Medium::open(path).unwrap();
        assert_eq!(m.kind(), kind);
        let got: Vec<(String, u64)> = m
            .files()
            .unwrap()
            .into_iter()
            .map(|f| (f.path, f.size))
            .collect();
        assert_eq!(got, want, "{kind}");
        assert_eq!(
            m.read("sms\\DATA\\tsmbootstrap.ini").unwrap(),
            b"[MediaInfo]\r\nMediaType=BootMedia\r\n"
        );
        assert!(
            matches!(
                m.read("../etc/passwd"),
                Err(ContainerError::NotFound { .. })
            ),
            "{kind}"
        );
        assert_eq!(
            m.boot_entries().unwrap().len(),
            if kind == "iso" { 2 } else { 0 }
        );
    }
    // Output files are readable by everyone, like any file the user writes.
    let mode = d
        .tool(
            "stat",
            &["-c", "%a", iso.to_str().unwrap(), img.to_str().unwrap()],
        )
        .ok();
    assert_eq!(mode.stdout, "644\n644\n");
}

#[test]
fn reader_survives_corrupted_images() {
    let d = Dir::new();
    let mut tree = media::MediaTree::default();
    for i in 0..40 {
        tree.insert(
            &format!("dir{}/file-with-long-name-{i}.txt", i % 4),
            FileSource::Bytes(vec![i as u8; 3000]),
        );
    }
    let good = d.join("good.img");
    usb::write(&tree, &good, &Silent).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = d.join("bad.img");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    // Metadata of this small volume: boot sector, FATs, root and sub-directories.
    let span = 1 << 20;
    for round in 0..60 {
        let mut b = bytes.clone();
        for _ in 0..1 + round % 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (1 << 20) + (x % span) as usize;
            b[at] ^= (x >> 32) as u8 | 1;
        }
        std::fs::write(&bad, &b).unwrap();
        if let Ok(r) = usb::UsbReader::open(&bad)
            && let Ok(files) = r.files()
        {
            for f in files.iter().take(5) {
                let _ = r.read(&f.path);
            }
        }
    }
}
