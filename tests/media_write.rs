//! `peforge media devices` / `media write` (`shared/specs/usb-boot.md` §10): the safety rules
//! against fake sysfs trees (USB stick, SATA disk, NVMe system disk, read-only, mounted
//! partition, too small, 4 KiB sectors, holders, partition, loop), and real writes to loop
//! devices (losetup; root, as CI runs) and regular files, checked byte for byte against the
//! image by reading the loop device's backing file.
mod common;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use common::{Dir, sha256};
use peforge::device::{Refusal, Roots, rules, sysfs, write};
use peforge::media::{FileSource, MediaTree, usb};
use peforge::progress::Silent;

/// A fake `/` with `sys/block`, `sys/devices`, `proc` and `dev`.
struct Fake {
    root: PathBuf,
}

const USB_HOST: &str = "pci0000:00/0000:00:14.0/usb2/2-1";
const USB_DEV: &str = "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0";

impl Fake {
    fn new(d: &Dir) -> Fake {
        let root = d.join("fake");
        for p in ["sys/block", "sys/devices", "proc/self", "dev"] {
            std::fs::create_dir_all(root.join(p)).unwrap();
        }
        std::fs::write(root.join("proc/self/mountinfo"), "").unwrap();
        std::fs::write(
            root.join("proc/swaps"),
            "Filename\tType\tSize\tUsed\tPriority\n",
        )
        .unwrap();
        Fake { root }
    }
    fn roots(&self) -> Roots {
        Roots::under(&self.root)
    }
    fn put(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    /// A disk `name` at `sys/devices/<devpath>/block/<name>` (as the kernel lays it out, with
    /// `sys/block/<name>` a relative symlink) and attributes relative to its directory.
    fn disk(&self, name: &str, devpath: &str, dev: &str, sectors: u64, attrs: &[(&str, &str)]) {
        let rel = format!("sys/devices/{devpath}/block/{name}");
        let dir = self.root.join(&rel);
        std::fs::create_dir_all(dir.join("queue")).unwrap();
        for (k, v) in [
            ("dev", dev.to_string()),
            ("size", sectors.to_string()),
            ("ro", "0".into()),
            ("removable", "0".into()),
            ("queue/logical_block_size", "512".into()),
        ] {
            self.put(&format!("{rel}/{k}"), &format!("{v}\n"));
        }
        std::os::unix::fs::symlink("../..", dir.join("device")).unwrap();
        std::os::unix::fs::symlink(
            format!("../devices/{devpath}/block/{name}"),
            self.root.join("sys/block").join(name),
        )
        .unwrap();
        for (k, v) in attrs {
            if let Some(h) = k.strip_prefix("holders/") {
                std::fs::create_dir_all(dir.join("holders").join(h)).unwrap();
            } else {
                self.put(&format!("{rel}/{k}"), &format!("{v}\n"));
            }
        }
    }
    fn partition(&self, disk: &str, devpath: &str, name: &str, dev: &str) {
        let rel = format!("sys/devices/{devpath}/block/{disk}/{name}");
        self.put(&format!("{rel}/partition"), "1\n");
        self.put(&format!("{rel}/dev"), &format!("{dev}\n"));
    }
    fn mount(&self, dev: &str, at: &str, source: &str) {
        let p = self.root.join("proc/self/mountinfo");
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str(&format!(
            "{} 1 {dev} / {} rw,relatime shared:1 - ext4 {source} rw\n",
            s.lines().count() + 30,
            at.replace(' ', "\\040")
        ));
        std::fs::write(p, s).unwrap();
    }
    /// A block device node (mknod; the test never opens it).
    fn node(&self, d: &Dir, name: &str, major: u32, minor: u32) -> PathBuf {
        let p = self.root.join("dev").join(name);
        d.tool(
            "mknod",
            &[
                p.to_str().unwrap(),
                "b",
                &major.to_string(),
                &minor.to_string(),
            ],
        )
        .ok();
        p
    }

    /// The usual machine: NVMe system disk, SATA data disk, a SanDisk USB stick (8 GB), a
    /// read-only stick, a stick with a mounted partition, a tiny stick, a 4 KiB-sector stick,
    /// a stick held by device mapper, and a loop device.
    fn machine(d: &Dir) -> Fake {
        let f = Fake::new(d);
        let nvme = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";
        f.disk(
            "nvme0n1",
            nvme,
            "259:0",
            1_000_215_216,
            &[
                ("device/model", "Samsung SSD 980 PRO 1TB"),
                ("device/serial", "S5GXNF0R123456"),
            ],
        );
        f.partition("nvme0n1", nvme, "nvme0n1p1", "259:1");
        f.partition("nvme0n1", nvme, "nvme0n1p2", "259:2");
        f.mount("259:2", "/", "/dev/nvme0n1p2");
        f.mount("259:1", "/boot/efi", "/dev/nvme0n1p1");
        let sata = "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0";
        f.disk(
            "sda",
            sata,
            "8:0",
            3_907_029_168,
            &[
                ("device/vendor", "ATA     "),
                ("device/model", "WDC WD20EZRZ"),
            ],
        );
        f.partition("sda", sata, "sda1", "8:1");
        f.put(&format!("sys/devices/{USB_HOST}/idVendor"), "0781\n");
        f.put(
            &format!("sys/devices/{USB_HOST}/serial"),
            "4C530001230815117433\n",
        );
        f.disk(
            "sdb",
            USB_DEV,
            "8:16",
            15_633_408,
            &[
                ("removable", "1"),
                ("device/vendor", "SanDisk "),
                ("device/model", "Cruzer Blade    "),
            ],
        );
        f.partition("sdb", USB_DEV, "sdb1", "8:17");
        let usb = |n: u32| {
            format!("pci0000:00/0000:00:14.0/usb2/2-{n}/2-{n}:1.0/host{n}/target{n}:0:0/{n}:0:0:0")
        };
        f.disk(
            "sdc",
            &usb(3),
            "8:32",
            15_633_408,
            &[("ro", "1"), ("removable", "1")],
        );
        f.disk("sdd", &usb(4), "8:48", 15_633_408, &[("removable", "1")]);
        f.partition("sdd", &usb(4), "sdd1", "8:49");
        f.mount("8:49", "/media/user/MY STICK", "/dev/sdd1");
        f.disk("sde", &usb(5), "8:64", 2048, &[("removable", "1")]);
        f.disk(
            "sdf",
            &usb(6),
            "8:80",
            15_633_408,
            &[("queue/logical_block_size", "4096")],
        );
        f.disk(
            "sdg",
            &usb(7),
            "8:96",
            15_633_408,
            &[("removable", "1"), ("holders/dm-0", "")],
        );
        f.disk("loop0", "virtual", "7:0", 131_072, &[]);
        f
    }
}

fn disk(f: &Fake, name: &str) -> sysfs::Disk {
    sysfs::disks(&f.roots())
        .into_iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

const IMAGE: u64 = 49 << 20;

#[test]
fn fake_sysfs_describes_each_disk() {
    let d = Dir::new();
    let f = Fake::machine(&d);
    let all = sysfs::disks(&f.roots());
    let names: Vec<&str> = all.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "loop0", "nvme0n1", "sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg"
        ]
    );
    let sdb = disk(&f, "sdb");
    assert_eq!(sdb.bus, "usb");
    assert!(sdb.removable && !sdb.read_only && !sdb.system);
    assert_eq!(sdb.vendor.as_deref(), Some("SanDisk"));
    assert_eq!(sdb.model.as_deref(), Some("Cruzer Blade"));
    assert_eq!(sdb.serial.as_deref(), Some("4C530001230815117433"));
    assert_eq!(sdb.size_bytes, 15_633_408 * 512);
    assert_eq!(sdb.partitions, ["sdb1"]);
    assert_eq!(sdb.devnum, "8:16");
    let nvme = disk(&f, "nvme0n1");
    assert!(nvme.system);
    assert_eq!(nvme.bus, "nvme");
    assert_eq!(nvme.serial.as_deref(), Some("S5GXNF0R123456"));
    assert_eq!(nvme.mounted.len(), 2);
    assert_eq!(disk(&f, "sda").bus, "other");
    assert_eq!(disk(&f, "loop0").bus, "virtual");
    assert_eq!(
        disk(&f, "sdd").mounted[0].mount_point,
        "/media/user/MY STICK"
    );
}

