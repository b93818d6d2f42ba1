#![allow(unsafe_code)] // FFI module: every block has a SAFETY comment.
//! Offline registry hive files (regf) through the system libhivex.
//!
//! Every call into hivex goes through this module (the crate's README warns that not all of it is
//! tested). Rules from `shared/specs/cert-store-blob.md` §8.1: refuse dirty hives before editing,
//! set one value at a time (`hivex_node_set_value`), keep values under 16 344 bytes, commit to a
//! temporary file next to the target and rename.

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};

use hivex::sys;

use super::log;

/// Registry value types (`REG_*`).
pub mod types {
    /// REG_NONE
    pub const NONE: u32 = 0;
    /// REG_SZ
    pub const SZ: u32 = 1;
    /// REG_EXPAND_SZ
    pub const EXPAND_SZ: u32 = 2;
    /// REG_BINARY
    pub const BINARY: u32 = 3;
    /// REG_DWORD
    pub const DWORD: u32 = 4;
    /// REG_MULTI_SZ
    pub const MULTI_SZ: u32 = 7;
    /// REG_QWORD
    pub const QWORD: u32 = 11;
}

/// hivex stores values over this size in one cell, which the format forbids (no big-data records).
pub const MAX_VALUE_LEN: usize = 16_344;

/// Errors from hive access; each names the hive file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The hive file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a registry hive, or hivex cannot parse it.
    #[error("{path}: not a valid registry hive ({cause})")]
    Corrupt {
        /// The hive file.
        path: PathBuf,
        /// What was wrong.
        cause: String,
    },
    /// The hive has pending log entries (sequence numbers differ or bad checksum) and no usable
    /// transaction log brings it up to date.
    #[error(
        "{path}: the hive is dirty (sequence numbers {primary} and {secondary}{checksum}) and no usable transaction log ({logs}); editing it would lose the changes the missing logs hold"
    )]
    Dirty {
        /// The hive file.
        path: PathBuf,
        /// Primary sequence number.
        primary: u32,
        /// Secondary sequence number.
        secondary: u32,
        /// ", bad checksum" or empty.
        checksum: &'static str,
        /// Why each log was not used, and which were not found.
        logs: Box<str>,
    },
    /// A transaction log given with `--log` cannot be read.
    #[error("{path}: cannot read transaction log: {source}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The logs were replayed but the result has damaged hive bins (Windows would fill them with
    /// dummy bins; peforge refuses to edit instead).
    #[error("{path}: after replaying its transaction logs the hive bins are damaged ({problems})")]
    Recovery {
        /// The hive file.
        path: PathBuf,
        /// What is wrong.
        problems: Box<str>,
    },
    /// An output path that is the input hive or one of its logs (those are never written).
    #[error("{path}: refusing to write over the input hive or one of its transaction logs")]
    WouldOverwriteInput {
        /// The output path.
        path: PathBuf,
    },
    /// `cert`/`esp` commands were given another kind of hive.
    #[error("{path}: this is not a SOFTWARE hive ({found})")]
    NotSoftware {
        /// The hive file.
        path: PathBuf,
        /// What it looks like instead.
        found: Box<str>,
        /// The file to give instead.
        want: &'static str,
    },
    /// A key does not exist.
    #[error("{path}: key {key} does not exist")]
    NoSuchKey {
        /// The hive file.
        path: PathBuf,
        /// The key path.
        key: String,
    },
    /// A value is too large for hivex to store correctly.
    #[error("{path}: value {name} is {len} bytes, more than the {MAX_VALUE_LEN} hivex can store")]
    TooLarge {
        /// The hive file.
        path: PathBuf,
        /// Value name.
        name: String,
        /// Data length.
        len: usize,
    },
    /// A hivex call failed.
    #[error("{path}: {op} failed: {source}")]
    Hivex {
        /// The hive file.
        path: PathBuf,
        /// The operation.
        op: &'static str,
        /// errno captured right after the call.
        source: std::io::Error,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Dirty { path, .. } => {
                let name = path
                    .file_name()
                    .map_or_else(|| "HIVE".into(), |n| n.to_string_lossy());
                Some(format!(
                    "copy the hive together with its {name}.LOG1 and {name}.LOG2 files (put them beside it or give them with --log), or boot the image once, then retry"
                ))
            }
            Error::Recovery { .. } => Some(
                "load the hive once in Windows (it repairs the bins), then copy it again".into(),
            ),
            Error::WouldOverwriteInput { .. } => Some("give -o a new file name".into()),
            Error::NotSoftware { want, .. } => Some(format!("give the SOFTWARE hive: {want}")),
            Error::Corrupt { .. } => {
                Some("take a fresh copy of the hive from the original image".into())
            }
            _ => None,
        }
    }
}

