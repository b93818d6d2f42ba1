//! Work folders and temporary files that the next run can recognise when a run dies.
//!
//! Every temporary item peforge makes next to an output (a `.wim.tmp`, a media work folder)
//! belongs to a [`Claim`]: an owner record `.peforge-<token>.owner` in the same folder, locked
//! (`flock`) for as long as the run lives and holding its pid, boot id and process start time.
//! The items are named `.peforge-<token>-…`. A run that ends normally removes them and the
//! record. A run that dies (any signal, power loss) leaves them; the kernel drops its lock, so
//! the next run that writes in the same folder ([`Claim::new`] calls [`sweep`]) finds the record
//! unlocked, confirms the process is gone (different boot, or no process with that pid and start
//! time), and removes the items with a one-line note ([`take_notes`]). Nothing is judged by age:
//! a record whose lock is held, or whose process is still alive, is left alone. Claiming and
//! sweeping hold a lock on the folder itself, so a record is never seen between its creation and
//! its own lock: an unlocked empty record is one of a run killed in that moment.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Suffix of owner records.
const OWNER_SUFFIX: &str = ".owner";
/// Prefix of every temporary item peforge makes next to an output.
const PREFIX: &str = ".peforge-";

/// Notes of the sweeps so far in this process (the CLI prints them).
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Returns and clears the notes of the sweeps so far (one line each: what was removed, or
/// what could not be removed and where it is).
pub fn take_notes() -> Vec<String> {
    NOTES
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default()
}

fn note(s: String) {
    if let Ok(mut n) = NOTES.lock() {
        n.push(s);
    }
}

/// Who owns a claim: enough to tell, after a crash or a reboot, that the owner is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// `/proc/sys/kernel/random/boot_id` of the boot it ran in.
    pub boot_id: String,
    /// Start time of the process in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
    /// What it was doing (e.g. `wim write`).
    pub what: String,
}

impl Owner {
    /// This process.
    pub fn current(what: &str) -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            boot_id: boot_id().unwrap_or_default(),
            start_ticks: start_ticks(pid).unwrap_or(0),
            what: what.into(),
        }
    }

    fn to_record(&self) -> String {
        format!(
            "peforge owner record\npid {}\nboot_id {}\nstart_ticks {}\nwhat {}\n",
            self.pid, self.boot_id, self.start_ticks, self.what
        )
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        if lines.next()? != "peforge owner record" {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .map(str::to_string)
        };
        let pid = field("pid")?.parse().ok()?;
        let boot_id = field("boot_id")?;
        let start_ticks = field("start_ticks")?.parse().ok()?;
        let what = field("what")?;
        Some(Owner {
            pid,
            boot_id,
            start_ticks,
            what,
        })
    }

    /// Whether this owner's process still runs: same boot, and a process with its pid and start
    /// time exists.
    pub fn is_alive(&self) -> bool {
        if boot_id().is_some_and(|b| b != self.boot_id) {
            return false;
        }
        start_ticks(self.pid).is_some_and(|t| t == self.start_ticks)
    }
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Field 22 of `/proc/<pid>/stat` (after the parenthesised command name, which may hold spaces).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // After ")" come fields 3.. ; start time is field 22, i.e. the 20th of these.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A run's claim on a folder: its owner record, locked while the claim lives. Temporary items
/// made through it are named after its token; dropping the claim removes the record (the items
/// are removed by their own guards or renamed into place before that).
#[derive(Debug)]
pub struct Claim {
    dir: PathBuf,
    token: String,
    record: PathBuf,
    _lock: File,
}