#[test]
fn safety_rules_refuse_what_they_must() {
    let d = Dir::new();
    let f = Fake::machine(&d);
    let check = |n: &str, allow: bool| rules::check(&disk(&f, n), IMAGE, allow);
    assert_eq!(check("sdb", false), Ok(()));
    assert!(matches!(
        check("nvme0n1", true),
        Err(Refusal::System { .. })
    ));
    assert!(matches!(
        check("sda", false),
        Err(Refusal::NotRemovable { .. })
    ));
    assert_eq!(check("sda", true), Ok(()));
    assert!(matches!(check("sdc", true), Err(Refusal::ReadOnly { .. })));
    let mounted = check("sdd", true).unwrap_err();
    let text = mounted.to_string();
    assert!(
        text.contains("sdd1 mounted on /media/user/MY STICK") && text.contains("will not unmount"),
        "{text}"
    );
    assert!(matches!(check("sde", false), Err(Refusal::TooSmall { .. })));
    assert!(matches!(
        check("sdf", true),
        Err(Refusal::SectorSize { size: 4096, .. })
    ));
    assert!(matches!(check("sdg", true), Err(Refusal::Held { .. })));
    assert!(matches!(
        check("loop0", false),
        Err(Refusal::NotRemovable { .. })
    ));
    assert_eq!(check("loop0", true), Ok(()));
}

