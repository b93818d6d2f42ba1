//! Block devices as Linux describes them: `/sys/block` (sysfs), `/proc/self/mountinfo` and
//! `/proc/swaps` (`shared/specs/usb-boot.md` §10.3). No udev: the attributes peforge needs are
//! all in sysfs. Every path is taken from [`Roots`] so tests can point it at a fake tree.
//!
//! Everything read here is untrusted text: parsers skip lines and attributes they cannot use
//! instead of failing, and never panic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where the system's device descriptions live.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The sysfs mount (`/sys`).
    pub sys: PathBuf,
    /// The mount table (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// Active swap areas (`/proc/swaps`).
    pub swaps: PathBuf,
    /// Device nodes (`/dev`).
    pub dev: PathBuf,
}

impl Roots {
    /// The running system's.
    pub fn system() -> Roots {
        Roots::under(Path::new("/"))
    }

    /// The same layout below `root` (a fake tree in tests).
    pub fn under(root: &Path) -> Roots {
        Roots {
            sys: root.join("sys"),
            mountinfo: root.join("proc/self/mountinfo"),
            swaps: root.join("proc/swaps"),
            dev: root.join("dev"),
        }
    }
}

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the mounted device (field 3).
    pub devnum: (u32, u32),
    /// Mount point, octal escapes decoded (field 5).
    pub mount_point: String,
    /// Mount source after the ` - ` separator (e.g. `/dev/sdb1`).
    pub source: String,
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let oct = b.get(i + 1..i + 4).and_then(|d| {
            d.iter()
                .all(|x| (b'0'..=b'7').contains(x))
                .then(|| std::str::from_utf8(d).ok())
                .flatten()
                .and_then(|t| u8::from_str_radix(t, 8).ok())
        });
        match (c, oct) {
            (b'\\', Some(v)) => {
                out.push(v);
                i += 4;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `major:minor`.
pub fn parse_devnum(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Parses `/proc/self/mountinfo` (proc(5)); unusable lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let f: Vec<&str> = head.split(' ').collect();
            let devnum = parse_devnum(f.get(2)?)?;
            let mount_point = unescape(f.get(4)?);
            let source = unescape(tail.split(' ').nth(1).unwrap_or(""));
            Some(Mount {
                devnum,
                mount_point,
                source,
            })
        })
        .collect()
}

/// Parses `/proc/swaps`: the file name column of every line after the header.
pub fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(unescape))
        .collect()
}

/// A mounted partition (or disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountedOn {
    /// Kernel name of the mounted device (`sdb1`).
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
}

/// A whole disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    /// Kernel name (`sdb`).
    pub name: String,
    /// Device node (`/dev/sdb`).
    pub path: String,
    /// `major:minor`.
    pub devnum: String,
    /// Size in bytes (sysfs `size` × 512).
    pub size_bytes: u64,
    /// `queue/logical_block_size`.
    pub logical_block_size: u64,
    /// sysfs `ro`.
    pub read_only: bool,
    /// sysfs `removable`.
    pub removable: bool,
    /// `usb` when the device sits below a USB controller, `nvme`, `virtual` (loop, zram, dm),
    /// else `other`.
    pub bus: String,
    /// `device/vendor`.
    pub vendor: Option<String>,
    /// `device/model`.
    pub model: Option<String>,
    /// The USB device's `serial`, else `device/serial`, else `device/vpd_pg80`.
    pub serial: Option<String>,
    /// Kernel names of its partitions.
    pub partitions: Vec<String>,
    /// The disk or its partitions in the mount table.
    pub mounted: Vec<MountedOn>,
    /// The disk or its partitions as active swap.
    pub swap: Vec<String>,
    /// `holders/` of the disk and its partitions (device mapper, md, bcache).
    pub holders: Vec<String>,
    /// Holds `/`, `/boot`, `/boot/efi`, `/usr` or active swap (directly or below dm/md).
    pub system: bool,
}

/// What a `major:minor` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A whole disk.
    Disk(Box<Disk>),
    /// A partition of `disk`.
    Partition {
        /// Its kernel name.
        name: String,
        /// The disk's kernel name.
        disk: String,
    },
}

