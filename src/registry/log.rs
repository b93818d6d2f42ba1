//! Registry transaction logs (`.LOG1`, `.LOG2`, `.LOG`): finding them beside a hive, checking
//! them, and replaying them in memory as Windows does when it loads a dirty hive.
//!
//! Spec: `shared/specs/hive-logs.md`. Both formats: the old one (Windows XP to 8.0: a base block
//! copy, a `DIRT` bitmap and 512-byte pages, §5) and the new one (Windows 8.1 and later: `HvLE`
//! entries hashed with Marvin32, §6). Works on bytes only; never writes a file. Rules the spec marks
//! as *inference* are implemented conservatively and named so in the notes this module returns.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::marvin::{REGISTRY_SEED, marvin32};

/// Size of a primary file's base block; hive bins start here.
pub const BASE_BLOCK: usize = 4096;
/// Size of the base block copy at the start of a log (clustering factor 1).
const LOG_HEADER: usize = 512;
/// Largest hive bins data size accepted (hives are limited to 2 GiB; larger is a corrupt field).
const MAX_HBINS: u32 = 0x7FFF_F000;

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

fn put_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// The XOR-32 checksum of base block bytes 0..508, with the format's two reserved values mapped
/// (§2.1). `head` must hold at least 508 bytes.
pub fn checksum(head: &[u8]) -> u32 {
    let x = head[..508].chunks_exact(4).fold(0u32, |x, w| {
        x ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]])
    });
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        v => v,
    }
}

/// Sets the checksum at 508 from bytes 0..508.
fn fix_checksum(head: &mut [u8]) {
    let c = checksum(head);
    put_u32(head, 508, c);
}

/// `a` is before `b` as 32-bit serial numbers (§6.4).
fn before(a: u32, b: u32) -> bool {
    let d = b.wrapping_sub(a);
    d != 0 && d < 0x8000_0000
}

/// The fields of a base block (primary, or a log's 512-byte copy) replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    seq1: u32,
    seq2: u32,
    timestamp: u64,
    major: u32,
    file_type: u32,
    format: u32,
    root: u32,
    hbins: u32,
    cluster: u32,
    checksum_ok: bool,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let head = b.get(..LOG_HEADER)?;
        if &head[..4] != b"regf" {
            return None;
        }
        Some(Header {
            seq1: u32_at(head, 4)?,
            seq2: u32_at(head, 8)?,
            timestamp: u64_at(head, 12)?,
            major: u32_at(head, 20)?,
            file_type: u32_at(head, 28)?,
            format: u32_at(head, 32)?,
            root: u32_at(head, 36)?,
            hbins: u32_at(head, 40)?,
            cluster: u32_at(head, 44)?,
            checksum_ok: u32_at(head, 508)? == checksum(head),
        })
    }
}

/// The file name field of a base block (offset 48, UTF-16LE, up to 64 bytes), for the
/// "log of another hive" warning.
fn name_field(b: &[u8]) -> String {
    let units: Vec<u16> = b[48..112]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// One transaction log given to [`replay`].
#[derive(Debug, Clone)]
pub struct LogFile {
    /// `LOG1`, `LOG2`, `LOG` (from the file name), or `LOG#n` for other names.
    pub label: String,
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Its whole content.
    pub bytes: Vec<u8>,
}

impl LogFile {
    /// Reads a log file; the label comes from its extension.
    pub fn read(path: &Path, position: usize) -> std::io::Result<LogFile> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_uppercase())
            .unwrap_or_default();
        let label = match ext.as_str() {
            "LOG1" | "LOG2" | "LOG" => ext,
            _ => format!("LOG#{}", position + 1),
        };
        Ok(LogFile {
            label,
            path: path.into(),
            bytes: std::fs::read(path)?,
        })
    }

    fn is_single(&self) -> bool {
        self.label == "LOG"
    }
}