#[test]
fn swap_and_device_mapper_make_a_disk_the_system_disk() {
    let d = Dir::new();
    let f = Fake::machine(&d);
    // sda1 as swap; root on dm-1 whose slave is sdb1.
    f.put(
        "proc/swaps",
        "Filename\tType\tSize\tUsed\tPriority\n/dev/sda1 partition 8388604 0 -2\n",
    );
    f.disk("dm-1", "virtual", "254:1", 1000, &[]);
    std::fs::create_dir_all(f.root.join("sys/block/dm-1/slaves/sdb1")).unwrap();
    f.mount("254:1", "/usr", "/dev/mapper/usr");
    assert!(disk(&f, "sda").system);
    assert_eq!(disk(&f, "sda").swap, ["sda1"]);
    assert!(disk(&f, "sdb").system);
    assert!(matches!(
        rules::check(&disk(&f, "sdb"), IMAGE, true),
        Err(Refusal::System { .. })
    ));
}

fn small_image(d: &Dir) -> PathBuf {
    let mut t = MediaTree {
        label: "Remote worker".into(),
        mtime: 1_700_000_000,
        ..Default::default()
    };
    t.insert("bootmgr", FileSource::Bytes(vec![0x42; 100_000]));
    t.insert(
        "sources/boot.wim",
        FileSource::Bytes((0..=255u8).cycle().take(3 << 20).collect()),
    );
    let img = d.join("stick.img");
    usb::write(&t, &img, &Silent).unwrap();
    assert_eq!(std::fs::metadata(&img).unwrap().len(), IMAGE);
    img
}

