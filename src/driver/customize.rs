//! `wim customize` as a plan: driver packages, overlay folders and a start script added to one
//! image of a boot WIM, offline (`shared/specs/winpe-customize.md` §5–§7).
//!
//! - Drivers: every package for the image's architecture is copied whole to
//!   `peforge\drivers\NN-<name>\`; the generated `peforge\start.cmd` loads each INF with drvload
//!   and logs to `X:\Windows\Temp\peforge-start.log`; it runs from the first `[LaunchApps]` line
//!   of winpeshl.ini (ConfigMgr: before `TsBootShell.exe`) or, on a plain WinPE, from
//!   startnet.cmd just before `wpeinit` ([`super::startup`]).
//! - Start script: copied to `peforge\user-start.cmd` and called by start.cmd after the drivers,
//!   so on a ConfigMgr image it runs before the task sequence shell, never replacing it.
//! - Overlay: a folder copied into the image at a target folder (default the root), existing
//!   files replaced, as `mkwinpeimg --overlay`; applied last.
//! - [`RECORD`] (`peforge\customize.json`) says what peforge added, for `--list` and
//!   `--remove-drivers`. The same customization twice changes nothing.
//!
//! [`stage`] works on an open [`Wim`] (also the medium's copy in `media build`); [`execute`]
//! adds opening, the commit (append, rebuild or a new file) and reading everything back.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::package::{self, Package, Target, inf_arch};
use super::startup::{self, Startnet, Winpeshl};
use super::{Error, Finding};
use crate::progress::Progress;
use crate::wim::offline::WriteMode;
use crate::wim::{self, Wim};

/// Image path of the record of what peforge added.
pub const RECORD: &str = "peforge\\customize.json";
/// Image folder of the staged driver packages.
pub const DRIVERS_DIR: &str = "peforge\\drivers";
/// Image path of the user's start script (extension kept: `.cmd` or `.bat`).
pub const USER_SCRIPT_STEM: &str = "peforge\\user-start";
/// Image path of winpeshl.ini.
pub const WINPESHL: &str = "Windows\\System32\\winpeshl.ini";
/// Image path of startnet.cmd.
pub const STARTNET: &str = "Windows\\System32\\startnet.cmd";

/// A folder to copy into the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// The local folder.
    pub source: PathBuf,
    /// The image folder it lands in (`\` separated, below the root; empty = the root).
    #[serde(default)]
    pub target: String,
}

/// What to add to an image; shared by `wim customize` and `media build`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customization {
    /// Driver package folders (searched recursively for INF files).
    #[serde(default)]
    pub drivers: Vec<PathBuf>,
    /// Folders to copy into the image, applied last.
    #[serde(default)]
    pub overlays: Vec<Overlay>,
    /// A `.cmd`/`.bat` script run at start-up after the drivers are loaded.
    #[serde(default)]
    pub start_script: Option<PathBuf>,
    /// Stage packages without a catalog (for a test-signing WinPE).
    #[serde(default)]
    pub allow_unsigned: bool,
}

impl Customization {
    /// Whether nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.drivers.is_empty() && self.overlays.is_empty() && self.start_script.is_none()
    }
}

/// What `wim customize` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Add drivers, overlays and a start script.
    Apply(Customization),
    /// Remove every driver peforge added (and the start-up step when nothing else needs it).
    RemoveDrivers,
    /// Show what peforge added; nothing is written.
    List,
}

/// Everything `wim customize` needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomizePlan {
    /// The WIM.
    pub wim: PathBuf,
    /// The image index.
    pub index: u32,
    /// What to do.
    pub action: Action,
    /// How the result is written.
    pub write: WriteMode,
}

/// One staged driver package, as recorded in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDriver {
    /// Image folder (`peforge\drivers\01-netkvm`).
    pub folder: String,
    /// INF file names in it, in load order.
    pub infs: Vec<String>,
    /// SHA-256 over the package's files (relative path and content), to recognise it again.
    pub sha256: String,
    /// Bytes of the package.
    pub bytes: u64,
    /// Setup class of each INF.
    pub classes: Vec<String>,
    /// Provider of the first INF.
    pub provider: String,
    /// DriverVer of the first INF.
    pub driver_ver: String,
    /// Number of hardware IDs over its INFs.
    pub hardware_ids: usize,
}

/// The start-up step, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHook {
    /// The file peforge edited (winpeshl.ini or startnet.cmd), image path.
    pub file: String,
    /// The line it added.
    pub line: String,
}

/// The user's start script, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordScript {
    /// Image path.
    pub path: String,
    /// SHA-256 of its content.
    pub sha256: String,
}

/// One applied overlay, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordOverlay {
    /// Image folder.
    pub target: String,
    /// Files copied.
    pub files: usize,
    /// SHA-256 over its files.
    pub sha256: String,
}