/// The logs found beside a hive, and the dual-log names that are not there.
#[derive(Debug, Clone, Default)]
pub struct Beside {
    /// Existing files, `.LOG1`, `.LOG2`, then `.LOG`.
    pub found: Vec<PathBuf>,
    /// `NAME.LOG1` / `NAME.LOG2` when absent (for the "stale data" warning).
    pub missing: Vec<String>,
}

/// Finds `NAME.LOG1`, `NAME.LOG2` and `NAME.LOG` next to `hive`, matching names in any case as
/// Windows does (§1).
pub fn find_beside(hive: &Path) -> Beside {
    let Some(name) = hive.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Beside::default();
    };
    let dir = hive
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let entries: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Beside::default();
    for ext in ["LOG1", "LOG2", "LOG"] {
        let want = format!("{name}.{ext}");
        // An exact-case match first, so two files differing only in case pick the expected one.
        let hit = entries
            .iter()
            .find(|(n, _)| *n == want)
            .or_else(|| entries.iter().find(|(n, _)| n.eq_ignore_ascii_case(&want)));
        match hit {
            Some((_, p)) => out.found.push(p.clone()),
            None if ext != "LOG" => out.missing.push(want),
            None => {}
        }
    }
    out
}

/// What the replay found the hive to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Clean (sequence numbers equal, checksum right): logs ignored, as Windows does.
    Clean,
    /// Dirty, and logs were applied: the bytes are what Windows sees.
    Recovered,
    /// Dirty, and no usable log: the bytes are as stored and may be stale.
    Stale,
}

/// Log format used for a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Base block + DIRT bitmap + pages (Windows XP to 8.0).
    Old,
    /// HvLE entries (Windows 8.1 and later).
    New,
}

/// A log that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// `LOG1`, `LOG2`, ...
    pub label: String,
    /// The file.
    pub file: String,
    /// Sequence number of its first applied entry (old format: the log's sequence number).
    pub first_seq: u32,
    /// Sequence number of its last applied entry.
    pub last_seq: u32,
    /// Entries applied (old format: 1).
    pub entries: u32,
    /// Pages written: page references (new format) or 512-byte pages (old format).
    pub pages: u32,
    /// Why its chain ended (new format), e.g. "end of file" or "no HvLE signature at 40960".
    pub stop: Option<String>,
}

/// A log that was not applied, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `LOG1`, `LOG2`, ...
    pub label: String,
    /// The file.
    pub file: String,
    /// Why, in words.
    pub reason: String,
}

/// What a replay did, for the user and for `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Clean, recovered or stale.
    pub state: State,
    /// Format of the logs applied.
    pub format: Option<Format>,
    /// Sequence numbers stored in the primary base block.
    pub seq_before: [u32; 2],
    /// Sequence numbers of the result.
    pub seq_after: [u32; 2],
    /// Whether the primary's base block was bad and was replaced by a log's copy.
    pub base_block_from_log: bool,
    /// Logs applied, in order.
    pub applied: Vec<Applied>,
    /// Logs not applied, with the reason.
    pub skipped: Vec<Skipped>,
    /// Log files Windows would look for that are not beside the hive.
    pub missing: Vec<String>,
    /// Total entries applied.
    pub entries: u32,
    /// Total pages written.
    pub pages: u32,
    /// Hive bins data size before and after.
    pub hbins_before: u32,
    /// Hive bins data size of the result.
    pub hbins_after: u32,
    /// Problems found walking the result's hive bins (editing is refused when not empty).
    pub bin_problems: Vec<String>,
    /// Other remarks (e.g. a log whose base block names another hive).
    pub notes: Vec<String>,
}