#[test]
fn plan_refuses_partitions_and_unknown_nodes_and_accepts_the_stick() {
    let d = Dir::new();
    let f = Fake::machine(&d);
    let img = small_image(&d);
    let roots = f.roots();
    let sdb = f.node(&d, "sdb", 8, 16);
    let p = write::plan(&roots, &img, &sdb, false, true).unwrap();
    assert_eq!(p.disk.as_ref().unwrap().name, "sdb");
    let sdb1 = f.node(&d, "sdb1", 8, 17);
    let e = write::plan(&roots, &img, &sdb1, false, true).unwrap_err();
    assert!(e.to_string().contains("partition of /dev/sdb"), "{e}");
    assert!(e.hint().unwrap().contains("--device /dev/sdb"));
    let odd = f.node(&d, "sdz", 8, 250);
    assert!(
        write::plan(&roots, &img, &odd, true, true)
            .unwrap_err()
            .to_string()
            .contains("not in /sys/block")
    );
    let nvme = f.node(&d, "nvme0n1", 259, 0);
    let e = write::plan(&roots, &img, &nvme, true, true).unwrap_err();
    assert!(e.to_string().contains("running system"), "{e}");
    let missing = f.root.join("dev/sdq");
    assert!(
        write::plan(&roots, &img, &missing, true, true)
            .unwrap_err()
            .to_string()
            .contains("no such device")
    );
}

/// A loop device over a fresh backing file, detached on drop.
struct Loop {
    dev: String,
    backing: PathBuf,
}

impl Loop {
    fn new(d: &Dir, name: &str, bytes: u64, extra: &[&str]) -> Loop {
        let backing = d.join(name);
        std::fs::write(&backing, vec![0xFF; usize::try_from(bytes).unwrap()]).unwrap();
        let mut args = vec!["-f", "--show"];
        args.extend(extra);
        args.push(backing.to_str().unwrap());
        let r = d.tool("losetup", &args);
        assert_eq!(r.code, 0, "losetup needs root and /dev/loop*: {}", r.stderr);
        Loop {
            dev: r.stdout.trim().to_string(),
            backing,
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dev).output();
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .output();
    }
}