impl Claim {
    /// Sweeps `dir` of what dead runs left (see [`sweep`]), then writes and locks this run's
    /// owner record there.
    pub fn new(dir: &Path, what: &str) -> std::io::Result<Claim> {
        // Sweeping and claiming hold the folder's lock, so a record is never seen between its
        // creation and its own lock: an unlocked record is always one of a dead run.
        let folder = File::open(dir)?;
        folder.lock()?;
        sweep_locked(dir);
        // Registered before it exists, so a signal handler ([`remove_live`]) never misses it.
        let (mut file, path, token) = loop {
            let token = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            let path = dir.join(format!("{PREFIX}{token}{OWNER_SUFFIX}"));
            if let Ok(mut live) = LIVE.lock() {
                live.push((dir.to_path_buf(), token.clone()));
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => break (f, path, token),
                Err(e) => {
                    forget_live(&token);
                    if e.kind() != std::io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        };
        file.lock()?;
        file.write_all(Owner::current(what).to_record().as_bytes())?;
        file.sync_all()?;
        drop(folder);
        Ok(Claim {
            dir: dir.to_path_buf(),
            token,
            record: path,
            _lock: file,
        })
    }

    /// The owner record (for a signal handler that removes it before the process exits).
    pub fn record(&self) -> &Path {
        &self.record
    }

    /// The folder claimed.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The name prefix of this claim's items: `.peforge-<token>-`.
    pub fn prefix(&self) -> String {
        format!("{PREFIX}{}-", self.token)
    }

    /// A temporary file in the folder, owned by this claim (removed when dropped unless
    /// persisted).
    pub fn temp_file(&self, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(&self.prefix())
            .suffix(suffix)
            .tempfile_in(&self.dir)
    }

    /// A temporary folder `.peforge-<token>-<name>-*` in the folder, owned by this claim
    /// (removed when dropped).
    pub fn temp_dir(&self, name: &str) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(&format!("{}{name}-", self.prefix()))
            .tempdir_in(&self.dir)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.record);
        forget_live(&self.token);
    }
}

/// The claims of this process: (folder, token).
static LIVE: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

fn forget_live(token: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, t)| t != token);
    }
}

/// Removes the items and owner records of every claim of this process. For a Ctrl-C/SIGTERM
/// handler that then ends the process (destructors do not run then).
pub fn remove_live() {
    let Ok(mut live) = LIVE.lock() else {
        return;
    };
    for (dir, token) in live.drain(..) {
        let prefix = format!("{PREFIX}{token}-");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.filter_map(|e| e.ok()) {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let p = e.path();
                    let _ = if p.is_dir() && !p.is_symlink() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
        }
        let _ = std::fs::remove_file(dir.join(format!("{PREFIX}{token}{OWNER_SUFFIX}")));
    }
}

/// Removes from `dir` the items of runs that died: for each owner record whose lock is free and
/// whose process is gone, every `.peforge-<token>-…` entry and the record. Adds one note per
/// record (what was removed, or where what could not be removed is). Never fails: a folder that
/// cannot be read is simply not swept. Returns the notes (also kept for [`take_notes`]).
pub fn sweep(dir: &Path) -> Vec<String> {
    let Ok(folder) = File::open(dir) else {
        return Vec::new();
    };
    if folder.lock().is_err() {
        return Vec::new();
    }
    sweep_locked(dir)
}