impl Report {
    /// The report of a clean hive (logs ignored) with these sequence numbers.
    pub fn clean(seq1: u32, seq2: u32) -> Report {
        Report {
            state: State::Clean,
            format: None,
            seq_before: [seq1, seq2],
            seq_after: [seq1, seq2],
            base_block_from_log: false,
            applied: Vec::new(),
            skipped: Vec::new(),
            missing: Vec::new(),
            entries: 0,
            pages: 0,
            hbins_before: 0,
            hbins_after: 0,
            bin_problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Whether the hive was dirty.
    pub fn dirty(&self) -> bool {
        self.state != State::Clean
    }

    /// One line saying what happened, for text output.
    pub fn summary(&self) -> String {
        match self.state {
            State::Clean => "hive is clean; transaction logs not needed".into(),
            State::Recovered => {
                let logs: Vec<&str> = self.applied.iter().map(|a| a.label.as_str()).collect();
                format!(
                    "replayed {} ({} {}, {} {}, sequence {} to {}{})",
                    logs.join(" then "),
                    self.entries,
                    if self.entries == 1 {
                        "entry"
                    } else {
                        "entries"
                    },
                    self.pages,
                    if self.pages == 1 { "page" } else { "pages" },
                    self.seq_before[1],
                    self.seq_after[0],
                    if self.base_block_from_log {
                        "; base block taken from the log"
                    } else {
                        ""
                    }
                )
            }
            State::Stale => {
                let mut why: Vec<String> = self
                    .skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.file, s.reason))
                    .collect();
                if !self.missing.is_empty() {
                    why.push(format!("not found: {}", self.missing.join(", ")));
                }
                format!(
                    "hive is dirty (sequence numbers {} and {}) and no usable transaction log ({}); the data shown may be stale",
                    self.seq_before[0],
                    self.seq_before[1],
                    why.join("; ")
                )
            }
        }
    }
}

/// The result of [`replay`]: the hive bytes to read, and what was done.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The hive as Windows would see it (recovered), or as stored (clean or stale).
    pub bytes: Vec<u8>,
    /// What was done.
    pub report: Report,
}

/// Errors of [`replay`]: only a primary that is not a hive at all. Bad logs are skipped and
/// reported, never errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The primary file is shorter than a base block or lacks the `regf` signature.
    #[error("{0}")]
    NotAHive(&'static str),
}

/// A log that passed the usability checks of §3.
struct Usable<'a> {
    log: &'a LogFile,
    h: Header,
}

fn usable<'a>(log: &'a LogFile, skipped: &mut Vec<Skipped>) -> Option<Usable<'a>> {
    let skip = |reason: String, skipped: &mut Vec<Skipped>| {
        skipped.push(Skipped {
            label: log.label.clone(),
            file: log.path.display().to_string(),
            reason,
        });
    };
    let b = &log.bytes;
    if b.is_empty() {
        skip("empty (0 bytes; a normal state)".into(), skipped);
        return None;
    }
    let Some(h) = Header::parse(b) else {
        skip("not a transaction log (no regf base block)".into(), skipped);
        return None;
    };
    let why = if !h.checksum_ok {
        Some("base block checksum wrong".to_string())
    } else if h.seq1 != h.seq2 {
        Some(format!(
            "log itself incomplete (sequence numbers {} and {})",
            h.seq1, h.seq2
        ))
    } else if !matches!(h.file_type, 1 | 2 | 6) {
        Some(format!("file type {} is not a log", h.file_type))
    } else if h.cluster != 1 {
        Some(format!("clustering factor {} not supported", h.cluster))
    } else if h.format != 1 {
        Some(format!("file format {} unknown", h.format))
    } else if b.len() < 2 * LOG_HEADER {
        Some("too short to hold any page".into())
    } else if h.file_type != 6 && b.get(512..516) != Some(b"DIRT") {
        Some("no DIRT dirty vector at 512".into())
    } else {
        None
    };
    if let Some(w) = why {
        skip(w, skipped);
        return None;
    }
    Some(Usable { log, h })
}

/// Replays `logs` over `primary` as Windows does when it loads the hive (§10).
///
/// Logs labelled `LOG` (single-log scheme) are used only when no other log is usable. The
/// returned bytes are ready for hivex: header finished (§7) and at least `4096 + hive bins data
/// size` long.
pub fn replay(primary: &[u8], logs: &[LogFile]) -> Result<Replay, Error> {
    replay_owned(primary.to_vec(), logs)
}