#[test]
fn writes_a_loop_device_byte_for_byte_and_verifies() {
    let d = Dir::new();
    let img = small_image(&d);
    let lo = Loop::new(&d, "backing.bin", 64 << 20, &[]);
    let img_s = img.to_str().unwrap();
    // Refused without the override: a loop device is neither USB nor removable.
    let r = d
        .peforge(&["media", "write", img_s, "--device", &lo.dev, "--yes"])
        .fails(2);
    assert!(
        r.stderr.contains("neither a USB device nor removable"),
        "{}",
        r.stderr
    );
    assert!(
        std::fs::read(&lo.backing)
            .unwrap()
            .iter()
            .all(|&b| b == 0xFF),
        "nothing written when refused"
    );
    // No terminal and no --yes: refused, nothing written.
    let r = d
        .peforge(&[
            "media",
            "write",
            img_s,
            "--device",
            &lo.dev,
            "--allow-non-removable",
        ])
        .fails(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(
        std::fs::read(&lo.backing)
            .unwrap()
            .iter()
            .all(|&b| b == 0xFF)
    );

    let r = d
        .peforge(&[
            "media",
            "write",
            img_s,
            "--device",
            &lo.dev,
            "--yes",
            "--allow-non-removable",
            "--json",
        ])
        .ok();
    common::assert_json_schema("media-write", &r.stdout);
    let v = r.json();
    assert_eq!(v["kind"], "device");
    assert_eq!(v["verified"], true);
    assert_eq!(v["verified_from_device"], true);
    assert_eq!(v["sha256"], sha256(&img));
    let back = std::fs::read(&lo.backing).unwrap();
    let image = std::fs::read(&img).unwrap();
    assert!(
        back[..image.len()] == image[..],
        "device content differs from the image"
    );
    // The last MiB is wiped (stale backup GPT), the bytes between untouched.
    assert!(back[back.len() - (1 << 20)..].iter().all(|&b| b == 0));
    assert!(
        back[image.len()..back.len() - (1 << 20)]
            .iter()
            .all(|&b| b == 0xFF)
    );
    // `media devices` lists it, with the reason it is not offered; valid against the schema.
    let list = d.peforge(&["media", "devices", "--json"]).ok();
    common::assert_json_schema("media-devices", &list.stdout);
    let name = lo.dev.trim_start_matches("/dev/");
    let entry = list.json()["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .expect("loop device listed");
    assert_eq!(entry["size_bytes"], 64 << 20);
    assert_eq!(entry["bus"], "virtual");
    // lsblk (util-linux, its own sysfs reader) agrees on size, read-only and removable.
    let ls = d
        .tool("lsblk", &["-b", "-J", "-o", "NAME,SIZE,RO,RM", &lo.dev])
        .ok();
    let ls: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    let l = &ls["blockdevices"][0];
    assert_eq!(l["name"], name);
    assert_eq!(l["size"].as_u64(), entry["size_bytes"].as_u64());
    assert_eq!(l["ro"], entry["read_only"]);
    assert_eq!(l["rm"], entry["removable"]);
    assert!(
        entry["refusal"]
            .as_str()
            .unwrap()
            .contains("neither a USB device")
    );
}

/// Whether the image's MBR or FAT boot sector is on the device's backing file.
fn written_any(backing: &Path, img: &Path) -> bool {
    let b = std::fs::read(backing).unwrap();
    let i = std::fs::read(img).unwrap();
    let at = usize::try_from(usb::PARTITION_START).unwrap();
    b[..512] == i[..512] || b[at..at + 512] == i[at..at + 512]
}

#[test]
fn a_mounted_or_busy_loop_device_is_refused_and_left_alone() {
    let d = Dir::new();
    let img = small_image(&d);
    let lo = Loop::new(&d, "mounted.bin", 64 << 20, &[]);
    d.tool("mkfs.ext4", &["-q", "-F", &lo.dev]).ok();
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    d.tool("mount", &[&lo.dev, mnt.to_str().unwrap()]).ok();
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            &lo.dev,
            "--yes",
            "--allow-non-removable",
        ])
        .fails(2);
    assert!(
        r.stderr.contains("mounted on") && r.stderr.contains(mnt.to_str().unwrap()),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("will not unmount"), "{}", r.stderr);
    d.tool("umount", &[mnt.to_str().unwrap()]).ok();
    // ext4 itself changes the file while mounted; none of the image's sectors arrived.
    assert!(!written_any(&lo.backing, &img));

    // Held exclusively by another opener (not in the mount table): O_EXCL gives EBUSY.
    let lo2 = Loop::new(&d, "held.bin", 64 << 20, &[]);
    let held = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(&lo2.dev)
        .unwrap();
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            &lo2.dev,
            "--yes",
            "--allow-non-removable",
        ])
        .fails(2);
    assert!(r.stderr.contains("in use"), "{}", r.stderr);
    drop(held);
    assert!(
        std::fs::read(&lo2.backing)
            .unwrap()
            .iter()
            .all(|&b| b == 0xFF)
    );

    // Read-only loop device.
    let ro = Loop::new(&d, "ro.bin", 64 << 20, &["-r"]);
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            &ro.dev,
            "--yes",
            "--allow-non-removable",
        ])
        .fails(2);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    // Too small.
    let small = Loop::new(&d, "small.bin", 16 << 20, &[]);
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            &small.dev,
            "--yes",
            "--allow-non-removable",
        ])
        .fails(2);
    assert!(r.stderr.contains("the image needs"), "{}", r.stderr);
}