/// State of the hive base block (first 4096 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseBlock {
    /// Primary sequence number (offset 4).
    pub primary: u32,
    /// Secondary sequence number (offset 8).
    pub secondary: u32,
    /// Whether the XOR-32 checksum at offset 508 matches bytes 0..508.
    pub checksum_ok: bool,
}

impl BaseBlock {
    /// Parses the base block; `None` if the bytes do not start with a regf header.
    pub fn parse(bytes: &[u8]) -> Option<BaseBlock> {
        let head = bytes.get(..512)?;
        if head.get(..4)? != b"regf" {
            return None;
        }
        let u32_at = |o: usize| -> Option<u32> {
            Some(u32::from_le_bytes(head.get(o..o + 4)?.try_into().ok()?))
        };
        let mut x = 0u32;
        for o in (0..508).step_by(4) {
            x ^= u32_at(o)?;
        }
        // The format maps the two reserved checksum values to avoid confusion with markers.
        let expected = match x {
            0 => 1,
            0xFFFF_FFFF => 0xFFFF_FFFE,
            v => v,
        };
        Some(BaseBlock {
            primary: u32_at(4)?,
            secondary: u32_at(8)?,
            checksum_ok: u32_at(508)? == expected,
        })
    }

    /// Whether the checksum of the hive file at `path` is right (false when unreadable).
    fn parse_checksum_ok(path: &Path) -> bool {
        Hive::base_block(path).is_ok_and(|b| b.checksum_ok)
    }

    /// Whether the hive has pending log data.
    pub fn is_dirty(&self) -> bool {
        self.primary != self.secondary || !self.checksum_ok
    }
}

/// A handle to a key inside an open hive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node(usize);

/// One value with its raw type and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// Value name; empty for the default value.
    pub name: String,
    /// `REG_*` type.
    pub ty: u32,
    /// Data bytes as stored.
    pub data: Vec<u8>,
}

/// Where a hive's transaction logs come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Logs {
    /// `NAME.LOG1`, `NAME.LOG2` (and `NAME.LOG`) next to the hive, in any case, as Windows does.
    #[default]
    Beside,
    /// Exactly these files (`--log`), instead of looking beside the hive.
    Files(Vec<PathBuf>),
}

impl Logs {
    /// `--log` files if any were given, else the files beside the hive.
    pub fn given(files: &[PathBuf]) -> Logs {
        if files.is_empty() {
            Logs::Beside
        } else {
            Logs::Files(files.to_vec())
        }
    }
}

/// An open hive file. A dirty hive is opened as Windows sees it: its transaction logs are
/// replayed in memory first ([`log::replay`]); [`Hive::recovery`] says what was done.
pub struct Hive {
    h: *mut sys::hive_h,
    path: PathBuf,
    recovery: log::Report,
    /// The replayed bytes hivex reads (deleted on drop); `None` when hivex reads `path`.
    _replayed: Option<tempfile::TempPath>,
}

impl std::fmt::Debug for Hive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hive")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for Hive {
    fn drop(&mut self) {
        // SAFETY: h is non-null and owned by self; uncommitted changes are discarded.
        unsafe {
            sys::hivex_close(self.h);
        }
    }
}

fn c(path: &Path, s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::Corrupt {
        path: path.into(),
        cause: format!("name {s:?} contains NUL"),
    })
}

/// Takes ownership of a malloc'ed C string from hivex.
///
/// # Safety
/// `p` must be null or a NUL-terminated string allocated with malloc.
unsafe fn take_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: p is non-null and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: hivex allocates returned strings with malloc.
    unsafe { libc::free(p.cast()) };
    Some(s)
}