/// [`replay`] on a buffer it takes over, so a large hive is not copied: the pages are written
/// into it in place (a hive of N bytes costs N bytes plus its logs).
pub fn replay_owned(mut buf: Vec<u8>, logs: &[LogFile]) -> Result<Replay, Error> {
    let primary = buf.as_slice();
    if primary.len() < BASE_BLOCK {
        return Err(Error::NotAHive(
            "file shorter than a base block (4096 bytes)",
        ));
    }
    let bb = Header::parse(primary).ok_or(Error::NotAHive("no regf signature"))?;
    let valid = bb.checksum_ok;
    let mut report = Report::clean(bb.seq1, bb.seq2);
    report.hbins_before = bb.hbins;
    report.hbins_after = bb.hbins;
    if valid && bb.seq1 == bb.seq2 {
        return Ok(Replay { bytes: buf, report });
    }
    report.state = State::Stale;
    // Growth is bounded by what the primary and the logs can fill: a larger hive bins data size
    // would be zeros, not bins (and must not make us allocate gigabytes for a tiny bad log).
    let cap = primary.len() as u64 + logs.iter().map(|l| l.bytes.len() as u64).sum::<u64>();

    let mut skipped = Vec::new();
    let (dual, single): (Vec<&LogFile>, Vec<&LogFile>) = logs.iter().partition(|l| !l.is_single());
    let mut cands: Vec<Usable<'_>> = dual
        .into_iter()
        .filter_map(|l| usable(l, &mut skipped))
        .collect();
    if cands.is_empty() {
        cands = single
            .into_iter()
            .filter_map(|l| usable(l, &mut skipped))
            .collect();
    } else {
        for l in single {
            skipped.push(Skipped {
                label: l.label.clone(),
                file: l.path.display().to_string(),
                reason: "single-scheme .LOG not needed: a .LOG1/.LOG2 is usable".into(),
            });
        }
    }
    let name = name_field(primary);
    for c in &cands {
        let other = name_field(&c.log.bytes);
        if valid && !name.is_empty() && !other.is_empty() && other != name {
            report.notes.push(format!(
                "{}: its base block names {other:?}, the hive's names {name:?}; it may belong to another hive (inference: checked by sequence numbers/timestamp only)",
                c.log.label
            ));
        }
    }
    // What a replay that applies nothing must put back (pages are only written once applied).
    let (orig_len, orig_head) = (buf.len(), buf[..BASE_BLOCK].to_vec());
    let new: Vec<Usable<'_>> = cands
        .iter()
        .filter(|c| c.h.file_type == 6)
        .map(|c| Usable { log: c.log, h: c.h })
        .collect();
    if !new.is_empty() {
        for c in cands.iter().filter(|c| c.h.file_type != 6) {
            skipped.push(Skipped {
                label: c.log.label.clone(),
                file: c.log.path.display().to_string(),
                reason:
                    "old-format log ignored: a new-format log is present (formats are not mixed)"
                        .into(),
            });
        }
        report.format = Some(Format::New);
        replay_new(&mut buf, &bb, new, cap, &mut report, &mut skipped);
    } else if !cands.is_empty() {
        report.format = Some(Format::Old);
        replay_old(&mut buf, &bb, cands, cap, &mut report, &mut skipped);
    }
    report.skipped = skipped;
    if report.applied.is_empty() {
        report.format = None;
        buf.truncate(orig_len);
        buf[..BASE_BLOCK].copy_from_slice(&orig_head);
        return Ok(Replay { bytes: buf, report });
    }
    report.state = State::Recovered;
    report.bin_problems = check_bins(&buf, report.hbins_after);
    Ok(Replay { bytes: buf, report })
}

/// The §7 header: seq1 = seq2 = `seq`, hive bins size, file type 0, checksum; buffer long enough.
fn finish(buf: &mut Vec<u8>, seq: u32, hbins: u32, flag0: Option<u32>) {
    let need = BASE_BLOCK + hbins as usize;
    if buf.len() < need {
        buf.resize(need, 0);
    }
    put_u32(buf, 4, seq);
    put_u32(buf, 8, seq);
    put_u32(buf, 28, 0);
    put_u32(buf, 40, hbins);
    if let Some(f) = flag0 {
        let flags = u32_at(buf, 144).unwrap_or(0);
        put_u32(buf, 144, (flags & !1) | (f & 1));
    }
    fix_checksum(&mut buf[..LOG_HEADER]);
}