/// `peforge\customize.json`: what peforge added to the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version of this record (1).
    pub record_version: u32,
    /// Staged driver packages.
    pub drivers: Vec<RecordDriver>,
    /// The start-up step, when there is one.
    pub hook: Option<RecordHook>,
    /// The user's start script.
    pub start_script: Option<RecordScript>,
    /// Overlays applied.
    pub overlays: Vec<RecordOverlay>,
}

impl Record {
    /// The INF image paths start.cmd loads, in order.
    pub fn inf_paths(&self) -> Vec<String> {
        self.drivers
            .iter()
            .flat_map(|d| d.infs.iter().map(move |i| format!("{}\\{i}", d.folder)))
            .collect()
    }
}

/// The kind of start-up an image has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// ConfigMgr boot image (`sms\bin\<arch>\TsBootShell.exe`): winpeshl.ini.
    Configmgr,
    /// WinPE with another winpeshl.ini shell (MDT, WinRE, custom).
    Winpeshl,
    /// Plain WinPE: startnet.cmd.
    Startnet,
}

/// What [`stage`] or [`execute`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The input WIM.
    pub wim: PathBuf,
    /// The image index.
    pub index: u32,
    /// Image architecture (INF name: amd64, x86, arm64).
    pub arch: String,
    /// How WinPE starts.
    pub shape: Shape,
    /// Whether anything changed (or would, on a dry run).
    pub changed: bool,
    /// The file written, if any.
    pub written: Option<PathBuf>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The record after the run.
    pub record: Record,
    /// Driver folders added or replaced by this run.
    pub drivers_added: Vec<String>,
    /// Driver folders that were already there with the same content.
    pub drivers_unchanged: Vec<String>,
    /// Driver folders removed.
    pub drivers_removed: Vec<String>,
    /// Overlay files that replaced a different file in the image (image paths).
    pub overlay_replaced: Vec<String>,
    /// Bytes added to the image by driver packages (WinPE runs from RAM).
    pub driver_bytes: u64,
    /// Warnings about the staged packages.
    pub warnings: Vec<Finding>,
    /// The apps of winpeshl.ini or the lines of startnet.cmd after the run.
    pub startup_lines: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.into(),
        source,
    }
}

fn input(path: &Path, reason: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Input {
        path: path.into(),
        reason: reason.into(),
        hint: hint.into(),
    }
}