impl Hive {
    /// Writes an empty hive (root key only) to `path`, which must not exist.
    pub fn create_empty(path: &Path) -> Result<(), Error> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?;
        f.write_all(hivex::EMPTY_HIVE_TEMPLATE)
            .map_err(|source| Error::Io {
                path: path.into(),
                source,
            })
    }

    /// Opens a hive read-only, replaying the logs beside it when it is dirty. A dirty hive
    /// without usable logs is opened as stored ([`log::State::Stale`]).
    pub fn open(path: &Path) -> Result<Hive, Error> {
        Self::open_with(path, &Logs::Beside)
    }

    /// Like [`Hive::open`], with the logs to use.
    pub fn open_with(path: &Path, logs: &Logs) -> Result<Hive, Error> {
        Self::open_replayed(path, logs, false)
    }

    /// Opens a hive for editing, replaying the logs beside it first; refuses a dirty hive that no
    /// usable log brings up to date, or whose replayed bins are damaged.
    pub fn open_writable(path: &Path) -> Result<Hive, Error> {
        Self::open_writable_with(path, &Logs::Beside)
    }

    /// Like [`Hive::open_writable`], with the logs to use. A replayed hive is committed clean
    /// (equal sequence numbers), so its old logs are stale afterwards.
    pub fn open_writable_with(path: &Path, logs: &Logs) -> Result<Hive, Error> {
        Self::open_replayed(path, logs, true)
    }

    /// Reads the base block of a hive file.
    pub fn base_block(path: &Path) -> Result<BaseBlock, Error> {
        use std::io::Read;
        let mut head = [0u8; 512];
        let mut f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        f.read_exact(&mut head).map_err(|_| Error::Corrupt {
            path: path.into(),
            cause: "file shorter than a base block".into(),
        })?;
        BaseBlock::parse(&head).ok_or_else(|| Error::Corrupt {
            path: path.into(),
            cause: "no regf signature".into(),
        })
    }

    /// Replays a hive file's logs in memory (nothing is written). The input is only read.
    pub fn replay_file(path: &Path, logs: &Logs) -> Result<log::Replay, Error> {
        let primary = std::fs::read(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let (files, missing) = match logs {
            Logs::Beside => {
                let b = log::find_beside(path);
                (b.found, b.missing)
            }
            Logs::Files(f) => (f.clone(), Vec::new()),
        };
        // A clean hive ignores its logs (spec §3): do not even read them.
        let read: Vec<log::LogFile> = if BaseBlock::parse(&primary).is_some_and(|b| !b.is_dirty()) {
            Vec::new()
        } else {
            files
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    log::LogFile::read(f, i).map_err(|source| Error::Log {
                        path: f.clone(),
                        source,
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let mut r = log::replay_owned(primary, &read).map_err(|e| Error::Corrupt {
            path: path.into(),
            cause: e.to_string(),
        })?;
        if r.report.dirty() {
            r.report.missing = missing;
        }
        Ok(r)
    }

    /// The error for a dirty hive that no log brings up to date.
    fn dirty_error(path: &Path, r: &log::Report) -> Error {
        let mut why: Vec<String> = r
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.label, s.reason))
            .collect();
        if !r.missing.is_empty() {
            why.push(format!("not found: {}", r.missing.join(", ")));
        }
        if why.is_empty() {
            why.push("none given".into());
        }
        Error::Dirty {
            path: path.into(),
            primary: r.seq_before[0],
            secondary: r.seq_before[1],
            checksum: if BaseBlock::parse_checksum_ok(path) {
                ""
            } else {
                ", bad checksum"
            },
            logs: why.join("; ").into(),
        }
    }

    fn open_replayed(path: &Path, logs: &Logs, writable: bool) -> Result<Hive, Error> {
        let flags = if writable {
            sys::HIVEX_OPEN_WRITE as i32
        } else {
            0
        };
        let bb = Self::base_block(path)?;
        if !bb.is_dirty() {
            let mut h = Self::open_flags(path, path, flags)?;
            h.recovery = log::Report::clean(bb.primary, bb.secondary);
            return Ok(h);
        }
        let r = Self::replay_file(path, logs)?;
        match r.report.state {
            log::State::Stale if writable => Err(Self::dirty_error(path, &r.report)),
            log::State::Recovered if writable && !r.report.bin_problems.is_empty() => {
                Err(Error::Recovery {
                    path: path.into(),
                    problems: r.report.bin_problems.join("; ").into(),
                })
            }
            log::State::Recovered => {
                let log::Replay { bytes, report } = r;
                let io = |source| Error::Io {
                    path: path.into(),
                    source,
                };
                let mut tmp = tempfile::Builder::new()
                    .prefix(".peforge-replayed-")
                    .tempfile()
                    .map_err(io)?;
                std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
                drop(bytes);
                let tmp = tmp.into_temp_path();
                let mut h = Self::open_flags(&tmp, path, flags)?;
                h.recovery = report;
                h._replayed = Some(tmp);
                Ok(h)
            }
            _ => {
                let mut h = Self::open_flags(path, path, flags)?;
                h.recovery = r.report;
                Ok(h)
            }
        }
    }

    /// Opens `file` with hivex; errors and [`Hive::path`] name `shown` (the user's hive).
    fn open_flags(file: &Path, shown: &Path, flags: i32) -> Result<Hive, Error> {
        let cpath = c(shown, &file.to_string_lossy())?;
        // SAFETY: cpath is a valid NUL-terminated string that outlives the call.
        let h = unsafe { sys::hivex_open(cpath.as_ptr(), flags) };
        if h.is_null() {
            let e = std::io::Error::last_os_error();
            return Err(Error::Corrupt {
                path: shown.into(),
                cause: e.to_string(),
            });
        }
        Ok(Hive {
            h,
            path: shown.into(),
            recovery: log::Report::clean(0, 0),
            _replayed: None,
        })
    }

    /// What opening did about transaction logs: clean, recovered (which logs, how many
    /// entries) or stale (dirty without usable logs).
    pub fn recovery(&self) -> &log::Report {
        &self.recovery
    }

    /// The same report, to rename the files it names (e.g. logs read from an image).
    pub fn recovery_mut(&mut self) -> &mut log::Report {
        &mut self.recovery
    }

    /// The file this hive was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, op: &'static str) -> Error {
        Error::Hivex {
            path: self.path.clone(),
            op,
            source: std::io::Error::last_os_error(),
        }
    }

    /// The root key.
    pub fn root(&self) -> Node {
        // SAFETY: h is valid for the life of self.
        Node(unsafe { sys::hivex_root(self.h) })
    }

    /// A key's name.
    pub fn name(&self, node: Node) -> String {
        // SAFETY: h valid; node came from this hive; result is malloc'ed or null.
        unsafe { take_string(sys::hivex_node_name(self.h, node.0)) }.unwrap_or_default()
    }

    /// A child key by name (case-insensitive, as hivex compares).
    pub fn child(&self, node: Node, name: &str) -> Result<Option<Node>, Error> {
        let cname = c(&self.path, name)?;
        // SAFETY: h valid; cname outlives the call.
        let n = unsafe { sys::hivex_node_get_child(self.h, node.0, cname.as_ptr()) };
        // hivex returns 0 both for "no such child" and for errors; a corrupt subkey list shows
        // up again on the next listing, so treat 0 as absent.
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Node(n)))
    }

    /// Resolves a backslash-separated key path relative to the root.
    pub fn lookup(&self, key: &str) -> Result<Option<Node>, Error> {
        let mut node = self.root();
        for part in key.split('\\').filter(|p| !p.is_empty()) {
            match self.child(node, part)? {
                Some(n) => node = n,
                None => return Ok(None),
            }
        }
        Ok(Some(node))
    }

    /// Like [`Hive::lookup`] but fails with [`Error::NoSuchKey`].
    pub fn key(&self, key: &str) -> Result<Node, Error> {
        self.lookup(key)?.ok_or_else(|| Error::NoSuchKey {
            path: self.path.clone(),
            key: key.into(),
        })
    }

    /// The child keys of a key, in stored order.
    pub fn children(&self, node: Node) -> Result<Vec<Node>, Error> {
        // SAFETY: h valid; returns a 0-terminated malloc'ed array or null on error.
        let p = unsafe { sys::hivex_node_children(self.h, node.0) };
        if p.is_null() {
            return Err(self.fail("list subkeys"));
        }
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            // SAFETY: the array is terminated by 0 and we stop there.
            let n = unsafe { *p.add(i) };
            if n == 0 {
                break;
            }
            out.push(Node(n));
            i += 1;
        }
        // SAFETY: allocated by hivex with malloc.
        unsafe { libc::free(p.cast()) };
        Ok(out)
    }

    /// All values of a key, in stored order.
    pub fn values(&self, node: Node) -> Result<Vec<RawValue>, Error> {
        // SAFETY: h valid; returns a 0-terminated malloc'ed array or null on error.
        let p = unsafe { sys::hivex_node_values(self.h, node.0) };
        if p.is_null() {
            return Err(self.fail("list values"));
        }
        let mut handles = Vec::new();
        let mut i = 0;
        loop {
            // SAFETY: the array is terminated by 0 and we stop there.
            let v = unsafe { *p.add(i) };
            if v == 0 {
                break;
            }
            handles.push(v);
            i += 1;
        }
        // SAFETY: allocated by hivex with malloc.
        unsafe { libc::free(p.cast()) };
        handles.into_iter().map(|v| self.read_value(v)).collect()
    }

    fn read_value(&self, v: sys::hive_value_h) -> Result<RawValue, Error> {
        // SAFETY: h valid; v from this hive; result malloc'ed or null.
        let name = unsafe { take_string(sys::hivex_value_key(self.h, v)) }
            .ok_or_else(|| self.fail("read value name"))?;
        let mut ty: sys::hive_type = 0;
        let mut len: usize = 0;
        // SAFETY: out-pointers are valid; result is a malloc'ed buffer of len bytes or null.
        let p = unsafe { sys::hivex_value_value(self.h, v, &mut ty, &mut len) };
        if p.is_null() {
            return Err(self.fail("read value data"));
        }
        // SAFETY: p points to len readable bytes.
        let data = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec();
        // SAFETY: allocated by hivex with malloc.
        unsafe { libc::free(p.cast()) };
        Ok(RawValue { name, ty, data })
    }

    /// One value by name (case-insensitive); `None` if absent.
    pub fn value(&self, node: Node, name: &str) -> Result<Option<RawValue>, Error> {
        Ok(self
            .values(node)?
            .into_iter()
            .find(|v| v.name.eq_ignore_ascii_case(name)))
    }

    /// Adds a child key (the caller checks it does not exist).
    pub fn add_child(&mut self, node: Node, name: &str) -> Result<Node, Error> {
        let cname = c(&self.path, name)?;
        // SAFETY: h valid and opened for write; cname outlives the call.
        let n = unsafe { sys::hivex_node_add_child(self.h, node.0, cname.as_ptr()) };
        if n == 0 {
            return Err(self.fail("add key"));
        }
        Ok(Node(n))
    }

    /// Returns the key at `key`, creating every missing ancestor, parent first.
    pub fn ensure_key(&mut self, key: &str) -> Result<Node, Error> {
        let mut node = self.root();
        for part in key.split('\\').filter(|p| !p.is_empty()) {
            node = match self.child(node, part)? {
                Some(n) => n,
                None => self.add_child(node, part)?,
            };
        }
        Ok(node)
    }

    /// Sets one value, keeping the key's other values.
    pub fn set_value(&mut self, node: Node, value: &RawValue) -> Result<(), Error> {
        if value.data.len() > MAX_VALUE_LEN {
            return Err(Error::TooLarge {
                path: self.path.clone(),
                name: value.name.clone(),
                len: value.data.len(),
            });
        }
        let key = c(&self.path, &value.name)?;
        let sv = sys::hive_set_value {
            key: key.as_ptr().cast_mut(),
            t: value.ty,
            len: value.data.len(),
            value: value.data.as_ptr().cast::<c_char>().cast_mut(),
        };
        // SAFETY: all pointers stay valid for the call; hivex copies the data.
        let r = unsafe { sys::hivex_node_set_value(self.h, node.0, &sv, 0) };
        if r != 0 {
            return Err(self.fail("set value"));
        }
        Ok(())
    }

    /// Deletes one value; returns whether it existed.
    pub fn delete_value(&mut self, node: Node, name: &str) -> Result<bool, Error> {
        let all = self.values(node)?;
        let keep: Vec<&RawValue> = all
            .iter()
            .filter(|v| !v.name.eq_ignore_ascii_case(name))
            .collect();
        if keep.len() == all.len() {
            return Ok(false);
        }
        let names = keep
            .iter()
            .map(|v| c(&self.path, &v.name))
            .collect::<Result<Vec<_>, _>>()?;
        let svs: Vec<sys::hive_set_value> = keep
            .iter()
            .zip(&names)
            .map(|(v, k)| sys::hive_set_value {
                key: k.as_ptr().cast_mut(),
                t: v.ty,
                len: v.data.len(),
                value: v.data.as_ptr().cast::<c_char>().cast_mut(),
            })
            .collect();
        // SAFETY: svs and the buffers it points into outlive the call; hivex copies them.
        let r = unsafe { sys::hivex_node_set_values(self.h, node.0, svs.len(), svs.as_ptr(), 0) };
        if r != 0 {
            return Err(self.fail("delete value"));
        }
        Ok(true)
    }

    /// Deletes a key and its whole subtree.
    pub fn delete_key(&mut self, node: Node) -> Result<(), Error> {
        // SAFETY: h valid and writable; node from this hive.
        let r = unsafe { sys::hivex_node_delete_child(self.h, node.0) };
        if r != 0 {
            return Err(self.fail("delete key"));
        }
        Ok(())
    }

    /// Writes the hive to `out` (or back to its own file) through a temporary file next to the
    /// target and a rename, so a failure never leaves a half-written hive.
    pub fn commit(self, out: Option<&Path>) -> Result<PathBuf, Error> {
        let target = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.path.clone());
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Under a claim on the folder: a run killed before the rename leaves a temporary file
        // the next peforge run writing there recognises and removes.
        let io = |source| Error::Io {
            path: target.clone(),
            source,
        };
        let claim = crate::workdir::Claim::new(dir, "hive commit").map_err(io)?;
        let tmp = claim.temp_file(".hive.tmp").map_err(io)?.into_temp_path();
        let cpath = c(&target, &tmp.to_string_lossy())?;
        // SAFETY: h valid; cpath outlives the call.
        let r = unsafe { sys::hivex_commit(self.h, cpath.as_ptr(), 0) };
        if r != 0 {
            return Err(self.fail("commit"));
        }
        tmp.persist(&target).map_err(|e| Error::Io {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(target)
    }
}