/// Replaces a bad primary base block with a log's 512-byte copy (rest zero, file type 0).
fn take_base_block(buf: &mut [u8], log: &[u8]) {
    buf[..BASE_BLOCK].fill(0);
    buf[..LOG_HEADER].copy_from_slice(&log[..LOG_HEADER]);
    put_u32(buf, 28, 0);
}

fn hbins_ok(hbins: u32, cap: u64) -> Result<(), String> {
    if hbins == 0 || !hbins.is_multiple_of(4096) || hbins > MAX_HBINS {
        return Err(format!(
            "hive bins data size {hbins} is not a non-zero multiple of 4096"
        ));
    }
    if BASE_BLOCK as u64 + u64::from(hbins) > cap {
        return Err(format!(
            "hive bins data size {hbins} grows past what the hive and its logs can fill"
        ));
    }
    Ok(())
}

/// The timestamp backup in the first hive bin's header (§2), used when the base block is bad.
fn first_hbin_timestamp(primary: &[u8]) -> Option<u64> {
    (primary.get(BASE_BLOCK..BASE_BLOCK + 4)? == b"hbin")
        .then(|| u64_at(primary, BASE_BLOCK + 20))
        .flatten()
}

/// Records that `log` was not used, and why.
fn skip_log(log: &LogFile, reason: String, skipped: &mut Vec<Skipped>) {
    skipped.push(Skipped {
        label: log.label.clone(),
        file: log.path.display().to_string(),
        reason,
    })
}

/// Old format (§5): exactly one log, chosen by timestamp.
fn replay_old(
    buf: &mut Vec<u8>,
    bb: &Header,
    cands: Vec<Usable<'_>>,
    cap: u64,
    report: &mut Report,
    skipped: &mut Vec<Skipped>,
) {
    let Some(c) = pick_old(buf, bb, cands, cap, skipped) else {
        return;
    };
    let log = &c.log.bytes;
    let hbins = c.h.hbins as usize;
    let Some((first_page, set)) = old_dirty_pages(&c, skipped) else {
        return;
    };
    let base_from_log = !bb.checksum_ok;
    let work = buf;
    if base_from_log {
        take_base_block(work, log);
    }
    if work.len() < BASE_BLOCK + hbins {
        work.resize(BASE_BLOCK + hbins, 0);
    }
    let (written, stop) = apply_old_pages(work, log, first_page, &set, hbins);
    finish(work, c.h.seq1, c.h.hbins, None);
    report.base_block_from_log = base_from_log;
    report.entries = 1;
    report.pages = written;
    report.hbins_after = c.h.hbins;
    report.seq_after = [c.h.seq1, c.h.seq1];
    report.applied.push(Applied {
        label: c.log.label.clone(),
        file: c.log.path.display().to_string(),
        first_seq: c.h.seq1,
        last_seq: c.h.seq1,
        entries: 1,
        pages: written,
        stop,
    });
}