/// [`sweep`], with the folder's lock held by the caller.
fn sweep_locked(dir: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return notes;
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    for record in names.iter().filter(|n| n.ends_with(OWNER_SUFFIX)) {
        let token = &record[PREFIX.len()..record.len() - OWNER_SUFFIX.len()];
        let path = dir.join(record);
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue; // its run is alive (or another sweeper is at it)
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        // No record (a run killed between creating and writing it, which happens under the
        // folder's lock, so it is not running now), or one of a process that is gone.
        let owner = Owner::parse(&text);
        if owner.as_ref().is_some_and(Owner::is_alive) {
            continue;
        }
        let who = owner.map_or_else(
            || "unknown run".to_string(),
            |o| format!("{}, pid {}", o.what, o.pid),
        );
        let prefix = format!("{PREFIX}{token}-");
        let mut removed = Vec::new();
        let mut failed = Vec::new();
        for item in names.iter().filter(|n| n.starts_with(&prefix)) {
            let p = dir.join(item);
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            match r {
                Ok(()) => removed.push(item.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => failed.push(format!("{} ({e})", p.display())),
            }
        }
        if failed.is_empty() {
            let _ = std::fs::remove_file(&path);
        }
        let what = if removed.is_empty() {
            "its owner record".to_string()
        } else {
            removed.join(", ")
        };
        if failed.is_empty() {
            notes.push(format!(
                "removed {what} in {} left by an interrupted run ({who})",
                dir.display(),
            ));
        } else {
            notes.push(format!(
                "cannot remove what an interrupted run ({who}) left: {}; remove it by hand",
                failed.join(", ")
            ));
        }
    }
    for n in &notes {
        note(n.clone());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// Writes what a dead run leaves: a record of a process that is not running and its items.
    fn dead_run(dir: &Path, token: &str, owner: &Owner) {
        std::fs::write(
            dir.join(format!("{PREFIX}{token}{OWNER_SUFFIX}")),
            owner.to_record(),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{PREFIX}{token}-x.wim.tmp")), b"half").unwrap();
        let work = dir.join(format!("{PREFIX}{token}-media"));
        std::fs::create_dir_all(work.join("sources")).unwrap();
        std::fs::write(work.join("sources/boot.wim"), b"copy").unwrap();
    }

    #[test]
    fn record_round_trips_and_this_process_is_alive() {
        let me = Owner::current("test");
        assert!(me.start_ticks > 0 && !me.boot_id.is_empty(), "{me:?}");
        assert_eq!(Owner::parse(&me.to_record()), Some(me.clone()));
        assert!(me.is_alive());
        // Same pid, other start time (pid reuse), or another boot: not alive.
        let reused = Owner {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!reused.is_alive());
        let other_boot = Owner {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            ..me.clone()
        };
        assert!(!other_boot.is_alive());
        assert_eq!(Owner::parse("peforge owner record\npid 1\n"), None);
    }

    #[test]
    fn a_dead_runs_items_are_removed_with_a_note_and_a_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        let me = Owner::current("wim write");
        let dead = Owner {
            start_ticks: me.start_ticks + 12345,
            ..me.clone()
        };
        dead_run(d.path(), "deadbeef00", &dead);
        // Unlocked but alive (a record of this very process): kept.
        dead_run(d.path(), "alive00000", &me);
        // Killed between creating its record and writing it.
        std::fs::write(d.path().join(".peforge-empty00000.owner"), b"").unwrap();
        std::fs::write(d.path().join(".peforge-empty00000-y.tmp"), b"").unwrap();
        std::fs::write(d.path().join("user.wim"), b"mine").unwrap();
        let notes = sweep(d.path());
        let claim = Claim::new(d.path(), "test").unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains(".peforge-empty00000-y.tmp") && n.contains("unknown run"))
        );
        assert!(
            notes.iter().any(|n| n.contains(".peforge-deadbeef00-media")
                && n.contains(".peforge-deadbeef00-x.wim.tmp")
                && n.contains("wim write")),
            "{notes:?}"
        );
        let left = names(d.path());
        assert!(
            !left
                .iter()
                .any(|n| n.contains("deadbeef00") || n.contains("empty")),
            "{left:?}"
        );
        assert_eq!(
            left.iter().filter(|n| n.contains("alive00000")).count(),
            3,
            "{left:?}"
        );
        assert!(left.contains(&"user.wim".to_string()));
        // The live claim's record is locked: a second sweep leaves it and its items alone.
        let tmp = claim.temp_file(".wim.tmp").unwrap();
        assert!(sweep(d.path()).is_empty());
        assert!(tmp.path().exists());
        let record = claim.record.clone();
        drop(tmp);
        drop(claim);
        assert!(!record.exists());
    }

    #[test]
    fn what_cannot_be_removed_is_named_and_its_record_kept() {
        use std::os::unix::fs::PermissionsExt;
        // Under target/ (a real file system: chattr does not work on tmpfs).
        let d = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
        let me = Owner::current("media build");
        dead_run(
            d.path(),
            "stuck00000",
            &Owner {
                start_ticks: me.start_ticks + 1,
                ..me
            },
        );
        let work = d.path().join(".peforge-stuck00000-media");
        let pinned = work.join("sources/boot.wim");
        // Root ignores permissions: make a file immutable instead.
        let root = is_root();
        if root {
            let st = std::process::Command::new("chattr")
                .arg("+i")
                .arg(&pinned)
                .status()
                .expect("chattr (e2fsprogs) is required for this test");
            assert!(st.success(), "chattr +i failed");
        } else {
            std::fs::set_permissions(work.join("sources"), std::fs::Permissions::from_mode(0o500))
                .unwrap();
        }
        let notes = sweep(d.path());
        if root {
            std::process::Command::new("chattr")
                .arg("-i")
                .arg(&pinned)
                .status()
                .unwrap();
        } else {
            std::fs::set_permissions(work.join("sources"), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        assert!(
            notes.iter().any(|n| n.contains("cannot remove")
                && n.contains(".peforge-stuck00000-media")
                && n.contains("by hand")),
            "{notes:?}"
        );
        // The record stays, so the next run tries again; then it succeeds.
        assert!(d.path().join(".peforge-stuck00000.owner").exists());
        assert!(sweep(d.path()).iter().any(|n| n.starts_with("removed ")));
        assert!(names(d.path()).is_empty(), "{:?}", names(d.path()));
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Uid:"))
                    .map(|l| l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false)
    }
}