#[test]
fn bad_targets_get_one_line_and_exit_2() {
    let d = Dir::new();
    let img = small_image(&d);
    let img_s = img.to_str().unwrap();
    let r = d
        .peforge(&["media", "write", img_s, "--device", "/dev/null", "--yes"])
        .fails(2);
    assert!(
        r.stderr.contains("not a block device (a character device)"),
        "{}",
        r.stderr
    );
    let r = d
        .peforge(&["media", "write", img_s, "--device", "/dev/sdzz9", "--yes"])
        .fails(2);
    assert!(r.stderr.contains("no such device"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    let r = d
        .peforge(&[
            "media",
            "write",
            "missing.img",
            "--device",
            "out.img",
            "--yes",
        ])
        .fails(2);
    assert!(r.stderr.contains("missing.img"), "{}", r.stderr);
}

#[test]
fn a_regular_file_target_gets_the_image_byte_for_byte() {
    let d = Dir::new();
    let img = small_image(&d);
    let out = d.join("copy.img");
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            out.to_str().unwrap(),
            "--json",
        ])
        .ok();
    common::assert_json_schema("media-write", &r.stdout);
    assert_eq!(r.json()["kind"], "file");
    assert_eq!(sha256(&out), sha256(&img));
    let t = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            out.to_str().unwrap(),
        ])
        .ok();
    assert!(t.stdout.contains("verified (SHA-256)"), "{}", t.stdout);
}

#[test]
fn media_build_straight_onto_a_stick_spans_it_with_the_fat32_partition() {
    let d = Dir::new();
    let _ = d.media_tree(); // boot.wim with the bootable stand-ins
    d.secret_file("media.pass", "Corr3ct-Horse!Battery");
    d.media_pki("Contoso CMG Root", "Pfx-Export#2026");
    let lo = Loop::new(&d, "stick.bin", 96 << 20, &[]);
    let mp = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
    let build = |extra: &[&str]| {
        let mut a = common::media_build_args(mp, "usb", "kept.img");
        a.extend(["--no-prompt", "--device", &lo.dev]);
        a.extend(extra);
        d.peforge(&a)
    };
    // Refused: no override for a loop device, no --yes without a terminal, --format iso.
    let r = build(&["--yes"]).fails(2);
    assert!(r.stderr.contains("neither a USB device"), "{}", r.stderr);
    let r = build(&["--allow-non-removable"]).fails(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert!(!d.join("kept.img").exists());
    assert!(
        std::fs::read(&lo.backing)
            .unwrap()
            .iter()
            .all(|&b| b == 0xFF)
    );

    let r = build(&["--yes", "--allow-non-removable"]).ok();
    assert!(r.stdout.contains("read back and verified"), "{}", r.stdout);
    // The kept image is stick-sized, its partition spans the stick from 1 MiB.
    let img = d.join("kept.img");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 96 << 20);
    let dump = d.tool("sfdisk", &["-d", img.to_str().unwrap()]).ok();
    assert!(
        dump.stdout
            .contains("start=        2048, size=      194560, type=c, bootable"),
        "{}",
        dump.stdout
    );
    // The stick: first MiB as the image, and every file readable (mtools, a second reader)
    // with the same bytes as in the image; FAT32 clean although free clusters hold old bytes.
    let back = std::fs::read(&lo.backing).unwrap();
    let image = std::fs::read(&img).unwrap();
    assert!(back[..1 << 20] == image[..1 << 20]);
    let on_stick = format!("{}@@1M", lo.backing.display());
    let in_image = format!("{}@@1M", img.display());
    for f in [
        "::/bootmgr",
        "::/sources/boot.wim",
        "::/SMS/data/Variables.dat",
    ] {
        let a = d.join("a.bin");
        let b = d.join("b.bin");
        d.tool(
            "mcopy",
            &["-n", "-o", "-i", &on_stick, f, a.to_str().unwrap()],
        )
        .ok();
        d.tool(
            "mcopy",
            &["-n", "-o", "-i", &in_image, f, b.to_str().unwrap()],
        )
        .ok();
        assert_eq!(sha256(&a), sha256(&b), "{f}");
    }
    let part = d.join("part.fat");
    std::fs::write(&part, &back[1 << 20..]).unwrap();
    let fsck = d.tool("fsck.fat", &["-n", part.to_str().unwrap()]);
    assert_eq!(fsck.code, 0, "{}", fsck.stdout);
    let r = usb::UsbReader::open(&lo.backing).unwrap();
    assert!(r.bios_boot().peforge);
}