/// Chooses the one old-format log to apply: applicable by timestamp, sane size, the latest.
fn pick_old<'a>(
    buf: &[u8],
    bb: &Header,
    cands: Vec<Usable<'a>>,
    cap: u64,
    skipped: &mut Vec<Skipped>,
) -> Option<Usable<'a>> {
    let hive_ts = if bb.checksum_ok {
        Some(bb.timestamp)
    } else {
        first_hbin_timestamp(buf)
    };
    let mut ok: Vec<Usable<'_>> = Vec::new();
    for c in cands {
        // Equality when the base block is valid; "log >= first hbin" only when it is bad
        // (inference, §5.4: rejects an old log of another hive that ">=" would accept).
        let applicable = match hive_ts {
            Some(t) if bb.checksum_ok => c.h.timestamp == t,
            Some(t) => c.h.timestamp >= t,
            None => false,
        };
        if !applicable {
            skip_log(
                c.log,
                "timestamp does not match the hive's (a log of another hive or of an older state)"
                    .into(),
                skipped,
            );
        } else if let Err(e) = hbins_ok(c.h.hbins, cap) {
            skip_log(c.log, e, skipped);
        } else {
            ok.push(c);
        }
    }
    // The latest timestamp wins; on a tie the first (LOG1) (inference, §5.4).
    let mut pick: Option<usize> = None;
    for (i, c) in ok.iter().enumerate() {
        if pick.is_none_or(|p| c.h.timestamp > ok[p].h.timestamp) {
            pick = Some(i);
        }
    }
    let p = pick?;
    for (i, c) in ok.iter().enumerate() {
        if i != p {
            skip_log(
                c.log,
                format!(
                    "old-format logs are never combined: {} is used",
                    ok[p].log.label
                ),
                skipped,
            );
        }
    }
    Some(ok.swap_remove(p))
}

/// The old-format log's dirty pages: where the first page starts and the dirty page indexes;
/// `None` (and the log skipped) when the file is cut short.
fn old_dirty_pages(c: &Usable<'_>, skipped: &mut Vec<Skipped>) -> Option<(usize, Vec<usize>)> {
    let log = &c.log.bytes;
    let hbins = c.h.hbins as usize;
    let bitmap_len = hbins / 4096;
    let bitmap_end = LOG_HEADER + 4 + bitmap_len;
    let Some(bitmap) = log.get(LOG_HEADER + 4..bitmap_end) else {
        skip_log(c.log, "truncated: dirty vector cut short".into(), skipped);
        return None;
    };
    let first_page = bitmap_end.div_ceil(512) * 512;
    let set: Vec<usize> = (0..hbins / 512)
        .filter(|&i| bitmap[i / 8] & (1 << (i % 8)) != 0)
        .collect();
    // A truncated log is unusable as a whole (the safest choice of §5.5 step 3).
    if first_page + set.len() * 512 > log.len() {
        skip_log(
            c.log,
            format!(
                "truncated: {} dirty pages need {} bytes, the file has {}",
                set.len(),
                first_page + set.len() * 512,
                log.len()
            ),
            skipped,
        );
        return None;
    }
    Some((first_page, set))
}

/// Copies the dirty pages into the hive, stopping at a page with a broken bin header; returns
/// the pages written and why it stopped early.
fn apply_old_pages(
    work: &mut [u8],
    log: &[u8],
    first_page: usize,
    set: &[usize],
    hbins: usize,
) -> (u32, Option<String>) {
    let mut written = 0u32;
    let mut stop = None;
    for (k, &i) in set.iter().enumerate() {
        let page = &log[first_page + 512 * k..first_page + 512 * (k + 1)];
        let rel = 512 * i;
        // A page starting a 4096-byte block that begins a bin must carry a sane bin header
        // (inference for §5.5 step 4: the exact granularity Windows uses is not documented).
        if rel % 4096 == 0 && page.starts_with(b"hbin") {
            let off = u32_at(page, 4).unwrap_or(u32::MAX) as usize;
            let size = u32_at(page, 8).unwrap_or(0) as usize;
            if off != rel || size < 4096 || !size.is_multiple_of(4096) || rel + size > hbins {
                stop = Some(format!(
                    "invalid hive bin header in the page for offset {rel}; recovered up to there"
                ));
                break;
            }
        }
        work[BASE_BLOCK + rel..BASE_BLOCK + rel + 512].copy_from_slice(page);
        written += 1;
    }
    (written, stop)
}

/// What one log's chain did.
struct Chain {
    last: Option<(u32, u32, u32)>, // (seq, hbins, flags)
    entries: u32,
    pages: u32,
    stop: String,
}