/// Checks an overlay target and returns it normalised (`\` separated, no leading `\`):
/// no `..`, no drive other than `X:`, no `:` elsewhere.
pub fn normalize_target(source: &Path, target: &str) -> Result<String, Error> {
    let t = target.trim();
    let t = match t.get(..2) {
        Some(d) if d.eq_ignore_ascii_case("x:") => t.get(2..).unwrap_or_default(),
        _ => t,
    };
    let parts: Vec<&str> = t
        .split(['\\', '/'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts
        .iter()
        .any(|p| *p == ".." || p.contains(':') || p.contains(['*', '?', '"', '<', '>', '|']))
    {
        return Err(input(
            source,
            format!("overlay target {target:?} is outside the image"),
            "give a folder inside the image, e.g. DIR:Windows\\System32 or DIR:X:\\Tools",
        ));
    }
    Ok(parts.join("\\"))
}

/// Local files of a folder tree, relative paths (`/` separated), sorted.
fn files_of(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type().map_err(io(&e.path()))?;
            if ft.is_dir() {
                stack.push((e.path(), r));
            } else if ft.is_file() {
                out.push((r, e.path()));
            } else {
                return Err(input(
                    &e.path(),
                    "not a regular file or folder (a link or device)",
                    "copy the package without symbolic links",
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// SHA-256 over relative paths and contents, and the total size.
fn tree_hash(files: &[(String, PathBuf)]) -> Result<(String, u64), Error> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut bytes = 0u64;
    for (rel, p) in files {
        let data = std::fs::read(p).map_err(io(p))?;
        bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(sha2::Sha256::digest(&data));
    }
    Ok((hex::encode(h.finalize()), bytes))
}

fn slug(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    if v.is_empty() { "driver".into() } else { v }
}

/// A driver package folder chosen for staging.
struct Group {
    dir: PathBuf,
    packages: Vec<Package>,
    files: Vec<(String, PathBuf)>,
    sha256: String,
    bytes: u64,
}

/// Reads and judges every package of `drivers` for an `arch` image of `target`.
fn select_drivers(
    drivers: &[PathBuf],
    arch: &str,
    target: Target,
    allow_unsigned: bool,
    index: u32,
    warnings: &mut Vec<Finding>,
) -> Result<Vec<Group>, Error> {
    let mut groups: Vec<Group> = Vec::new();
    let mut all: Vec<Package> = Vec::new();
    for d in drivers {
        if !d.is_dir() {
            return Err(input(
                d,
                "not a folder",
                "give the folder of an extracted driver package with --driver",
            ));
        }
        for inf in package::find_infs(d)? {
            let p = Package::read(&inf)?;
            if let Some(reason) = p.refusal(arch, target, allow_unsigned) {
                return Err(Error::Refused {
                    path: inf,
                    index,
                    arch: arch.into(),
                    reason,
                });
            }
            warnings.extend(
                p.findings
                    .iter()
                    .filter(|f| f.severity == super::Severity::Warning)
                    .filter(|f| !(allow_unsigned && f.code == "DRV002"))
                    .map(|f| Finding {
                        message: format!("{}: {}", p.name(), f.message),
                        ..f.clone()
                    }),
            );
            all.push(p.clone());
            match groups.iter_mut().find(|g| g.dir == p.dir) {
                Some(g) => g.packages.push(p),
                None => groups.push(Group {
                    dir: p.dir.clone(),
                    packages: vec![p],
                    files: Vec::new(),
                    sha256: String::new(),
                    bytes: 0,
                }),
            }
        }
    }
    warnings.extend(super::duplicate_ids(&all));
    for g in &mut groups {
        g.files = files_of(&g.dir)?;
        (g.sha256, g.bytes) = tree_hash(&g.files)?;
    }
    Ok(groups)
}

/// Reads the record of an image (`None` without one).
pub fn read_record(w: &Wim, index: u32) -> Result<Option<Record>, Error> {
    if w.stat(index, RECORD)?.is_none() {
        return Ok(None);
    }
    let bytes = w.read_file(index, RECORD)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::StartupFile {
            wim: w.path().into(),
            index,
            file: RECORD.into(),
            reason: format!("not a peforge record ({e})"),
        })
}

/// The image's architecture (INF name), start-up shape and Windows version.
fn image_facts(w: &Wim, index: u32) -> Result<(String, Shape, Target), Error> {
    let img = w.image(index)?;
    let kind = wim::detect(w, index)?;
    let arch = img.arch.clone().unwrap_or_default();
    let inf = inf_arch(&arch).to_string();
    if !["amd64", "x86", "arm64"].contains(&inf.as_str()) || !kind.winpe {
        return Err(Error::Arch {
            wim: w.path().into(),
            index,
            arch: if kind.winpe {
                if arch.is_empty() {
                    "(none recorded)".into()
                } else {
                    arch
                }
            } else {
                format!("{arch} of an image that is not WinPE")
            },
        });
    }
    let num = |p: &str| -> Result<Option<u32>, Error> {
        Ok(w.property(index, p)?.and_then(|v| v.trim().parse().ok()))
    };
    let target = match num("WINDOWS/VERSION/MAJOR")? {
        Some(major) => Target {
            major,
            minor: num("WINDOWS/VERSION/MINOR")?.unwrap_or(0),
            build: num("WINDOWS/VERSION/BUILD")?.unwrap_or(0),
        },
        None => Target::default(),
    };
    let shape = if kind.configmgr_arch.is_some() {
        Shape::Configmgr
    } else if w.stat(index, WINPESHL)?.is_some() {
        Shape::Winpeshl
    } else {
        Shape::Startnet
    };
    Ok((inf, shape, target))
}

/// The hook file's current and wanted bytes.
struct HookEdit {
    file: String,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
    lines: Vec<String>,
}

fn startup_err(w: &Wim, index: u32, file: &str, e: startup::StartupError) -> Error {
    Error::StartupFile {
        wim: w.path().into(),
        index,
        file: file.into(),
        reason: e.to_string(),
    }
}

/// Adds (`want`) or removes the start-up line in the image's hook file.
fn edit_hook(w: &Wim, index: u32, shape: Shape, want: bool) -> Result<HookEdit, Error> {
    let file = if shape == Shape::Startnet {
        STARTNET
    } else {
        WINPESHL
    };
    let before = match w.stat(index, file)? {
        Some(e) if !e.is_dir => Some(w.read_file(index, &e.path)?),
        Some(_) => {
            return Err(startup_err(
                w,
                index,
                file,
                startup::StartupError::Encoding("a folder, not a file".into()),
            ));
        }
        None => None,
    };
    if shape == Shape::Configmgr && before.is_none() {
        return Err(startup_err(w, index, file, startup::StartupError::NoApps));
    }
    let (after, lines) = if shape == Shape::Startnet {
        let mut s = match &before {
            Some(b) => Startnet::parse(b).map_err(|e| startup_err(w, index, file, e))?,
            None => Startnet::stock(),
        };
        if want {
            s.add_hook().map_err(|e| startup_err(w, index, file, e))?;
        } else {
            s.remove_hook();
        }
        (s.to_bytes(), s.lines())
    } else {
        let mut s = Winpeshl::parse(before.as_deref().unwrap_or_default())
            .map_err(|e| startup_err(w, index, file, e))?;
        if shape == Shape::Configmgr
            && !s
                .apps()
                .iter()
                .any(|a| a.to_ascii_lowercase().contains("tsbootshell.exe"))
        {
            return Err(startup_err(
                w,
                index,
                file,
                startup::StartupError::Encoding(
                    "a ConfigMgr image whose [LaunchApps] does not run TsBootShell.exe".into(),
                ),
            ));
        }
        if want {
            s.add_hook();
        } else {
            s.remove_hook();
        }
        (s.to_bytes(), s.apps())
    };
    Ok(HookEdit {
        file: file.into(),
        before,
        after,
        lines,
    })
}

/// The apps of winpeshl.ini or the lines of startnet.cmd as they are (empty when the file is
/// missing or not understood).
fn startup_lines(w: &Wim, index: u32, shape: Shape) -> Result<Vec<String>, Error> {
    let file = if shape == Shape::Startnet {
        STARTNET
    } else {
        WINPESHL
    };
    let Some(e) = w.stat(index, file)?.filter(|e| !e.is_dir) else {
        return Ok(Vec::new());
    };
    let b = w.read_file(index, &e.path)?;
    Ok(if shape == Shape::Startnet {
        Startnet::parse(&b).map(|s| s.lines()).unwrap_or_default()
    } else {
        Winpeshl::parse(&b).map(|s| s.apps()).unwrap_or_default()
    })
}

/// Sets a staged file's (or folder's) times, so a reproducible build does not record the time
/// of the run.
fn set_mtime(path: &Path, t: Option<std::time::SystemTime>) -> Result<(), Error> {
    let Some(t) = t else { return Ok(()) };
    let times = std::fs::FileTimes::new().set_accessed(t).set_modified(t);
    std::fs::File::open(path)
        .and_then(|f| f.set_times(times))
        .map_err(io(path))
}

/// With a fixed `mtime`, creates the missing parent folders of `inner` explicitly (an empty
/// folder with that time each), so wimlib does not make them with the time of the run.
fn ensure_parents(
    w: &mut Wim,
    index: u32,
    inner: &str,
    mtime: Option<std::time::SystemTime>,
) -> Result<(), Error> {
    if mtime.is_none() {
        return Ok(());
    }
    let parts: Vec<&str> = inner.split('\\').filter(|p| !p.is_empty()).collect();
    for n in 1..parts.len() {
        let dir = parts.get(..n).unwrap_or_default().join("\\");
        if w.stat(index, &dir)?.is_none() {
            let local = w.staging_folder()?;
            set_mtime(&local, mtime)?;
            w.add_tree(index, &local, &dir, None)?;
        }
    }
    Ok(())
}

/// Stages `bytes` as image file `inner`, through a file in `dir` named after `inner` (wimlib
/// orders new data by the local path: fixed names keep a reproducible build's order).
fn stage_bytes(
    w: &mut Wim,
    dir: &Path,
    index: u32,
    inner: &str,
    bytes: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> Result<(), Error> {
    ensure_parents(w, index, inner, mtime)?;
    let local = dir.join("generated").join(inner.replace('\\', "_"));
    if let Some(p) = local.parent() {
        std::fs::create_dir_all(p).map_err(io(p))?;
    }
    std::fs::write(&local, bytes).map_err(io(&local))?;
    set_mtime(&local, mtime)?;
    let tmp = tempfile::TempPath::try_from_path(&local).map_err(io(&local))?;
    w.replace_file(index, inner, tmp)?;
    Ok(())
}

/// What [`stage`] staged, to read back after the commit.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Image files and their exact content.
    pub files: Vec<(String, Vec<u8>)>,
    /// Image files and their size.
    pub sizes: Vec<(String, u64)>,
    /// Image paths that must be gone.
    pub gone: Vec<String>,
}

/// Stages `action` (Apply or RemoveDrivers) into image `index` of the open `w`. Nothing is
/// written until the caller commits `w`; [`Expect`] says what to read back.
pub fn stage(
    w: &mut Wim,
    index: u32,
    action: &Action,
    mtime: Option<std::time::SystemTime>,
) -> Result<(Outcome, Expect), Error> {
    let (arch, shape, target) = image_facts(w, index)?;
    let old = read_record(w, index)?;
    let rec = old.clone().unwrap_or(Record {
        record_version: 1,
        ..Record::default()
    });
    let out = Outcome {
        wim: w.path().into(),
        index,
        arch: arch.clone(),
        shape,
        changed: false,
        written: None,
        dry_run: false,
        record: Record::default(),
        drivers_added: Vec::new(),
        drivers_unchanged: Vec::new(),
        drivers_removed: Vec::new(),
        overlay_replaced: Vec::new(),
        driver_bytes: 0,
        warnings: Vec::new(),
        startup_lines: Vec::new(),
    };
    let dir = w.staging_folder()?;
    let mut s = Stager {
        w,
        index,
        mtime,
        dir,
        rec,
        out,
        exp: Expect::default(),
    };
    let empty = Customization::default();
    let c = match action {
        Action::Apply(c) => c,
        _ => &empty,
    };

    // Validate every input before staging anything.
    let groups = select_drivers(
        &c.drivers,
        &arch,
        target,
        c.allow_unsigned,
        index,
        &mut s.out.warnings,
    )?;
    let script = c.start_script.as_deref().map(check_script).transpose()?;
    let overlays = check_overlays(&c.overlays)?;

    let mut driver_dirty = false;
    if matches!(action, Action::RemoveDrivers) {
        driver_dirty = s.remove_drivers()?;
    }
    for g in &groups {
        driver_dirty |= s.stage_driver(g)?;
    }
    let script_dirty = match &script {
        Some((path, bytes)) => s.stage_script(path, bytes)?,
        None => false,
    };
    let had_hook = old.as_ref().is_some_and(|r| r.hook.is_some());
    s.stage_startup(shape, had_hook, driver_dirty || script_dirty)?;
    // Overlays, last.
    for o in &overlays {
        s.stage_overlay(o)?;
    }
    s.stage_record(old.as_ref())?;
    s.out.changed = s.w.is_dirty();
    s.out.record = s.rec;
    // The staged copies must live until the commit.
    Ok((s.out, s.exp))
}

/// Checks the user's start script (a plain ASCII `.cmd`/`.bat` file, as cmd.exe needs) and
/// returns its image name and bytes.
fn check_script(s: &Path) -> Result<(String, Vec<u8>), Error> {
    let meta = std::fs::metadata(s).map_err(io(s))?;
    if !meta.is_file() {
        return Err(input(
            s,
            "the start script is not a file",
            "give a .cmd or .bat file with --start-script",
        ));
    }
    let ext = s
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .filter(|e| e == "cmd" || e == "bat")
        .ok_or_else(|| {
            input(
                s,
                "the start script is not a .cmd or .bat file",
                "WinPE runs it with cmd.exe: name it .cmd (call PowerShell from it if needed)",
            )
        })?;
    let bytes = std::fs::read(s).map_err(io(s))?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.contains(&0) {
        return Err(input(
            s,
            "the start script is UTF-16 or binary; cmd.exe runs ASCII batch files",
            "save it as ASCII (ANSI) with CRLF line ends",
        ));
    }
    Ok((format!("{USER_SCRIPT_STEM}.{ext}"), bytes))
}

/// An overlay folder checked and listed before anything is staged.
struct CheckedOverlay {
    source: PathBuf,
    target: String,
    files: Vec<(String, PathBuf)>,
}

/// Checks every overlay is a folder with a valid target, and lists its files.
fn check_overlays(overlays: &[Overlay]) -> Result<Vec<CheckedOverlay>, Error> {
    let mut checked = Vec::new();
    for o in overlays {
        if !o.source.is_dir() {
            return Err(input(
                &o.source,
                "the overlay is not a folder",
                "give a folder with --overlay DIR[:TARGET]",
            ));
        }
        let target = normalize_target(&o.source, &o.target)?;
        checked.push(CheckedOverlay {
            source: o.source.clone(),
            target,
            files: files_of(&o.source)?,
        });
    }
    Ok(checked)
}

/// The number of the next driver folder (`NN-name`): one above the highest recorded.
fn next_number(rec: &Record) -> u32 {
    rec.drivers
        .iter()
        .filter_map(|d| {
            d.folder
                .rsplit('\\')
                .next()
                .and_then(|n| n.split('-').next())
                .and_then(|n| n.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1
}

/// The record entry of driver group `g`, staged in image folder `folder`.
fn record_driver(g: &Group, folder: String, infs: Vec<String>) -> RecordDriver {
    let first = g.packages.first();
    RecordDriver {
        folder,
        infs,
        sha256: g.sha256.clone(),
        bytes: g.bytes,
        classes: g
            .packages
            .iter()
            .map(|p| p.class.clone().unwrap_or_default())
            .collect(),
        provider: first.and_then(|p| p.provider.clone()).unwrap_or_default(),
        driver_ver: first.and_then(|p| p.driver_ver.clone()).unwrap_or_default(),
        hardware_ids: g.packages.iter().map(|p| p.hardware_ids.len()).sum(),
    }
}

/// The state the stages of [`stage`] share: the open image, the record being built, the
/// outcome to report and what to read back after the commit.
struct Stager<'w> {
    w: &'w mut Wim,
    index: u32,
    mtime: Option<std::time::SystemTime>,
    dir: PathBuf,
    rec: Record,
    out: Outcome,
    exp: Expect,
}

impl Stager<'_> {
    /// Stages `bytes` as image file `inner` and expects exactly them back.
    fn stage_file(&mut self, inner: &str, bytes: &[u8]) -> Result<(), Error> {
        stage_bytes(self.w, &self.dir, self.index, inner, bytes, self.mtime)?;
        self.exp.files.push((inner.into(), bytes.to_vec()));
        Ok(())
    }

    /// Removes every recorded driver and their folder; says whether there were any.
    fn remove_drivers(&mut self) -> Result<bool, Error> {
        for d in std::mem::take(&mut self.rec.drivers) {
            self.out.drivers_removed.push(d.folder.clone());
        }
        if self.out.drivers_removed.is_empty() {
            return Ok(false);
        }
        self.w.delete(self.index, DRIVERS_DIR)?;
        self.exp.gone.push(DRIVERS_DIR.into());
        Ok(true)
    }

    /// Stages one driver group unless the record has it already; says whether it did.
    fn stage_driver(&mut self, g: &Group) -> Result<bool, Error> {
        let infs: Vec<String> = g
            .packages
            .iter()
            .filter_map(|p| p.inf.strip_prefix(&g.dir).ok())
            .map(|r| r.to_string_lossy().replace('/', "\\"))
            .collect();
        if let Some(same) = self.rec.drivers.iter().find(|d| d.sha256 == g.sha256) {
            self.out.drivers_unchanged.push(same.folder.clone());
            return Ok(false);
        }
        let folder = self.driver_folder(g, &infs)?;
        let d = record_driver(g, folder.clone(), infs);
        // Copy the package into the staging folder so what is committed is what was hashed.
        let local = self.dir.join(folder.replace('\\', "/"));
        self.copy_package(g, &folder, &local)?;
        ensure_parents(self.w, self.index, &folder, self.mtime)?;
        self.w.add_tree(self.index, &local, &folder, None)?;
        self.out.drivers_added.push(folder);
        self.out.driver_bytes += g.bytes;
        self.rec.drivers.push(d);
        Ok(true)
    }

    /// The image folder for group `g`: that of a recorded driver with the same INF names (a
    /// new version replaces the old one, whose folder is deleted), else the next number.
    fn driver_folder(&mut self, g: &Group, infs: &[String]) -> Result<String, Error> {
        let replaced = self.rec.drivers.iter().position(|d| {
            d.infs.len() == infs.len()
                && d.infs
                    .iter()
                    .zip(infs)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        Ok(match replaced {
            Some(i) => {
                let f = self.rec.drivers.remove(i).folder;
                self.w.delete(self.index, &f)?;
                f
            }
            None => {
                let stem = g
                    .packages
                    .first()
                    .and_then(|p| p.inf.file_stem())
                    .map(|s| slug(&s.to_string_lossy()))
                    .unwrap_or_default();
                format!("{DRIVERS_DIR}\\{:02}-{stem}", next_number(&self.rec))
            }
        })
    }

    /// Copies group `g`'s files to `local`, keeping their times, and expects their sizes in
    /// image folder `folder`.
    fn copy_package(&mut self, g: &Group, folder: &str, local: &Path) -> Result<(), Error> {
        for (rel, src) in &g.files {
            let dst = local.join(rel);
            if let Some(p) = dst.parent() {
                std::fs::create_dir_all(p).map_err(io(p))?;
            }
            std::fs::copy(src, &dst).map_err(io(src))?;
            // Keep the vendor's file times (or SOURCE_DATE_EPOCH), not the time of the copy.
            let t = match self.mtime {
                Some(t) => t,
                None => std::fs::metadata(src)
                    .and_then(|m| m.modified())
                    .map_err(io(src))?,
            };
            set_mtime(&dst, Some(t))?;
            let size = std::fs::metadata(&dst).map_err(io(&dst))?.len();
            self.exp
                .sizes
                .push((format!("{folder}\\{}", rel.replace('/', "\\")), size));
        }
        // Folders too, deepest first (setting a file's time does not touch its folder's).
        if self.mtime.is_some() {
            let mut dirs: Vec<PathBuf> = g
                .files
                .iter()
                .filter_map(|(rel, _)| local.join(rel).parent().map(Path::to_path_buf))
                .collect();
            dirs.push(local.to_path_buf());
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            dirs.dedup();
            for dir in dirs {
                set_mtime(&dir, self.mtime)?;
            }
        }
        Ok(())
    }

    /// Stages the user's start script `path` unless the record has the same one; says
    /// whether it did.
    fn stage_script(&mut self, path: &str, bytes: &[u8]) -> Result<bool, Error> {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(bytes));
        let same = self
            .rec
            .start_script
            .as_ref()
            .is_some_and(|s| s.path.eq_ignore_ascii_case(path) && s.sha256 == sha);
        if same {
            return Ok(false);
        }
        if let Some(old) = self.rec.start_script.take()
            && !old.path.eq_ignore_ascii_case(path)
        {
            self.w.delete(self.index, &old.path)?;
        }
        self.stage_file(path, bytes)?;
        self.rec.start_script = Some(RecordScript {
            path: path.into(),
            sha256: sha,
        });
        Ok(true)
    }

    /// Brings start.cmd and the start-up hook in line with the record: written when there
    /// is a step to run, removed when the last one went (`dirty`: drivers or script changed).
    fn stage_startup(&mut self, shape: Shape, had_hook: bool, dirty: bool) -> Result<(), Error> {
        let index = self.index;
        let needs_step = !self.rec.drivers.is_empty() || self.rec.start_script.is_some();
        let start = startup::start_cmd(
            &self.rec.inf_paths(),
            self.rec.start_script.as_ref().map(|s| s.path.as_str()),
        );
        let current_start = match self.w.stat(index, startup::START_CMD)? {
            Some(_) => Some(self.w.read_file(index, startup::START_CMD)?),
            None => None,
        };
        if needs_step {
            if current_start.as_deref() != Some(start.as_slice()) {
                self.stage_file(startup::START_CMD, &start)?;
            }
        } else if current_start.is_some() && dirty {
            self.w.delete(index, startup::START_CMD)?;
            self.exp.gone.push(startup::START_CMD.into());
        }
        if !(needs_step || had_hook) {
            self.out.startup_lines = startup_lines(self.w, index, shape)?;
            return Ok(());
        }
        let e = edit_hook(self.w, index, shape, needs_step)?;
        if e.before.as_deref() != Some(e.after.as_slice()) {
            self.stage_file(&e.file, &e.after)?;
        }
        self.out.startup_lines = e.lines.clone();
        self.rec.hook = needs_step.then(|| RecordHook {
            file: e.file.clone(),
            line: if shape == Shape::Startnet {
                startup::STARTNET_LINE.into()
            } else {
                startup::LAUNCH_LINE.into()
            },
        });
        Ok(())
    }

    /// Stages overlay `o` (the whole folder, if any file is new or differs) and records it.
    fn stage_overlay(&mut self, o: &CheckedOverlay) -> Result<(), Error> {
        let mut changed = false;
        for (rel, local) in &o.files {
            let inner = if o.target.is_empty() {
                rel.replace('/', "\\")
            } else {
                format!("{}\\{}", o.target, rel.replace('/', "\\"))
            };
            let data = std::fs::read(local).map_err(io(local))?;
            changed |= self.overlay_file_differs(&inner, local, &data)?;
            self.exp.sizes.push((inner, data.len() as u64));
        }
        let (sha, _) = tree_hash(&o.files)?;
        let r = RecordOverlay {
            target: o.target.clone(),
            files: o.files.len(),
            sha256: sha,
        };
        if changed {
            self.w.add_tree(self.index, &o.source, &o.target, None)?;
        }
        if !self.rec.overlays.contains(&r) {
            self.rec.overlays.push(r);
        }
        Ok(())
    }

    /// Whether overlay file `local` (content `data`) is new or differs from image file
    /// `inner`; a replaced file is reported, a folder in its way is an error.
    fn overlay_file_differs(
        &mut self,
        inner: &str,
        local: &Path,
        data: &[u8],
    ) -> Result<bool, Error> {
        match self.w.stat(self.index, inner)? {
            Some(e) if e.is_dir => Err(input(
                local,
                format!("the image has a folder at {inner}"),
                "rename the file in the overlay",
            )),
            Some(e) => {
                let cur = if e.size == data.len() as u64 {
                    Some(self.w.read_file(self.index, &e.path)?)
                } else {
                    None
                };
                if cur.as_deref() == Some(data) {
                    return Ok(false);
                }
                self.out.overlay_replaced.push(inner.into());
                Ok(true)
            }
            None => Ok(true),
        }
    }

    /// Writes the record if it changed, or removes peforge's folder when nothing of it is left.
    fn stage_record(&mut self, old: Option<&Record>) -> Result<(), Error> {
        let after_record = serde_json::to_vec_pretty(&self.rec)
            .map_err(|e| input(self.w.path(), e.to_string(), ""))?;
        let nothing_left = self.rec.drivers.is_empty()
            && self.rec.start_script.is_none()
            && self.rec.overlays.is_empty();
        if old == Some(&self.rec) {
            return Ok(());
        }
        if nothing_left && old.is_some() {
            // Nothing of peforge's is left: its folder goes too.
            self.w.delete(self.index, "peforge")?;
            self.exp.gone.push("peforge".into());
        } else if !nothing_left {
            self.stage_file(RECORD, &after_record)?;
        }
        Ok(())
    }
}

/// Reads back what [`stage`] staged from the written WIM.
pub fn verify(path: &Path, index: u32, exp: &Expect) -> Result<(), Error> {
    let w = Wim::open(path)?;
    let fail = |what: String| Error::Verify {
        wim: path.into(),
        what,
    };
    for (inner, bytes) in &exp.files {
        let got = w.read_file(index, inner)?;
        if &got != bytes {
            return Err(fail(format!("{inner} differs after commit")));
        }
    }
    for (inner, size) in &exp.sizes {
        match w.stat(index, inner)? {
            Some(e) if !e.is_dir && e.size == *size => {}
            _ => return Err(fail(format!("{inner} is missing or has the wrong size"))),
        }
    }
    for inner in &exp.gone {
        if w.stat(index, inner)?.is_some() {
            return Err(fail(format!("{inner} is still there")));
        }
    }
    Ok(())
}

/// What peforge added to an image, as found in it (for `media inspect`).
#[derive(Debug, Clone, Serialize)]
pub struct Described {
    /// The record (`peforge\customize.json`).
    pub record: Record,
    /// How WinPE starts.
    pub shape: Shape,
    /// The apps of winpeshl.ini or the lines of startnet.cmd.
    pub startup_lines: Vec<String>,
    /// Problems: a recorded INF or the start-up line missing from the image.
    pub problems: Vec<String>,
}

/// Reads what peforge added to image `index`; `None` when the image has no record.
pub fn describe(w: &Wim, index: u32) -> Result<Option<Described>, Error> {
    let Some(record) = read_record(w, index)? else {
        return Ok(None);
    };
    let (_, shape, _) = image_facts(w, index)?;
    let startup_lines = startup_lines(w, index, shape)?;
    let mut problems = Vec::new();
    for inf in record.inf_paths() {
        if w.stat(index, &inf)?.is_none() {
            problems.push(format!("{inf} is recorded but not in the image"));
        }
    }
    if let Some(h) = &record.hook
        && !startup_lines
            .iter()
            .any(|l| l.trim().eq_ignore_ascii_case(&h.line))
    {
        problems.push(format!(
            "{} does not run the start-up step ({}): the drivers will not load",
            h.file, h.line
        ));
    }
    Ok(Some(Described {
        record,
        shape,
        startup_lines,
        problems,
    }))
}

/// Runs a [`CustomizePlan`]: opens the WIM, stages, commits as `plan.write` says (nothing on a
/// dry run, or when nothing changes without an explicit output), and reads everything back.
pub fn execute(plan: &CustomizePlan, progress: Option<Rc<dyn Progress>>) -> Result<Outcome, Error> {
    let explicit_output = matches!(plan.write.commit, wim::CommitMode::Output(_));
    if let Action::List = plan.action {
        let w = Wim::open(&plan.wim)?;
        let (arch, shape, _) = image_facts(&w, plan.index)?;
        let record = read_record(&w, plan.index)?.unwrap_or_default();
        let lines = startup_lines(&w, plan.index, shape)?;
        return Ok(Outcome {
            wim: plan.wim.clone(),
            index: plan.index,
            arch,
            shape,
            changed: false,
            written: None,
            dry_run: true,
            driver_bytes: record.drivers.iter().map(|d| d.bytes).sum(),
            record,
            drivers_added: Vec::new(),
            drivers_unchanged: Vec::new(),
            drivers_removed: Vec::new(),
            overlay_replaced: Vec::new(),
            warnings: Vec::new(),
            startup_lines: lines,
        });
    }
    let mut w = if plan.write.dry_run || explicit_output {
        Wim::open(&plan.wim)?
    } else {
        Wim::open_writable(&plan.wim)?
    };
    let (mut out, exp) = stage(&mut w, plan.index, &plan.action, None)?;
    out.dry_run = plan.write.dry_run;
    if plan.write.dry_run || (!out.changed && !explicit_output) {
        return Ok(out);
    }
    if let Some(p) = progress {
        w.set_progress(p);
    }
    let written = w.commit(plan.write.commit.clone())?;
    verify(&written, plan.index, &exp)?;
    out.written = Some(written);
    Ok(out)
}