#[test]
fn ctrl_c_stops_the_write_and_says_the_target_is_incomplete() {
    let d = Dir::new();
    let img = d.join("big.img");
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(4 << 30).unwrap(); // sparse: reads fast, writing it takes far longer than 1 s
    drop(f);
    let out = d.join("stick.img");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_peforge"))
        .args([
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.tool("kill", &["-INT", &child.id().to_string()]).ok();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("interrupted after") && err.contains("incomplete"),
        "{err}"
    );
    assert!(
        !out.exists(),
        "an interrupted write must not leave the target"
    );
}

/// A device that fails mid-write: a loop device whose sparse backing file lives on a tmpfs too
/// small for the image, so the kernel returns I/O errors once the tmpfs is full (as a failing
/// or pulled stick does). One clear line, exit 2, no panic.
#[test]
fn a_device_that_fails_mid_write_gets_one_line_and_exit_2() {
    let d = Dir::new();
    let img = small_image(&d);
    let small = d.join("small");
    std::fs::create_dir(&small).unwrap();
    d.tool(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            "size=8m",
            "tmpfs",
            small.to_str().unwrap(),
        ],
    )
    .ok();
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).output();
        }
    }
    let backing = small.join("failing.bin");
    std::fs::File::create(&backing)
        .unwrap()
        .set_len(IMAGE + (4 << 20))
        .unwrap();
    let r = d.tool("losetup", &["-f", "--show", backing.to_str().unwrap()]);
    assert_eq!(r.code, 0, "losetup needs root and /dev/loop*: {}", r.stderr);
    // Dropped in this order: the loop device is detached before the tmpfs is unmounted.
    let _unmount = Unmount(small.clone());
    let lo = Loop {
        dev: r.stdout.trim().to_string(),
        backing,
    };
    let r = d
        .peforge(&[
            "media",
            "write",
            img.to_str().unwrap(),
            "--device",
            &lo.dev,
            "--yes",
            "--allow-non-removable",
        ])
        .fails(2);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].contains(&lo.dev), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// On a terminal (a pseudo-terminal from `script`), `media write` shows the disk and asks for
/// its name to be typed back: a wrong answer writes nothing; the right one writes, draws a
/// progress bar with throughput, and verifies.
#[test]
fn on_a_terminal_the_device_name_must_be_typed_back() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let d = Dir::new();
    let img = small_image(&d);
    let lo = Loop::new(&d, "tty.bin", 64 << 20, &[]);
    let pf = env!("CARGO_BIN_EXE_peforge");
    let run = |answer: &str| -> (Option<i32>, String) {
        let cmd = format!(
            "{pf} media write {} --device {} --allow-non-removable",
            img.display(),
            lo.dev
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs the command on a pseudo-terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{answer}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let name = lo.dev.trim_start_matches("/dev/").to_string();
    let (code, screen) = run("sdz");
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("This erases everything on:"), "{screen}");
    assert!(screen.contains(&lo.dev), "{screen}");
    assert!(
        screen.contains(&format!("Type the device name ({name})")),
        "{screen}"
    );
    assert!(
        screen.contains("not confirmed; nothing was written"),
        "{screen}"
    );
    assert!(!written_any(&lo.backing, &img));

    let (code, screen) = run(&name);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("iB/s"),
        "a throughput figure (KiB/s, MiB/s): {screen}"
    );
    let written = std::fs::read(&lo.backing).unwrap();
    let image = std::fs::read(&img).unwrap();
    assert_eq!(&written[..image.len()], &image[..]);
}
