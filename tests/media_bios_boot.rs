//! BIOS boot of the USB image (`shared/specs/usb-boot.md` §8): the embedded boot code is what
//! `nasm` makes of the sources in the repository, and QEMU's SeaBIOS boots peforge's image to
//! a stand-in BOOTMGR (assembled here from `tests/data/standin_bootmgr.asm`) that checks the
//! hand-off and reports on the serial console. The image's BOOTMGR chain is fragmented with a
//! backward jump and preceded by deleted and long-name entries; `fsck.fat -n` must stay clean.
mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Dir, UEFI_MARKER, ovmf};
use peforge::media::boot::{self, BootCode};
use peforge::media::{FileSource, MediaTree, usb};
use peforge::progress::Silent;

const PART: u64 = usb::PARTITION_START;
/// Larger than 64 KiB, not a multiple of 512 (spec §8.1).
const STANDIN_SIZE: usize = 409_900;

fn crate_path(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Assembles `src` with `nasm -f bin` and the given `-D` defines.
fn nasm(d: &Dir, src: &str, defines: &[&str]) -> Vec<u8> {
    let out = d.join(&format!(
        "{}{}.bin",
        Path::new(src).file_stem().unwrap().to_string_lossy(),
        defines.join("")
    ));
    let mut args: Vec<String> = defines.iter().map(|x| format!("-D{x}")).collect();
    args.extend([
        "-f".into(),
        "bin".into(),
        "-o".into(),
        out.display().to_string(),
        crate_path(src).display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.tool("nasm", &args).ok();
    std::fs::read(out).unwrap()
}

#[test]
fn embedded_boot_code_is_the_assembled_source() {
    let d = Dir::new();
    let mbr = nasm(&d, "src/media/boot/mbr.asm", &[]);
    let vbr = nasm(&d, "src/media/boot/fat32_vbr.asm", &[]);
    assert_eq!(mbr.len(), 440);
    assert_eq!(vbr.len(), 1024);
    assert_eq!(
        mbr,
        std::fs::read(crate_path("src/media/boot/mbr.bin")).unwrap()
    );
    assert_eq!(mbr.as_slice(), boot::MBR_CODE.as_slice());
    assert_eq!(vbr.as_slice(), boot::VBR_CODE.as_slice());
    // The CHS-only variant is really different code (no AH=41h probe).
    assert_ne!(nasm(&d, "src/media/boot/mbr.asm", &["NO_EDD"]), mbr);
}

/// The stand-in BOOTMGR file (spec §8.1) for a partition starting at `hidden`.
fn standin(d: &Dir, hidden: u32) -> Vec<u8> {
    standin_sized(d, hidden, STANDIN_SIZE)
}

fn standin_sized(d: &Dir, hidden: u32, size: usize) -> Vec<u8> {
    let code = nasm(d, "tests/data/standin_bootmgr.asm", &[]);
    assert!(code.len() <= 1024);
    let mut f: Vec<u8> = (0..size)
        .map(|i| u8::try_from((i * 7 + i / 511) & 0xFF).unwrap())
        .collect();
    f[..code.len()].copy_from_slice(&code);
    f[4..8].copy_from_slice(&u32::try_from(size).unwrap().to_le_bytes());
    f[8..12].copy_from_slice(&hidden.to_le_bytes());
    let last = (size - 1) / 512;
    for k in 2..last {
        f[k * 512..k * 512 + 4].copy_from_slice(&u32::try_from(k).unwrap().to_le_bytes());
    }
    f[size - 8..].copy_from_slice(b"TAILMARK");
    f[size - 10..size - 8].copy_from_slice(&[0, 0]);
    let sum = f.chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    f[size - 10..size - 8].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    f
}

/// A USB image of a small tree whose `bootmgr` is the stand-in, plus the UEFI stand-in, with
/// BOOTMGR's chain fragmented (see [`fragment`]).
fn boot_image(d: &Dir, name: &str) -> PathBuf {
    boot_image_with(d, name, standin(d, 2048))
}

fn boot_image_with(d: &Dir, name: &str, bootmgr: Vec<u8>) -> PathBuf {
    let s = d.bootable_standins();
    let mut t = MediaTree {
        label: "Remote worker".into(),
        mtime: 1_700_000_000,
        ..Default::default()
    };
    t.insert("aaa-deleted-file.txt", FileSource::Bytes(vec![0x44; 5000]));
    t.insert("bootmgr", FileSource::Bytes(bootmgr));
    t.insert("boot/BCD", FileSource::Bytes(b"stand-in BCD\r\n".to_vec()));
    t.insert(
        "efi/boot/bootx64.efi",
        FileSource::Local(s.join("Windows/Boot/EFI/bootmgfw.efi")),
    );
    let out = d.join(name);
    usb::write(&t, &out, &Silent).unwrap();
    fragment(&out);
    fsck(d, &out);
    out
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// Rewrites the image's FAT32 volume in place: the entries of `aaa-deleted-file.txt` become
/// deleted (0xE5) and its clusters free, so a deleted 8.3 entry and deleted long-name slots
/// precede BOOTMGR's own long-name slot and 8.3 entry; BOOTMGR's clusters move into three runs
/// with a backward jump (middle, low, high); both FATs, the directory entry and the FSInfo
/// free count are updated.
fn fragment(img: &Path) {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(img)
        .unwrap();
    let mut bs = [0u8; 512];
    f.seek(SeekFrom::Start(PART)).unwrap();
    f.read_exact(&mut bs).unwrap();
    assert_eq!(u16_at(&bs, 0x0B), 512);
    let spc = u64::from(bs[0x0D]);
    let rsvd = u64::from(u16_at(&bs, 0x0E));
    let nfats = u64::from(bs[0x10]);
    let fatsz = u64::from(u32_at(&bs, 0x24));
    let total = u64::from(u32_at(&bs, 0x20));
    let root = u32_at(&bs, 0x2C);
    let fat_off = PART + rsvd * 512;
    let data_sec = rsvd + nfats * fatsz;
    let cbytes = spc * 512;
    let max_cluster = u32::try_from((total - data_sec) / spc + 1).unwrap();
    let mut fat_bytes = vec![0u8; usize::try_from(fatsz * 512).unwrap()];
    f.seek(SeekFrom::Start(fat_off)).unwrap();
    f.read_exact(&mut fat_bytes).unwrap();
    let mut fat: Vec<u32> = fat_bytes.chunks(4).map(|c| u32_at(c, 0)).collect();
    let chain = |fat: &[u32], first: u32| {
        let mut v = vec![first];
        loop {
            let next = fat[usize::try_from(*v.last().unwrap()).unwrap()] & 0x0FFF_FFFF;
            if next >= 0x0FFF_FFF8 {
                return v;
            }
            v.push(next);
        }
    };
    let cluster_off = |c: u32| PART + (data_sec + u64::from(c - 2) * spc) * 512;
    let root_chain = chain(&fat, root);
    let mut dir = Vec::new();
    for &c in &root_chain {
        let mut buf = vec![0u8; usize::try_from(cbytes).unwrap()];
        f.seek(SeekFrom::Start(cluster_off(c))).unwrap();
        f.read_exact(&mut buf).unwrap();
        dir.extend(buf);
    }
    let entries = dir.len() / 32;
    let find = |dir: &[u8], pred: &dyn Fn(&[u8]) -> bool| {
        (0..entries)
            .find(|&i| {
                let e = &dir[i * 32..i * 32 + 32];
                e[0] != 0 && e[0] != 0xE5 && e[11] & 0x3F != 0x0F && pred(e)
            })
            .unwrap()
    };
    let boot_i = find(&dir, &|e| &e[..11] == b"BOOTMGR    ");
    let victim_i = find(&dir, &|e| e[..3] == *b"AAA" && e[11] & 0x18 == 0);
    assert!(victim_i < boot_i, "directory order: {victim_i} {boot_i}");
    assert_eq!(dir[(boot_i - 1) * 32 + 11], 0x0F, "LFN slot before BOOTMGR");
    let first = |dir: &[u8], i: usize| {
        (u32::from(u16_at(dir, i * 32 + 0x14)) << 16) | u32::from(u16_at(dir, i * 32 + 0x1A))
    };
    // Delete the victim: its LFN slots and 8.3 entry, and its clusters.
    let mut j = victim_i;
    loop {
        dir[j * 32] = 0xE5;
        if j == 0 || dir[(j - 1) * 32 + 11] != 0x0F {
            break;
        }
        j -= 1;
    }
    for c in chain(&fat, first(&dir, victim_i)) {
        fat[usize::try_from(c).unwrap()] = 0;
    }
    // Move BOOTMGR.
    let old = chain(&fat, first(&dir, boot_i));
    let n = old.len();
    assert!(n >= 12, "BOOTMGR spans {n} clusters");
    let free: Vec<u32> = (2..=max_cluster)
        .filter(|&c| fat[usize::try_from(c).unwrap()] == 0)
        .collect();
    let (n1, n2) = (n / 3, n / 3);
    let a = n2 + 5;
    let b = a + n1 + 5;
    let mut new: Vec<u32> = free[a..a + n1].to_vec();
    new.extend(&free[..n2]);
    new.extend(&free[b..b + (n - n1 - n2)]);
    assert!(new[n1] < new[n1 - 1], "backward jump");
    for (&o, &nw) in old.iter().zip(&new) {
        let mut buf = vec![0u8; usize::try_from(cbytes).unwrap()];
        f.seek(SeekFrom::Start(cluster_off(o))).unwrap();
        f.read_exact(&mut buf).unwrap();
        f.seek(SeekFrom::Start(cluster_off(nw))).unwrap();
        f.write_all(&buf).unwrap();
    }
    for &o in &old {
        fat[usize::try_from(o).unwrap()] = 0;
    }
    for w in new.windows(2) {
        fat[usize::try_from(w[0]).unwrap()] = w[1];
    }
    fat[usize::try_from(*new.last().unwrap()).unwrap()] = 0x0FFF_FFFF;
    let e = boot_i * 32;
    dir[e + 0x14..e + 0x16].copy_from_slice(&u16::try_from(new[0] >> 16).unwrap().to_le_bytes());
    dir[e + 0x1A..e + 0x1C].copy_from_slice(&u16::try_from(new[0] & 0xFFFF).unwrap().to_le_bytes());
    let fat_bytes: Vec<u8> = fat.iter().flat_map(|v| v.to_le_bytes()).collect();
    for k in 0..nfats {
        f.seek(SeekFrom::Start(fat_off + k * fatsz * 512)).unwrap();
        f.write_all(&fat_bytes).unwrap();
    }
    for (k, &c) in root_chain.iter().enumerate() {
        let at = k * usize::try_from(cbytes).unwrap();
        f.seek(SeekFrom::Start(cluster_off(c))).unwrap();
        f.write_all(&dir[at..at + usize::try_from(cbytes).unwrap()])
            .unwrap();
    }
    let free_count = (2..=max_cluster)
        .filter(|&c| fat[usize::try_from(c).unwrap()] == 0)
        .count();
    let fsinfo = PART + u64::from(u16_at(&bs, 0x30)) * 512;
    f.seek(SeekFrom::Start(fsinfo + 488)).unwrap();
    f.write_all(&u32::try_from(free_count).unwrap().to_le_bytes())
        .unwrap();
}

/// `fsck.fat -n` on the partition (copied out: fsck.fat takes no offset).
fn fsck(d: &Dir, img: &Path) {
    let bytes = std::fs::read(img).unwrap();
    let part = d.join("partition.fat");
    std::fs::write(&part, &bytes[usize::try_from(PART).unwrap()..]).unwrap();
    let r = d.tool("fsck.fat", &["-n", part.to_str().unwrap()]);
    assert_eq!(r.code, 0, "fsck.fat -n:\n{}\n{}", r.stdout, r.stderr);
    std::fs::remove_file(part).unwrap();
}

/// Runs QEMU (SeaBIOS, TCG) until it exits or `until` shows on the serial console or the
/// timeout passes (then it is killed). SeaBIOS's serial console mirrors INT 10h output to
/// COM1; the stand-in exits through isa-debug-exit. Returns (exit code, serial log).
fn qemu(d: &Dir, args: &[&str], until: Option<&str>, timeout: Duration) -> (Option<i32>, String) {
    let sercon = d.join("sercon-port");
    std::fs::write(&sercon, [0xF8, 0x03]).unwrap();
    let log = d.join(&format!("serial-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            "-nodefaults",
            "-no-reboot",
            "-display",
            "none",
            "-vga",
            "none",
        ])
        .args([
            "-monitor",
            "none",
            "-m",
            "256",
            "-boot",
            "reboot-timeout=1000",
        ])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .arg("-fw_cfg")
        .arg(format!("name=etc/sercon-port,file={}", sercon.display()))
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 is required (run scripts/setup.sh)");
    let start = Instant::now();
    let read = || String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code(), read());
        }
        if until.is_some_and(|u| read().contains(u)) || start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return (None, read());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ide(img: &Path) -> Vec<String> {
    vec![
        "-drive".into(),
        format!("file={},format=raw,if=ide,snapshot=on", img.display()),
    ]
}

fn ehci(img: &Path) -> Vec<String> {
    vec![
        "-device".into(),
        "usb-ehci,id=ehci".into(),
        "-drive".into(),
        format!(
            "file={},format=raw,if=none,id=stick,snapshot=on",
            img.display()
        ),
        "-device".into(),
        "usb-storage,bus=ehci.0,drive=stick,bootindex=0".into(),
    ]
}

/// Boots `img` and asserts the stand-in passed every check and that the boot sector it saw at
/// 0:7C00 is the partition's sector 0 on disk except DrvNum (0x40).
fn assert_boots(d: &Dir, img: &Path, drive: &[String], timeout: Duration) {
    let args: Vec<&str> = drive.iter().map(String::as_str).collect();
    let (code, log) = qemu(d, &args, None, timeout);
    assert!(
        log.contains("RESULT=PASS") && code == Some(33),
        "exit {code:?}, serial console:\n{log}"
    );
    assert!(!log.contains(" BAD"), "{log}");
    for want in [
        "CS=2000 ok",
        "EDX=00000080 ok",
        "SP=7C00 ok",
        "HIDDEN_SECTORS=00000800 ok",
        "FIRST_BAD_SECTOR=00000000 ok",
        "CHECKSUM=0000 ok",
    ] {
        assert!(log.contains(want), "{want} missing:\n{log}");
    }
    let dump = log
        .lines()
        .find_map(|l| l.strip_prefix("VBR="))
        .expect("VBR dump");
    let mem: Vec<u8> = (0..512)
        .map(|i| u8::from_str_radix(&dump[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let disk = std::fs::read(img).unwrap();
    let sector = &disk[usize::try_from(PART).unwrap()..][..512];
    for i in 0..512 {
        if i != 0x40 {
            assert_eq!(
                mem[i], sector[i],
                "boot sector byte {i:#x} changed in memory"
            );
        }
    }
    assert_eq!(mem[0x40], 0x80, "DrvNum patched to DL");
}

#[test]
fn seabios_boots_the_usb_image_over_ide() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let r = usb::UsbReader::open(&img).unwrap();
    assert!(r.bios_boot().peforge, "{:?}", r.bios_boot());
    // Non-zero disk signature, the same for a second build of the same tree; BPB_HiddSec 2048.
    let bytes = std::fs::read(&img).unwrap();
    assert_ne!(u32_at(&bytes, 440), 0);
    assert_eq!(u32_at(&bytes, usize::try_from(PART).unwrap() + 0x1C), 2048);
    let again = boot_image(&d, "again.img");
    assert_eq!(
        u32_at(&std::fs::read(&again).unwrap(), 440),
        u32_at(&bytes, 440)
    );
    assert_boots(&d, &img, &ide(&img), Duration::from_secs(30));
}

#[test]
fn seabios_boots_the_usb_image_as_a_usb_stick_on_ehci() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    // USB emulation under TCG is the slow case (3–12 s idle, far more on a loaded machine).
    assert_boots(&d, &img, &ehci(&img), Duration::from_secs(240));
}

#[test]
fn a_chs_only_build_of_the_boot_code_boots_too() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let mbr = nasm(&d, "src/media/boot/mbr.asm", &["NO_EDD"]);
    let vbr = nasm(&d, "src/media/boot/fat32_vbr.asm", &["NO_EDD"]);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .unwrap();
    boot::install(
        &mut f,
        PART,
        &BootCode {
            mbr: &mbr,
            vbr: &vbr,
        },
    )
    .unwrap();
    drop(f);
    assert_eq!(
        usb::UsbReader::open(&img).unwrap().bios_boot().mbr,
        boot::BiosBoot::Other
    );
    assert_boots(&d, &img, &ide(&img), Duration::from_secs(30));
}

#[test]
fn without_an_active_partition_the_mbr_says_so() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let mut f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.seek(SeekFrom::Start(446)).unwrap();
    f.write_all(&[0x00]).unwrap();
    drop(f);
    let (_, log) = qemu(
        &d,
        &ide(&img).iter().map(String::as_str).collect::<Vec<_>>(),
        Some("MBR: no active partition"),
        Duration::from_secs(20),
    );
    assert!(log.contains("MBR: no active partition"), "{log}");
    assert!(!log.contains("RESULT="), "{log}");
}

#[test]
fn a_missing_bootmgr_gives_the_vbr_message() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let r = d.tool(
        "mren",
        &[
            "-i",
            &format!("{}@@{PART}", img.display()),
            "::/bootmgr",
            "::/bootmgx",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, log) = qemu(
        &d,
        &ide(&img).iter().map(String::as_str).collect::<Vec<_>>(),
        Some("VBR error M"),
        Duration::from_secs(20),
    );
    assert!(log.contains("VBR error M"), "{log}");
}

#[test]
fn ovmf_still_boots_the_same_image() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let drive = format!(
        "if=none,id=stick,format=raw,snapshot=on,file={}",
        img.display()
    );
    d.qemu_boot(
        &[
            "-bios",
            ovmf(),
            "-device",
            "qemu-xhci",
            "-drive",
            &drive,
            "-device",
            "usb-storage,drive=stick",
        ],
        UEFI_MARKER,
        Duration::from_secs(90),
    );
}

#[test]
fn media_inspect_reports_whose_bios_boot_code_the_image_has() {
    let d = Dir::new();
    let img = boot_image(&d, "stick.img");
    let img_s = img.to_str().unwrap();
    let r = d.peforge(&["media", "inspect", "--json", img_s]);
    let v = r.json();
    assert_eq!(v["container"], "usb", "{}", r.stdout);
    assert_eq!(v["bios_boot"]["mbr"], "peforge");
    assert_eq!(v["bios_boot"]["vbr"], "peforge");
    assert_eq!(v["bios_boot"]["peforge"], true);
    let text = d.peforge(&["media", "inspect", img_s]);
    assert!(
        text.stdout
            .contains("BIOS boot code: MBR peforge, FAT boot sector peforge (peforge's)"),
        "{}",
        text.stdout
    );
    // Zero MBR code (UEFI-only image) and foreign boot-sector code.
    let mut f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.write_all(&[0u8; 440]).unwrap();
    f.seek(SeekFrom::Start(PART + 0x100)).unwrap();
    f.write_all(b"someone else's code").unwrap();
    drop(f);
    let v = d.peforge(&["media", "inspect", "--json", img_s]).json();
    assert_eq!(v["bios_boot"]["mbr"], "none");
    assert_eq!(v["bios_boot"]["vbr"], "other");
    assert_eq!(v["bios_boot"]["peforge"], false);
}

#[test]
fn a_bootmgr_larger_than_conventional_memory_is_refused_before_loading() {
    // SeaBIOS reports 639 KiB: 523,264 bytes fit above 0x20000, two more do not (spec §3.3).
    let d = Dir::new();
    let img = boot_image_with(&d, "big.img", standin_sized(&d, 2048, 523_266));
    let (_, log) = qemu(
        &d,
        &ide(&img).iter().map(String::as_str).collect::<Vec<_>>(),
        Some("VBR error S"),
        Duration::from_secs(20),
    );
    assert!(log.contains("VBR error S"), "{log}");
    assert!(!log.contains("RESULT="), "{log}");
    let fits = boot_image_with(&d, "fits.img", standin_sized(&d, 2048, 523_264));
    assert_boots(&d, &fits, &ide(&fits), Duration::from_secs(30));
}