/// Whether `a` and `b` name the same file (`b` may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let parent = p
            .parent()
            .filter(|x| !x.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(parent.canonicalize().ok()?.join(p.file_name()?))
    };
    canon(a).is_some_and(|x| canon(b).is_some_and(|y| x == y))
}

/// Writes the hive at `path`, with its logs replayed, to `out` as a clean hive (equal sequence
/// numbers, checksum right, no pending log data) for tools that do not replay logs. The input
/// hive and logs are only read. A clean input is copied as it is. Refuses a dirty hive no log
/// brings up to date, and an `out` that is the hive or a log. What was written is read back and
/// checked (clean base block, same bytes, hivex opens it) before success is reported.
pub fn recover(path: &Path, logs: &Logs, out: &Path) -> Result<log::Report, Error> {
    let inputs: Vec<PathBuf> = match logs {
        Logs::Beside => log::find_beside(path).found,
        Logs::Files(f) => f.clone(),
    };
    if std::iter::once(path)
        .chain(inputs.iter().map(PathBuf::as_path))
        .any(|i| same_file(i, out))
    {
        return Err(Error::WouldOverwriteInput { path: out.into() });
    }
    let r = Hive::replay_file(path, logs)?;
    match r.report.state {
        log::State::Stale => return Err(Hive::dirty_error(path, &r.report)),
        log::State::Recovered if !r.report.bin_problems.is_empty() => {
            return Err(Error::Recovery {
                path: path.into(),
                problems: r.report.bin_problems.join("; ").into(),
            });
        }
        _ => {}
    }
    let io = |source| Error::Io {
        path: out.into(),
        source,
    };
    crate::fsutil::write_atomic(out, &r.bytes).map_err(io)?;
    let check = || -> Result<(), Error> {
        let back = std::fs::read(out).map_err(io)?;
        let bb = BaseBlock::parse(&back);
        if back != r.bytes || bb.is_none_or(|b| b.is_dirty()) {
            return Err(Error::Corrupt {
                path: out.into(),
                cause: "the file read back differs from what was written".into(),
            });
        }
        Hive::open_with(out, &Logs::Files(Vec::new())).map(drop)
    };
    if let Err(e) = check() {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(r.report)
}

/// Decodes REG_SZ / REG_EXPAND_SZ data (UTF-16LE, optional trailing NUL).
pub fn decode_sz(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// Encodes a string as REG_SZ data (UTF-16LE with a terminating NUL).
pub fn encode_sz(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Decodes REG_MULTI_SZ data.
pub fn decode_multi_sz(data: &[u8]) -> Vec<String> {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    units
        .split(|&u| u == 0)
        .filter(|s| !s.is_empty())
        .map(String::from_utf16_lossy)
        .collect()
}

/// Encodes REG_MULTI_SZ data (each string NUL-terminated, then a final NUL).
pub fn encode_multi_sz(items: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in items {
        out.extend(encode_sz(s));
    }
    out.extend([0, 0]);
    out
}