/// Applies one new-format log's entries from 512 on, validating each before writing (§6.3, §6.5).
fn apply_chain(buf: &mut Vec<u8>, log: &[u8], start: u32, cap: u64) -> Chain {
    let mut ch = Chain {
        last: None,
        entries: 0,
        pages: 0,
        stop: String::new(),
    };
    let mut off = LOG_HEADER;
    let mut expected = start;
    loop {
        if off >= log.len() {
            ch.stop = "end of file".into();
            return ch;
        }
        let Some(head) = log.get(off..off + 40) else {
            ch.stop = format!("truncated entry header at {off}");
            return ch;
        };
        if &head[..4] != b"HvLE" {
            ch.stop = format!("no HvLE signature at {off} (end of entries)");
            return ch;
        }
        let size = u32_at(head, 4).unwrap_or(0) as usize;
        let flags = u32_at(head, 8).unwrap_or(0);
        let seq = u32_at(head, 12).unwrap_or(0);
        let hbins = u32_at(head, 16).unwrap_or(0);
        let count = u32_at(head, 20).unwrap_or(0) as usize;
        if size < 512 || !size.is_multiple_of(512) {
            ch.stop = format!("entry at {off}: size {size} is not a multiple of 512");
            return ch;
        }
        let Some(entry) = log.get(off..off.saturating_add(size)) else {
            ch.stop =
                format!("entry at {off}: truncated ({size} bytes announced, file ends first)");
            return ch;
        };
        if let Err(e) = hbins_ok(hbins, cap) {
            ch.stop = format!("entry at {off}: {e}");
            return ch;
        }
        if marvin32(REGISTRY_SEED, &entry[..32]) != u64_at(entry, 32).unwrap_or(0) {
            ch.stop = format!("entry at {off}: header hash (Hash-2) mismatch");
            return ch;
        }
        if marvin32(REGISTRY_SEED, &entry[40..]) != u64_at(entry, 24).unwrap_or(0) {
            ch.stop = format!("entry at {off}: data hash (Hash-1) mismatch");
            return ch;
        }
        if seq != expected {
            ch.stop = format!("entry at {off}: sequence {seq}, expected {expected}");
            return ch;
        }
        // Zero references: the end of the chain (inference, §6.3).
        let refs_end = 40 + 8 * count;
        if count == 0 || refs_end > size {
            ch.stop = format!("entry at {off}: {count} page references do not fit");
            return ch;
        }
        let mut pages = Vec::with_capacity(count);
        let mut data = refs_end;
        for r in 0..count {
            let po = u32_at(entry, 40 + 8 * r).unwrap_or(0) as usize;
            let ps = u32_at(entry, 44 + 8 * r).unwrap_or(0) as usize;
            if data + ps > size || po + ps > hbins as usize {
                ch.stop = format!(
                    "entry at {off}: page {po}+{ps} lies outside the entry or its hive bins"
                );
                return ch;
            }
            pages.push((po, data, ps));
            data += ps;
        }
        let need = BASE_BLOCK + hbins as usize;
        if buf.len() < need {
            buf.resize(need, 0);
        }
        for (po, from, ps) in pages {
            buf[BASE_BLOCK + po..BASE_BLOCK + po + ps].copy_from_slice(&entry[from..from + ps]);
        }
        ch.entries += 1;
        ch.pages += count as u32;
        ch.last = Some((seq, hbins, flags));
        expected = expected.wrapping_add(1);
        off += size;
    }
}