fn attr(dir: &Path, name: &str) -> Option<String> {
    let raw = std::fs::read(dir.join(name)).ok()?;
    let s = String::from_utf8_lossy(&raw).trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn attr_u64(dir: &Path, name: &str) -> Option<u64> {
    attr(dir, name)?.parse().ok()
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `device/vpd_pg80`: SCSI unit serial number page, 4 header bytes then ASCII.
fn vpd_serial(raw: &[u8]) -> Option<String> {
    let s: String = raw
        .get(4..)?
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ')
        .map(|&b| char::from(b))
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

struct Raw {
    dir: PathBuf,
    canonical: PathBuf,
    devnum: Option<(u32, u32)>,
    partitions: Vec<(String, Option<(u32, u32)>)>,
}

struct Table {
    roots: Roots,
    disks: BTreeMap<String, Raw>,
    /// partition name → disk name
    parent: BTreeMap<String, String>,
    by_devnum: BTreeMap<(u32, u32), String>,
}

impl Table {
    fn read(roots: &Roots) -> Table {
        let block = roots.sys.join("block");
        let mut t = Table {
            roots: roots.clone(),
            disks: BTreeMap::new(),
            parent: BTreeMap::new(),
            by_devnum: BTreeMap::new(),
        };
        for name in list_dir(&block) {
            let dir = block.join(&name);
            let canonical = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
            let devnum = attr(&dir, "dev").and_then(|d| parse_devnum(&d));
            let partitions: Vec<(String, Option<(u32, u32)>)> = list_dir(&dir)
                .into_iter()
                .filter(|p| dir.join(p).join("partition").is_file())
                .map(|p| {
                    let d = attr(&dir.join(&p), "dev").and_then(|d| parse_devnum(&d));
                    (p, d)
                })
                .collect();
            if let Some(d) = devnum {
                t.by_devnum.insert(d, name.clone());
            }
            for (p, d) in &partitions {
                t.parent.insert(p.clone(), name.clone());
                if let Some(d) = d {
                    t.by_devnum.insert(*d, p.clone());
                }
            }
            t.disks.insert(
                name,
                Raw {
                    dir,
                    canonical,
                    devnum,
                    partitions,
                },
            );
        }
        t
    }

    /// The disks under a kernel name: a partition's disk, a dm/md device's slaves' disks.
    fn disks_of(&self, name: &str, depth: u8, out: &mut BTreeSet<String>) {
        if depth > 8 {
            return;
        }
        if let Some(d) = self.parent.get(name) {
            out.insert(d.clone());
            return;
        }
        let Some(raw) = self.disks.get(name) else {
            return;
        };
        let slaves = list_dir(&raw.dir.join("slaves"));
        if slaves.is_empty() {
            out.insert(name.to_string());
        }
        for s in slaves {
            self.disks_of(&s, depth + 1, out);
        }
    }

    fn swap_names(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.roots.swaps).unwrap_or_default();
        parse_swaps(&text)
            .into_iter()
            .filter_map(|p| {
                let path = Path::new(&p);
                // /dev/mapper/x and /dev/disk/by-*/ are symlinks to the kernel name.
                let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                let name = real.file_name()?.to_string_lossy().into_owned();
                (self.disks.contains_key(&name) || self.parent.contains_key(&name)).then_some(name)
            })
            .collect()
    }

    fn disk(
        &self,
        name: &str,
        mounts: &[Mount],
        swaps: &[String],
        system: &BTreeSet<String>,
    ) -> Option<Disk> {
        let raw = self.disks.get(name)?;
        let dir = &raw.dir;
        let dev = dir.join("device");
        let path_s = raw.canonical.to_string_lossy();
        let usb = raw.canonical.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c.strip_prefix("usb")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        let bus = if usb {
            "usb"
        } else if name.starts_with("nvme") {
            "nvme"
        } else if path_s.contains("/devices/virtual/") {
            "virtual"
        } else {
            "other"
        };
        // The USB device directory (the ancestor with idVendor) carries the serial.
        let canonical_dev = std::fs::canonicalize(&dev).ok();
        let sys = std::fs::canonicalize(&self.roots.sys).unwrap_or_else(|_| self.roots.sys.clone());
        let usb_serial = canonical_dev.as_deref().and_then(|d| {
            d.ancestors()
                .take_while(|a| a.starts_with(&sys) && *a != sys)
                .take(12)
                .find(|a| a.join("idVendor").is_file())
                .and_then(|a| attr(a, "serial"))
        });
        let serial = usb_serial.or_else(|| attr(&dev, "serial")).or_else(|| {
            std::fs::read(dev.join("vpd_pg80"))
                .ok()
                .and_then(|r| vpd_serial(&r))
        });
        let own: BTreeSet<&str> = std::iter::once(name)
            .chain(raw.partitions.iter().map(|(p, _)| p.as_str()))
            .collect();
        let mut nums: Vec<((u32, u32), &str)> = raw.devnum.map(|d| (d, name)).into_iter().collect();
        nums.extend(
            raw.partitions
                .iter()
                .filter_map(|(p, d)| d.map(|d| (d, p.as_str()))),
        );
        let mounted = mounts
            .iter()
            .filter_map(|m| {
                nums.iter()
                    .find(|(d, _)| *d == m.devnum)
                    .map(|(_, n)| MountedOn {
                        device: (*n).to_string(),
                        mount_point: m.mount_point.clone(),
                    })
            })
            .collect();
        let mut holders: Vec<String> = Vec::new();
        holders.extend(list_dir(&dir.join("holders")));
        for (p, _) in &raw.partitions {
            holders.extend(list_dir(&dir.join(p).join("holders")));
        }
        Some(Disk {
            name: name.to_string(),
            path: self.roots.dev.join(name).to_string_lossy().into_owned(),
            devnum: raw
                .devnum
                .map(|(a, b)| format!("{a}:{b}"))
                .unwrap_or_default(),
            size_bytes: attr_u64(dir, "size").unwrap_or(0).saturating_mul(512),
            logical_block_size: attr_u64(dir, "queue/logical_block_size").unwrap_or(512),
            read_only: attr(dir, "ro").as_deref() == Some("1"),
            removable: attr(dir, "removable").as_deref() == Some("1"),
            bus: bus.to_string(),
            vendor: attr(&dev, "vendor"),
            model: attr(&dev, "model"),
            serial,
            partitions: raw.partitions.iter().map(|(p, _)| p.clone()).collect(),
            mounted,
            swap: swaps
                .iter()
                .filter(|s| own.contains(s.as_str()))
                .cloned()
                .collect(),
            holders,
            system: system.contains(name),
        })
    }
}

fn mounts(roots: &Roots) -> Vec<Mount> {
    parse_mountinfo(&std::fs::read_to_string(&roots.mountinfo).unwrap_or_default())
}

/// Mount points whose disk is "the running system".
const SYSTEM_MOUNTS: [&str; 4] = ["/", "/boot", "/boot/efi", "/usr"];

fn context(roots: &Roots) -> (Table, Vec<Mount>, Vec<String>, BTreeSet<String>) {
    let t = Table::read(roots);
    let m = mounts(roots);
    let swaps = t.swap_names();
    let mut system = BTreeSet::new();
    for mount in m
        .iter()
        .filter(|x| SYSTEM_MOUNTS.contains(&x.mount_point.as_str()))
    {
        if let Some(n) = t.by_devnum.get(&mount.devnum) {
            t.disks_of(n, 0, &mut system);
        }
    }
    for s in &swaps {
        t.disks_of(s, 0, &mut system);
    }
    (t, m, swaps, system)
}

/// Every whole disk in `/sys/block`, sorted by name.
pub fn disks(roots: &Roots) -> Vec<Disk> {
    let (t, m, swaps, system) = context(roots);
    t.disks
        .keys()
        .filter_map(|n| t.disk(n, &m, &swaps, &system))
        .collect()
}

/// What `major:minor` is, if sysfs knows it.
pub fn find(roots: &Roots, devnum: (u32, u32)) -> Option<Node> {
    let (t, m, swaps, system) = context(roots);
    let name = t.by_devnum.get(&devnum)?;
    if let Some(disk) = t.parent.get(name) {
        return Some(Node::Partition {
            name: name.clone(),
            disk: disk.clone(),
        });
    }
    t.disk(name, &m, &swaps, &system)
        .map(|d| Node::Disk(Box::new(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_decode_escapes_and_skip_garbage() {
        let m = parse_mountinfo(
            "36 35 8:17 / /media/my\\040stick rw,relatime shared:1 - vfat /dev/sdb1 rw\n\
             garbage\n\
             1 2 x:y / /a rw - ext4 /dev/x rw\n",
        );
        assert_eq!(
            m,
            vec![Mount {
                devnum: (8, 17),
                mount_point: "/media/my stick".into(),
                source: "/dev/sdb1".into()
            }]
        );
        assert_eq!(
            parse_swaps("Filename Type Size Used Priority\n/dev/sda2 partition 1 0 -2\n"),
            vec!["/dev/sda2".to_string()]
        );
        assert_eq!(vpd_serial(b"\0\x80\0\x08 ABC123 "), Some("ABC123".into()));
    }
}