/// The new-format logs to replay, in serial order; with a bad primary base block only the
/// latest log, whose base block replaces the hive's. `None` when no log is left.
fn eligible_new<'a>(
    work: &mut [u8],
    bb: &Header,
    mut logs: Vec<Usable<'a>>,
    report: &mut Report,
    skipped: &mut Vec<Skipped>,
) -> Option<Vec<Usable<'a>>> {
    if bb.checksum_ok {
        logs.retain(|c| {
            let ok = !before(c.h.seq1, bb.seq2);
            if !ok {
                skip_log(
                    c.log,
                    format!(
                        "stale: starts at sequence {}, before the hive's {}",
                        c.h.seq1, bb.seq2
                    ),
                    skipped,
                );
            }
            ok
        });
        // Serial order: every eligible log is within 2^31 after the hive's number, so the
        // distance from it is a total order (a comparator on serial numbers is not, for three
        // numbers spread over the whole range). Stable: LOG1 first on a tie.
        logs.sort_by_key(|c| c.h.seq1.wrapping_sub(bb.seq2));
    } else {
        // Bad primary base block: only the log with the latest entries, and its base block.
        let mut latest: Option<usize> = None;
        for (i, c) in logs.iter().enumerate() {
            if latest.is_none_or(|l| before(logs[l].h.seq1, c.h.seq1)) {
                latest = Some(i);
            }
        }
        let l = latest?;
        for (i, c) in logs.iter().enumerate() {
            if i != l {
                skip_log(
                    c.log,
                    "hive base block is bad: only the log with the latest entries is used".into(),
                    skipped,
                );
            }
        }
        let keep = logs.swap_remove(l);
        logs = vec![keep];
        take_base_block(work, &logs[0].log.bytes);
        report.base_block_from_log = true;
    }
    Some(logs)
}

/// New format (§6.4): eligible logs in serial order, each continuing the last.
fn replay_new(
    buf: &mut Vec<u8>,
    bb: &Header,
    logs: Vec<Usable<'_>>,
    cap: u64,
    report: &mut Report,
    skipped: &mut Vec<Skipped>,
) {
    let skip = |c: &Usable<'_>, reason: String, skipped: &mut Vec<Skipped>| {
        skip_log(c.log, reason, skipped)
    };
    let work = buf;
    let Some(logs) = eligible_new(work, bb, logs, report, skipped) else {
        return;
    };
    let mut next: Option<u32> = None;
    let mut last: Option<(u32, u32, u32)> = None;
    for c in &logs {
        if let Some(n) = next
            && c.h.seq1 != n
        {
            skip(
                c,
                format!("gap: starts at sequence {}, expected {n}", c.h.seq1),
                skipped,
            );
            continue;
        }
        let ch = apply_chain(work, &c.log.bytes, c.h.seq1, cap);
        match ch.last {
            None => {
                skip(c, format!("no valid entry ({})", ch.stop), skipped);
                next = Some(c.h.seq1);
            }
            Some((seq, _, _)) => {
                report.applied.push(Applied {
                    label: c.log.label.clone(),
                    file: c.log.path.display().to_string(),
                    first_seq: c.h.seq1,
                    last_seq: seq,
                    entries: ch.entries,
                    pages: ch.pages,
                    stop: Some(ch.stop),
                });
                report.entries += ch.entries;
                report.pages += ch.pages;
                last = ch.last;
                next = Some(seq.wrapping_add(1));
            }
        }
    }
    if let Some((seq, hbins, flags)) = last {
        finish(work, seq, hbins, Some(flags));
        report.seq_after = [seq, seq];
        report.hbins_after = hbins;
    } else {
        report.base_block_from_log = false;
    }
}

/// Walks the hive bins in `[4096, 4096 + hbins)` and lists what is wrong (§6.5 inference:
/// report, and refuse editing, rather than fabricate dummy bins).
pub fn check_bins(buf: &[u8], hbins: u32) -> Vec<String> {
    let end = BASE_BLOCK + hbins as usize;
    let mut pos = BASE_BLOCK;
    while pos < end {
        let Some(h) = buf.get(pos..pos + 32) else {
            return vec![format!("hive bins end early at offset {pos}")];
        };
        let off = u32_at(h, 4).unwrap_or(0) as usize;
        let size = u32_at(h, 8).unwrap_or(0) as usize;
        if &h[..4] != b"hbin"
            || off != pos - BASE_BLOCK
            || size < 4096
            || !size.is_multiple_of(4096)
        {
            return vec![format!("no valid hive bin at offset {pos}")];
        }
        if pos + size > end {
            return vec![format!(
                "hive bin at offset {pos} runs past the hive bins data size"
            )];
        }
        pos += size;
    }
    Vec::new()
}
