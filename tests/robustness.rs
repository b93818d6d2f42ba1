//! Robustness: every parser of untrusted input must return an error, never panic, on hostile
//! bytes (house style item 6), and every codec with a writer must round-trip its real inputs.
//!
//! A deterministic mutation harness (no fuzzing crate: a seeded SplitMix64 PRNG, so a failure
//! reproduces exactly and CI time is bounded). Seeds are real files from `../shared/vectors`
//! (read at test time, never copied) plus inputs made at test time by peforge's own writers and
//! by independent tools (openssl, mkfs.fat/mtools, xorriso). Each seed gets: truncation at every
//! length (small seeds) or at spread lengths (large ones), length-field corruption at the offsets
//! each format declares, and a bounded number of random bit flips, byte writes, insertions,
//! deletions, block duplications and integer writes. Every parse runs under `catch_unwind`; a
//! panic is reported with the target, seed, mutation and message, and the input is saved under
//! `CARGO_TARGET_TMPDIR/robustness-failures/` for `fuzz/` replays.
//!
//! Set `PEFORGE_ROBUST_SCALE=N` to multiply the random iterations for a deeper local run, and
//! `PEFORGE_DUMP_SEEDS=DIR` to write the generated seeds to `DIR/<fuzz target>/` for `fuzz/`
//! (seeds that are vector files verbatim are not written: the fuzzer reads `../shared/vectors`).
#![allow(clippy::single_range_in_vec_init)] // hot ranges are lists; one range is the usual case
mod common;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use peforge::cert::{self, Blob, Profile, RegRoots, Store};
use peforge::client::CommandLine;
use peforge::media::ini::TsmBootstrapIni;
use peforge::media::iso::IsoReader;
use peforge::media::usb::UsbReader;
use peforge::media::vars::{self, Cipher, MediaVarList};
use peforge::media::{FileSource, MediaTree};
use peforge::progress::Silent;
use peforge::registry::hive::BaseBlock;
use peforge::registry::reg::{self, RegFile};

// ---------------------------------------------------------------------------------------------
// PRNG and mutations

/// SplitMix64: tiny, well distributed, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(label: &str) -> Rng {
        // FNV-1a of the label, so each target has its own fixed stream.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in label.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One change to a seed. `Debug` output is the reproduction recipe printed on failure.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    Truncate(usize),
    Flip {
        pos: usize,
        bit: u8,
    },
    Byte {
        pos: usize,
        val: u8,
    },
    Insert {
        pos: usize,
        bytes: Vec<u8>,
    },
    Delete {
        pos: usize,
        len: usize,
    },
    Duplicate {
        pos: usize,
        len: usize,
    },
    Int {
        pos: usize,
        width: u8,
        big_endian: bool,
        val: u64,
    },
    Many(Vec<Mutation>),
}

impl Mutation {
    fn apply(&self, b: &mut Vec<u8>) {
        match self {
            Mutation::None => {}
            Mutation::Truncate(n) => b.truncate(*n),
            Mutation::Flip { pos, bit } => {
                if let Some(x) = b.get_mut(*pos) {
                    *x ^= 1 << bit;
                }
            }
            Mutation::Byte { pos, val } => {
                if let Some(x) = b.get_mut(*pos) {
                    *x = *val;
                }
            }
            Mutation::Insert { pos, bytes } => {
                let p = (*pos).min(b.len());
                b.splice(p..p, bytes.iter().copied());
            }
            Mutation::Delete { pos, len } => {
                let p = (*pos).min(b.len());
                let e = p.saturating_add(*len).min(b.len());
                b.drain(p..e);
            }
            Mutation::Duplicate { pos, len } => {
                let p = (*pos).min(b.len());
                let e = p.saturating_add(*len).min(b.len());
                let chunk: Vec<u8> = b[p..e].to_vec();
                b.splice(e..e, chunk);
            }
            Mutation::Int {
                pos,
                width,
                big_endian,
                val,
            } => {
                let w = usize::from(*width);
                let bytes = if *big_endian {
                    val.to_be_bytes()[8 - w..].to_vec()
                } else {
                    val.to_le_bytes()[..w].to_vec()
                };
                for (i, x) in bytes.into_iter().enumerate() {
                    if let Some(d) = b.get_mut(pos + i) {
                        *d = x;
                    }
                }
            }
            Mutation::Many(ms) => ms.iter().for_each(|m| m.apply(b)),
        }
    }

    /// Whether the mutation keeps the length (can be applied in place to a large image).
    fn in_place(&self) -> bool {
        match self {
            Mutation::None
            | Mutation::Flip { .. }
            | Mutation::Byte { .. }
            | Mutation::Int { .. } => true,
            Mutation::Many(ms) => ms.iter().all(Mutation::in_place),
            _ => false,
        }
    }
}

/// Values that break length and offset arithmetic.
fn interesting(seed_len: usize, old: u64) -> Vec<u64> {
    let l = seed_len as u64;
    vec![
        0,
        1,
        2,
        0x7F,
        0x80,
        0xFF,
        0x100,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFE,
        0xFFFF_FFFF,
        l,
        l.wrapping_sub(1),
        l + 1,
        old.wrapping_add(1),
        old.wrapping_sub(1),
        old.wrapping_mul(2),
        old / 2,
    ]
}

/// A seed: bytes plus format knowledge for targeted corruption.
struct Seed {
    name: String,
    bytes: Vec<u8>,
    /// Offsets of length/offset/count fields: (offset, width in bytes, big endian).
    fields: Vec<(usize, u8, bool)>,
    /// Byte ranges where structure lives (random mutations land here); empty = everywhere.
    hot: Vec<std::ops::Range<usize>>,
    /// A file of `../shared/vectors` as is (never dumped).
    vector: bool,
}

impl Seed {
    fn new(name: impl Into<String>, bytes: Vec<u8>) -> Seed {
        Seed {
            name: name.into(),
            bytes,
            fields: Vec::new(),
            hot: Vec::new(),
            vector: false,
        }
    }
    fn fields(mut self, f: Vec<(usize, u8, bool)>) -> Seed {
        self.fields = f;
        self
    }
    fn hot(mut self, h: Vec<std::ops::Range<usize>>) -> Seed {
        self.hot = h;
        self
    }
    fn pos(&self, rng: &mut Rng) -> usize {
        let ranges: Vec<std::ops::Range<usize>> = if self.hot.is_empty() {
            vec![0..self.bytes.len().max(1)]
        } else {
            self.hot.clone()
        };
        let r = &ranges[rng.below(ranges.len())];
        let r = r.start.min(self.bytes.len())..r.end.min(self.bytes.len()).max(r.start + 1);
        r.start + rng.below(r.end - r.start)
    }
}

/// Inputs up to this size get truncated at every length.
const SMALL: usize = 4096;

fn read_u(b: &[u8], pos: usize, width: u8, be: bool) -> u64 {
    let mut v = 0u64;
    for i in 0..usize::from(width) {
        let x = u64::from(b.get(pos + i).copied().unwrap_or(0));
        if be {
            v = (v << 8) | x;
        } else {
            v |= x << (8 * i);
        }
    }
    v
}

fn random_mutation(seed: &Seed, rng: &mut Rng, large: bool) -> Mutation {
    let len = seed.bytes.len();
    let kinds = if large { 4 } else { 8 };
    match rng.below(kinds) {
        0 => Mutation::Flip {
            pos: seed.pos(rng),
            bit: rng.below(8) as u8,
        },
        1 => Mutation::Byte {
            pos: seed.pos(rng),
            val: [0, 0xFF, 0x7F, 0x80, b'"', b'<', b'\\', b'\n', b'['][rng.below(9)],
        },
        2 => {
            let width = [1u8, 2, 4, 8][rng.below(4)];
            let pos = seed.pos(rng);
            let old = read_u(&seed.bytes, pos, width, false);
            let vals = interesting(len, old);
            Mutation::Int {
                pos,
                width,
                big_endian: rng.below(4) == 0,
                val: vals[rng.below(vals.len())],
            }
        }
        3 => Mutation::Many(
            (0..2 + rng.below(6))
                .map(|_| Mutation::Flip {
                    pos: seed.pos(rng),
                    bit: rng.below(8) as u8,
                })
                .collect(),
        ),
        4 => {
            let n = 1 + rng.below(16);
            let bytes = (0..n)
                .map(|_| {
                    [
                        0u8, 0xFF, b'"', b'\\', b'[', b']', b'=', b'<', b'>', b'\r', b'\n',
                    ][rng.below(11)]
                    .wrapping_add(if rng.below(3) == 0 {
                        rng.next() as u8
                    } else {
                        0
                    })
                })
                .collect();
            Mutation::Insert {
                pos: seed.pos(rng),
                bytes,
            }
        }
        5 => Mutation::Delete {
            pos: seed.pos(rng),
            len: 1 + rng.below(64),
        },
        6 => Mutation::Duplicate {
            pos: seed.pos(rng),
            len: 1 + rng.below(256),
        },
        _ => Mutation::Truncate(seed.pos(rng)),
    }
}

/// The mutations applied to one seed: none (the seed itself), truncations, field corruption,
/// then `iters` random ones.
fn plan(seed: &Seed, rng: &mut Rng, iters: usize, large: bool) -> Vec<Mutation> {
    let len = seed.bytes.len();
    let mut out = vec![Mutation::None];
    if len <= SMALL {
        out.extend((0..len).map(Mutation::Truncate));
    } else {
        let steps = if large { 8 } else { 128 };
        out.extend((0..steps).map(|i| Mutation::Truncate(len * i / steps)));
        out.extend(
            seed.hot
                .iter()
                .flat_map(|r| [r.start, r.start + 1, r.end.saturating_sub(1)])
                .map(Mutation::Truncate),
        );
    }
    for &(pos, width, be) in &seed.fields {
        let old = read_u(&seed.bytes, pos, width, be);
        for val in interesting(len, old) {
            out.push(Mutation::Int {
                pos,
                width,
                big_endian: be,
                val,
            });
        }
    }
    let scale: usize = std::env::var("PEFORGE_ROBUST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for _ in 0..iters * scale {
        out.push(random_mutation(seed, rng, large));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Panic capture

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg} at {loc}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, returning the panic message (with its location) if it panicked.
fn guarded(f: impl FnOnce()) -> Option<String> {
    install_hook();
    CAPTURING.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(false));
    r.err().map(|_| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic without message".into())
    })
}

fn failure_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness-failures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Mutates every seed and runs `parse` on each result; fails the test listing every panic.
fn fuzz_bytes(target: &str, seeds: &[Seed], iters: usize, parse: impl Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    dump_seeds(target, seeds);
    let mut rng = Rng::new(target);
    let mut failures = Vec::new();
    let mut runs = 0usize;
    for seed in seeds {
        for m in plan(seed, &mut rng, iters, false) {
            let mut b = seed.bytes.clone();
            m.apply(&mut b);
            runs += 1;
            if let Some(msg) = guarded(|| parse(&b)) {
                let file = failure_dir().join(format!("{target}-{}.bin", failures.len()));
                std::fs::write(&file, &b).unwrap();
                failures.push(format!(
                    "{target}: seed {} mutation {m:?}: {msg} (input saved to {})",
                    seed.name,
                    file.display()
                ));
            }
        }
    }
    report(target, runs, failures);
}

fn report(target: &str, runs: usize, failures: Vec<String>) {
    assert!(runs > 0);
    assert!(
        failures.is_empty(),
        "{target}: {} of {runs} inputs panicked:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{target}: {runs} inputs, no panic");
}

/// Like [`fuzz_bytes`] for readers that take a file: each input is written to `path` first.
/// Large seeds (above 8 MiB) are mutated in place with length-keeping mutations only and
/// restored afterwards, so a 48 MiB USB image costs a few writes per input, not 48 MiB.
fn fuzz_file(target: &str, seeds: &[Seed], iters: usize, parse: impl Fn(&Path)) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    dump_seeds(target, seeds);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.bin");
    let mut rng = Rng::new(target);
    let mut failures = Vec::new();
    let mut runs = 0usize;
    for seed in seeds {
        let large = seed.bytes.len() > 8 << 20;
        if large {
            write_sparse(&path, &seed.bytes);
        }
        for m in plan(seed, &mut rng, iters, large) {
            let mut restore: Vec<(usize, Vec<u8>)> = Vec::new();
            let mut truncated = None;
            if !large {
                let mut b = seed.bytes.clone();
                m.apply(&mut b);
                std::fs::write(&path, &b).unwrap();
            } else if m.in_place() {
                let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                for (pos, val) in overlay(&m, &seed.bytes) {
                    f.write_all_at(&[val], pos as u64).unwrap();
                    restore.push((pos, vec![seed.bytes[pos]]));
                }
            } else if let Mutation::Truncate(n) = m {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(n as u64)
                    .unwrap();
                truncated = Some(n);
            } else {
                continue;
            }
            runs += 1;
            if let Some(msg) = guarded(|| parse(&path)) {
                let file = failure_dir().join(format!("{target}-{}.bin", failures.len()));
                std::fs::copy(&path, &file).unwrap();
                failures.push(format!(
                    "{target}: seed {} mutation {m:?}: {msg} (input saved to {})",
                    seed.name,
                    file.display()
                ));
            }
            if large {
                let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                for (pos, orig) in restore {
                    f.write_all_at(&orig, pos as u64).unwrap();
                }
                if truncated.is_some() {
                    write_sparse(&path, &seed.bytes);
                }
            }
        }
    }
    report(target, runs, failures);
}

/// The bytes an in-place mutation changes, as (offset, new value), computed without copying
/// the whole seed.
fn overlay(m: &Mutation, base: &[u8]) -> std::collections::BTreeMap<usize, u8> {
    fn go(m: &Mutation, base: &[u8], out: &mut std::collections::BTreeMap<usize, u8>) {
        let cur = |out: &std::collections::BTreeMap<usize, u8>, p: usize| {
            out.get(&p).copied().or_else(|| base.get(p).copied())
        };
        match m {
            Mutation::Flip { pos, bit } => {
                if let Some(v) = cur(out, *pos) {
                    out.insert(*pos, v ^ (1 << bit));
                }
            }
            Mutation::Byte { pos, val } if *pos < base.len() => {
                out.insert(*pos, *val);
            }
            Mutation::Int { pos, width, .. } => {
                let w = usize::from(*width);
                let end = (pos + w).min(base.len());
                if *pos < end {
                    let mut window = base[*pos..end].to_vec();
                    let shifted = match m {
                        Mutation::Int {
                            width,
                            big_endian,
                            val,
                            ..
                        } => Mutation::Int {
                            pos: 0,
                            width: *width,
                            big_endian: *big_endian,
                            val: *val,
                        },
                        _ => unreachable!(),
                    };
                    shifted.apply(&mut window);
                    for (i, v) in window.into_iter().enumerate() {
                        out.insert(pos + i, v);
                    }
                }
            }
            Mutation::Many(ms) => ms.iter().for_each(|m| go(m, base, out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeMap::new();
    go(m, base, &mut out);
    out
}

/// Writes `bytes` to `path` leaving all-zero 64 KiB blocks as holes.
fn write_sparse(path: &Path, bytes: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(bytes.len() as u64).unwrap();
    for (i, block) in bytes.chunks(1 << 16).enumerate() {
        if block.iter().any(|b| *b != 0) {
            f.write_all_at(block, (i << 16) as u64).unwrap();
        }
    }
}

/// A writer that refuses more than 1 MiB, so a damaged size field cannot make a reader copy
/// gigabytes; the reader must turn the refusal into an error.
struct Capped(usize);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        if self.0 > 1 << 20 {
            return Err(std::io::Error::other("capped"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds

fn vector_files(sub: &str, ext: &str) -> Vec<PathBuf> {
    let dir = common::vectors().join(sub);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .{ext} files in {}", dir.display());
    v
}

fn file_seed(p: &Path) -> Seed {
    let mut s = Seed::new(
        p.file_name().unwrap().to_string_lossy(),
        std::fs::read(p).unwrap(),
    );
    s.vector = true;
    s
}

/// Writes the generated seeds of `target` for the cargo-fuzz target of the same parser.
fn dump_seeds(target: &str, seeds: &[Seed]) {
    let Some(dir) = std::env::var_os("PEFORGE_DUMP_SEEDS") else {
        return;
    };
    let fuzz_name = if target.starts_with("cert-load") {
        "cert_load".to_string()
    } else {
        target.replace('-', "_")
    };
    let dir = Path::new(&dir).join(fuzz_name);
    std::fs::create_dir_all(&dir).unwrap();
    for s in seeds
        .iter()
        .filter(|s| !s.vector && s.bytes.len() <= 8 << 20)
    {
        let name: String = s
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(dir.join(format!("{target}-{name}")), &s.bytes).unwrap();
    }
}

/// The certificates of the PEM vectors, as loaded by peforge.
fn vector_certs() -> Vec<cert::CertInfo> {
    vector_files("cert-reg", "pem")
        .iter()
        .flat_map(|p| cert::load::load(p).unwrap())
        .map(|l| l.info)
        .collect()
}

/// Offsets of each record's length field (and id) in a blob, walking its records.
fn blob_fields(b: &[u8]) -> Vec<(usize, u8, bool)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 12 <= b.len() {
        out.push((pos, 4, false));
        out.push((pos + 8, 4, false));
        let len = read_u(b, pos + 8, 4, false) as usize;
        pos += 12 + len;
    }
    out
}

fn blob_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for p in vector_files("cert-reg", "reg") {
        let f = reg::read(&p).unwrap();
        for (i, k) in f.keys.iter().enumerate() {
            if let Some(v) = k.value("Blob") {
                seeds.push(
                    Seed::new(
                        format!("{}#{i}", p.file_name().unwrap().to_string_lossy()),
                        v.data.clone(),
                    )
                    .fields(blob_fields(&v.data)),
                );
            }
        }
    }
    for (i, c) in vector_certs().iter().enumerate().take(3) {
        for profile in [
            Profile::CertOnly,
            Profile::Minimal,
            Profile::Windows,
            Profile::Legacy,
        ] {
            let b = Blob::build(c, profile).unwrap().to_bytes();
            seeds.push(
                Seed::new(format!("built-{i}-{}", profile.name()), b.clone())
                    .fields(blob_fields(&b)),
            );
        }
    }
    seeds
}

const VARS_XML: &str = "<?xml version=\"1.0\" ?><MediaVarList Version=\"4.00.5345.0000\"><var name=\"_SMSTSSiteCode\"><![CDATA[ABC]]></var>\r\n <var name=\"SMSTSMP\"><![CDATA[https://cmg.contoso.com/CCM_Proxy_MutualAuth/7205759403792793600]]></var><var name='Plain'>a&amp;b &lt;c&gt; &quot;q&quot;</var><var name=\"Split\"><![CDATA[x]]]]><![CDATA[>y]]></var><var name=\"Empty\"></var></MediaVarList>";

fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend([0, 0]);
    v
}

fn var_list_seeds() -> Vec<Seed> {
    let mut lib = MediaVarList::default();
    lib.set("_SMSTSMediaGuid", "{0E1D1E86-7E2E-4F54-9E3E-1D2E3F4A5B6C}")
        .unwrap();
    lib.set("SMSTSMP", "https://cmg.contoso.com/CCM_Proxy_MutualAuth/1")
        .unwrap();
    lib.set("X", "a]]>b<&\"'").unwrap();
    vec![
        Seed::new("handwritten", utf16z(VARS_XML)),
        Seed::new(
            "handwritten-no-nul",
            VARS_XML.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ),
        Seed::new("library", lib.to_plaintext().to_vec()),
    ]
}

const PASSWORD: &str = "Robust!Pass1";

fn vars_file_seeds() -> Vec<Seed> {
    let header = vec![
        (4, 4, false),
        (8, 4, false),
        (12, 4, false),
        (16, 4, false),
        (20, 4, false),
    ];
    let mut seeds = Vec::new();
    for (i, plain) in var_list_seeds().iter().enumerate() {
        for (cipher, trailer) in [
            (Cipher::Aes128, &[0u8; 4][..]),
            (Cipher::Aes256, &[][..]),
            (Cipher::TripleDes, &[1, 2, 3, 4, 5, 6, 7, 8][..]),
        ] {
            let f = vars::encrypt(&plain.bytes, PASSWORD, cipher, trailer).unwrap();
            // Structure lives in the header, the first block (known plaintext check) and the
            // last blocks (padding, trailer).
            let n = f.len();
            seeds.push(
                Seed::new(format!("{}-{}", plain.name, cipher.name()), f)
                    .fields(header.clone())
                    .hot(vec![0..40, n.saturating_sub(40)..n]),
            );
            let _ = i;
        }
    }
    seeds
}

fn ini_seeds() -> Vec<Seed> {
    let t = "; made by console\r\n[MediaInfo]\r\nmediatype=BootMedia\r\nFutureKey=42\r\nPasswordRequired=false\r\n[Other]\r\nUnattended=keep\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(t.as_bytes());
    let mut set = TsmBootstrapIni::default();
    set.set("Unattended", "true");
    set.set("NewKey", "x");
    vec![
        Seed::new("default", TsmBootstrapIni::default().to_bytes()),
        Seed::new("library-set", set.to_bytes()),
        Seed::new("template-utf8", t.as_bytes().to_vec()),
        Seed::new("template-utf8-bom", bom),
        Seed::new("template-utf16", utf16),
        Seed::new(
            "lf-no-final-newline",
            b"[MediaInfo]\nMediaType=BootMedia".to_vec(),
        ),
    ]
}

const CLIENT_LINES: &[&str] = &[
    "CCMSETUPCMD=\"CCMHOSTNAME=CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC AADCLIENTAPPID=7506ee10-f7ec-415a-b415-cd3d58790d97 AADRESOURCEURI=https://contososerver SMSMP=https://mp1.contoso.com PROVISIONTS=PRI20001\"",
    "CCMSETUPCMD=\"/mp:https://contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 /NoCRLCheck /UpgradeToLatest CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC PROVISIONTS=PRI20001\"",
    "msiexec /i ccmsetup.msi /qn CCMSETUPCMD=\"CCMHOSTNAME=mp.contoso.com SMSSiteCode=ABC AADRESOURCEURI=https://contososerver\" PROVISIONTS=PRI20001",
    "CCMSETUPCMD=\"CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC FSP=\"\"fsp 1.contoso.com\"\"\"",
    "ccmsetup.exe /mp:https://mp.contoso.com /regtoken:eyJ0eXAi CCMHOSTNAME=mp.contoso.com SMSSITECODE=P01 AADTENANTID={7506EE10-F7EC-415A-B415-CD3D58790D97}",
    "C:\\Windows\\ccmsetup\\ccmsetup.exe /UsePKICert SMSSITECODE=P01 CCMHOSTNAME=mp",
];

fn client_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = CLIENT_LINES
        .iter()
        .enumerate()
        .map(|(i, l)| Seed::new(format!("line-{i}"), l.as_bytes().to_vec()))
        .collect();
    // Lines the library writes.
    let mut c = CommandLine::new();
    c.set_property("CCMHOSTNAME", "contoso.cloudapp.net/CCM_Proxy_MutualAuth/1");
    c.set_property("SMSSITECODE", "ABC");
    c.set_property("FSP", "fsp 1");
    c.set_param(
        "mp",
        Some("https://contoso.cloudapp.net/CCM_Proxy_MutualAuth/1"),
    );
    c.set_param("NoCRLCheck", None);
    seeds.push(Seed::new("library-ccmsetup", c.to_ccmsetup().into_bytes()));
    seeds.push(Seed::new(
        "library-intune",
        c.to_intune().unwrap().into_bytes(),
    ));
    seeds
}

fn reg_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = vector_files("cert-reg", "reg")
        .iter()
        .map(|p| file_seed(p))
        .collect();
    let certs = vector_certs();
    let entries: Vec<(Store, String, Vec<u8>)> = certs
        .iter()
        .take(2)
        .map(|c| {
            (
                Store::Root,
                c.thumbprint.clone(),
                Blob::build(c, Profile::Windows).unwrap().to_bytes(),
            )
        })
        .collect();
    seeds.push(Seed::new(
        "library-export",
        cert::reg_export("HKEY_LOCAL_MACHINE\\SOFTWARE", &entries),
    ));
    seeds.push(Seed::new(
        "regedit4-ansi",
        b"REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\A]\r\n\"s\"=\"caf\xe9 \x80\"\r\n\"m\"=hex(7):61,00,00\r\n@=dword:0000001a\r\n\"b\"=hex:01,\\\r\n  02\r\n\"gone\"=-\r\n[-HKEY_LOCAL_MACHINE\\B]\r\n"
            .to_vec(),
    ));
    seeds.push(Seed::new(
        "escaped-names",
        b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\E]\r\n\"a\\\\\\\\\\\"b\"=\"x\\\\n\\\"y\"\r\n\"c\\\\n\"=str:\"1\\r\\n2\"\r\n\"\\\\\"=dword:1\r\n"
            .to_vec(),
    ));
    seeds.push(Seed::new(
        "wine-str",
        b"Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\W]\n\"a\"=str:\"x\\n\"\n\"b\"=str(7):\"a\\0b\\0\"\n\"c\"=hex(b):01,00,00,00,00,00,00,00\n"
            .to_vec(),
    ));
    seeds
}

// ---------------------------------------------------------------------------------------------
// Round-trip helpers

/// A `.reg` model without the line numbers (which a rewrite changes) and header version (the
/// writer always writes 5.00).
fn reg_model(f: &RegFile) -> Vec<(String, bool, Vec<reg::RegValueOp>)> {
    f.keys
        .iter()
        .map(|k| (k.path.clone(), k.delete, k.values.clone()))
        .collect()
}

type VarModel = (String, Vec<(String, String, bool, String)>, String, bool);

fn var_model(l: &MediaVarList) -> VarModel {
    (
        l.head.clone(),
        l.vars
            .iter()
            .map(|v| (v.name.clone(), v.value.to_string(), v.cdata, v.lead.clone()))
            .collect(),
        l.tail.clone(),
        l.trailing_nul,
    )
}

fn client_round_trip(line: &str) -> Result<(), String> {
    let Ok(mut c) = CommandLine::parse(line) else {
        return Ok(());
    };
    if c.validate().is_err() {
        return Ok(());
    }
    let ccmsetup = c.to_ccmsetup();
    let mut back = CommandLine::parse(&ccmsetup).map_err(|e| format!("{ccmsetup}: {e}"))?;
    back.validate().map_err(|e| format!("{ccmsetup}: {e}"))?;
    if back != c {
        return Err(format!("{ccmsetup}: {back:?} != {c:?}"));
    }
    if let Ok(intune) = c.to_intune() {
        let mut back = CommandLine::parse(&intune).map_err(|e| format!("{intune}: {e}"))?;
        back.validate().map_err(|e| format!("{intune}: {e}"))?;
        if back != c {
            return Err(format!("{intune}: {back:?} != {c:?}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Targets: .reg, Blob, certificates

#[test]
fn reg_parser_never_panics() {
    // Whatever parses must read back as the same model after a rewrite (the class of
    // r_reg_roundtrip_value_name_newline: a name the writer cannot represent).
    fuzz_bytes("reg", &reg_seeds(), 400, |b| {
        if let Ok(f) = reg::parse(b, Path::new("m.reg")) {
            let back = reg::parse(&reg::write(&f), Path::new("w.reg"))
                .unwrap_or_else(|e| panic!("rewrite unreadable: {e}"));
            assert!(
                reg_model(&back) == reg_model(&f),
                "rewrite changed the model"
            );
        }
    });
}

#[test]
fn reg_round_trips_its_seeds() {
    for s in reg_seeds() {
        let f = reg::parse(&s.bytes, Path::new(&s.name)).unwrap();
        let back = reg::parse(&reg::write(&f), Path::new("rewritten.reg")).unwrap();
        assert_eq!(reg_model(&back), reg_model(&f), "{}", s.name);
        assert!(!f.keys.is_empty(), "{}", s.name);
    }
}

#[test]
fn blob_parser_never_panics() {
    fuzz_bytes("blob", &blob_seeds(), 150, |b| {
        if let Ok((blob, _)) = Blob::parse(b) {
            let _ = Blob::parse(&blob.to_bytes());
        }
        let _ = cert::store::validate("4EF2E6670AC9B5091FE06BE0E5483EAAD6BA32D9", b);
    });
}

#[test]
fn blob_round_trips_its_seeds() {
    for s in blob_seeds() {
        let (blob, _) = Blob::parse(&s.bytes).unwrap();
        let (back, w) = Blob::parse(&blob.to_bytes()).unwrap();
        assert_eq!(back, blob, "{}", s.name);
        assert!(
            w.iter()
                .all(|w| !matches!(w, cert::blob::BlobWarning::TrailingBytes { .. }))
        );
        assert_eq!(
            blob.records.last().map(|r| r.id),
            Some(cert::blob::prop::CERTIFICATE),
            "{}",
            s.name
        );
    }
}

fn cert_seeds() -> Vec<(Seed, &'static str)> {
    let mut seeds: Vec<(Seed, &'static str)> = Vec::new();
    for p in vector_files("cert-reg", "pem").into_iter().take(4) {
        seeds.push((file_seed(&p), "c.pem"));
        let der = cert::load::load(&p).unwrap().remove(0).info.der;
        let name = format!("{}.der", p.file_stem().unwrap().to_string_lossy());
        seeds.push((Seed::new(name, der), "c.cer"));
    }
    // A PEM bundle, as openssl and distributions write them.
    let bundle: Vec<u8> = vector_files("cert-reg", "pem")
        .iter()
        .take(3)
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.push((Seed::new("bundle.pem", bundle), "c.pem"));
    for p in vector_files("cert-reg", "reg").into_iter().take(3) {
        seeds.push((file_seed(&p), "c.reg"));
    }
    seeds
}

#[test]
fn cert_loader_never_panics() {
    // DER, PEM, bundles and .reg, each under the file name that selects its reader.
    for (ext, iters) in [("c.pem", 60), ("c.cer", 120), ("c.reg", 40)] {
        let seeds: Vec<Seed> = cert_seeds()
            .into_iter()
            .filter(|(_, e)| *e == ext)
            .map(|(s, _)| s)
            .collect();
        fuzz_bytes(&format!("cert-load-{ext}"), &seeds, iters, |b| {
            let _ = cert::load::load_bytes(b, Path::new(ext), RegRoots::Any);
        });
    }
}

#[test]
fn cert_loader_round_trips_its_seeds() {
    for (s, ext) in cert_seeds() {
        let loaded = cert::load::load_bytes(&s.bytes, Path::new(ext), RegRoots::Any).unwrap();
        assert!(!loaded.is_empty(), "{}", s.name);
        for l in &loaded {
            // DER → CertInfo → DER.
            assert_eq!(cert::CertInfo::from_der(&l.info.der).unwrap(), l.info);
        }
        // .reg → entries → reg_export → .reg → same entries.
        let entries: Vec<(Store, String, Vec<u8>)> = loaded
            .iter()
            .filter_map(|l| l.reg.as_ref())
            .map(|r| (r.store, r.key_name.clone(), r.blob.clone()))
            .collect();
        if !entries.is_empty() {
            let out = cert::reg_export("HKEY_LOCAL_MACHINE\\SOFTWARE", &entries);
            let back = cert::load::load_bytes(&out, Path::new("back.reg"), RegRoots::Machine)
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let again: Vec<(Store, String, Vec<u8>)> = back
                .iter()
                .filter_map(|l| l.reg.as_ref())
                .map(|r| (r.store, r.key_name.clone(), r.blob.clone()))
                .collect();
            assert_eq!(again, entries, "{}", s.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Targets: Variables.dat, MediaVarList, TsmBootstrap.ini, client command lines, hive base block

#[test]
fn media_variables_never_panic() {
    fuzz_bytes("vars-file", &vars_file_seeds(), 60, |b| {
        let _ = vars::read_header(b, "Variables.dat");
        if let Ok(v) = vars::open(b, PASSWORD, "Variables.dat") {
            let _ = v.encrypt(PASSWORD);
        }
    });
    fuzz_bytes("vars-list", &var_list_seeds(), 500, |b| {
        if let Ok(l) = MediaVarList::parse(b, "Variables.dat") {
            let _ = MediaVarList::parse(&l.to_plaintext(), "Variables.dat");
        }
    });
}

#[test]
fn media_variables_round_trip() {
    for s in vars_file_seeds() {
        let v = vars::open(&s.bytes, PASSWORD, &s.name).unwrap();
        let again = v.encrypt(PASSWORD).unwrap();
        if s.name.starts_with("library") {
            // A list peforge wrote is rewritten byte for byte (same cipher, trailer, text).
            assert!(again == s.bytes, "{}: rewrite differs", s.name);
        }
        let back = vars::open(&again, PASSWORD, &s.name).unwrap();
        assert_eq!(back.header, v.header);
        assert_eq!(var_model(&back.list), var_model(&v.list), "{}", s.name);
    }
    // The handwritten list, read by a second parser: Python's XML reader sees the same values.
    let l = MediaVarList::parse(&utf16z(VARS_XML), "v").unwrap();
    assert_eq!(l.get("Plain"), Some("a&b <c> \"q\""));
    assert_eq!(l.get("Split"), Some("x]]>y"));
    // Every mutated list that parses round-trips through the writer.
    let mut rng = Rng::new("vars-list-rt");
    for seed in var_list_seeds() {
        for m in plan(&seed, &mut rng, 300, false) {
            let mut b = seed.bytes.clone();
            m.apply(&mut b);
            let Ok(l) = MediaVarList::parse(&b, "v") else {
                continue;
            };
            let back = MediaVarList::parse(&l.to_plaintext(), "v")
                .unwrap_or_else(|e| panic!("{}: {m:?}: rewrite unreadable: {e}", seed.name));
            assert_eq!(var_model(&back), var_model(&l), "{}: {m:?}", seed.name);
        }
    }
}

#[test]
fn tsm_bootstrap_ini_never_panics_and_round_trips() {
    let seeds = ini_seeds();
    fuzz_bytes("ini", &seeds, 300, |b| {
        if let Ok(mut ini) = TsmBootstrapIni::parse(b, "TsmBootstrap.ini") {
            let _ = ini.get("MediaType");
            ini.set("PasswordRequired", "true");
            let _ = TsmBootstrapIni::parse(&ini.to_bytes(), "TsmBootstrap.ini");
        }
    });
    let mut rng = Rng::new("ini-rt");
    for seed in &seeds {
        for m in plan(seed, &mut rng, 200, false) {
            let mut b = seed.bytes.clone();
            m.apply(&mut b);
            let Ok(ini) = TsmBootstrapIni::parse(&b, "t") else {
                continue;
            };
            let out = ini.to_bytes();
            let back = TsmBootstrapIni::parse(&out, "t")
                .unwrap_or_else(|e| panic!("{}: {m:?}: rewrite unreadable: {e}", seed.name));
            assert_eq!(back.entries(), ini.entries(), "{}: {m:?}", seed.name);
            assert_eq!(back.to_bytes(), out, "{}: {m:?}", seed.name);
        }
        if matches!(seed.name.as_str(), "template-utf8" | "template-utf16") {
            // Templates are rewritten byte for byte.
            assert_eq!(
                TsmBootstrapIni::parse(&seed.bytes, "t").unwrap().to_bytes(),
                seed.bytes
            );
        }
    }
}

#[test]
fn client_command_line_never_panics_and_round_trips() {
    let seeds = client_seeds();
    fuzz_bytes("client", &seeds, 400, |b| {
        let line = String::from_utf8_lossy(b);
        if let Ok(mut c) = CommandLine::parse(&line) {
            let _ = c.validate();
            let _ = c.to_intune();
            let _ = c.to_ccmsetup();
        }
    });
    for s in &seeds {
        let line = String::from_utf8_lossy(&s.bytes);
        let mut c = CommandLine::parse(&line).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        if s.name.starts_with("line-") && s.name != "line-5" {
            c.validate().unwrap_or_else(|e| panic!("{}: {e}", s.name));
        }
        client_round_trip(&line).unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    // Every mutated line that parses and validates round-trips through both emitters.
    let mut rng = Rng::new("client-rt");
    for seed in &seeds {
        for m in plan(seed, &mut rng, 300, false) {
            let mut b = seed.bytes.clone();
            m.apply(&mut b);
            let line = String::from_utf8_lossy(&b);
            if let Err(e) = client_round_trip(&line) {
                panic!("{}: {m:?}: {e}", seed.name);
            }
        }
    }
}

#[test]
fn hive_base_block_never_panics() {
    let d = common::Dir::new();
    let empty = d.join("empty.hiv");
    peforge::registry::Hive::create_empty(&empty).unwrap();
    let full = d.join("full.hiv");
    peforge::sample::build_hive(
        &full,
        &[(
            "Microsoft\\SystemCertificates\\ROOT\\Certificates\\X",
            vec![peforge::registry::RawValue {
                name: "Blob".into(),
                ty: peforge::registry::hive::types::BINARY,
                data: vec![1, 2, 3],
            }],
        )],
    )
    .unwrap();
    let mut seeds = Vec::new();
    for p in [&empty, &full] {
        let bytes = std::fs::read(p).unwrap();
        // The base block is the first 4096 bytes; the parser reads 512 of them.
        let head = bytes[..bytes.len().min(4096)].to_vec();
        let bb = BaseBlock::parse(&head).unwrap();
        assert!(!bb.is_dirty(), "{}", p.display());
        seeds.push(
            Seed::new(p.file_name().unwrap().to_string_lossy(), head)
                .fields(vec![(4, 4, false), (8, 4, false), (508, 4, false)])
                .hot(vec![0..512]),
        );
    }
    fuzz_bytes("hive-base-block", &seeds, 500, |b| {
        let _ = BaseBlock::parse(b).map(|bb| bb.is_dirty());
    });
}

// ---------------------------------------------------------------------------------------------
// Targets: ISO and USB/FAT readers

fn small_tree() -> MediaTree {
    let mut t = MediaTree {
        label: "Robust Media".into(),
        mtime: 1_700_000_000,
        ..Default::default()
    };
    let b = |s: &[u8]| FileSource::Bytes(s.to_vec());
    t.insert("bootmgr", b(b"stand-in bootmgr\r\n"));
    t.insert("boot/etfsboot.com", FileSource::Bytes(vec![0xEB; 4096]));
    t.insert(
        "EFI/microsoft/boot/efisys.bin",
        FileSource::Bytes(vec![0xE5; 8192]),
    );
    t.insert("EFI/BOOT/BOOTX64.EFI", b(b"MZ stand-in"));
    t.insert(
        "SMS/data/TsmBootstrap.ini",
        FileSource::Bytes(TsmBootstrapIni::default().to_bytes()),
    );
    t.insert(
        "sources/a very long directory name for Joliet/Deeper/file with spaces and ünïcode.txt",
        b(b"x"),
    );
    t.insert("empty.txt", b(b""));
    t.boot.bios = Some("boot/etfsboot.com".into());
    t.boot.uefi = Some("EFI/microsoft/boot/efisys.bin".into());
    t
}

/// Reads everything an ISO reader offers: listing, boot catalog, and each file (capped).
fn exercise_iso(p: &Path) {
    if let Ok(r) = IsoReader::open(p) {
        let _ = r.label();
        let _ = r.boot_entries();
        for f in r.files().iter().take(64) {
            let _ = r.copy_to(&f.path, &mut Capped(0));
        }
        let _ = r.find("\\SMS\\DATA\\TSMBOOTSTRAP.INI");
    }
}

fn iso_seed(name: &str, bytes: Vec<u8>) -> Seed {
    let sector = |n: usize| n * 2048;
    let pvd = sector(16);
    let mut fields = vec![
        (pvd + 80, 4, false),
        (pvd + 84, 4, true),
        (pvd + 132, 4, false),
        (pvd + 140, 4, false),
        (pvd + 156 + 2, 4, false),
        (pvd + 156 + 10, 4, false),
        (pvd + 156 + 32, 1, false),
        (pvd + 156, 1, false),
    ];
    // The supplementary (Joliet) descriptor and the boot record, wherever they are.
    for i in 16..24 {
        let s = sector(i);
        match bytes.get(s) {
            Some(2) => fields.extend([(s + 156 + 2, 4, false), (s + 156 + 10, 4, false)]),
            Some(0) => {
                fields.push((s + 0x47, 4, false));
                let cat = read_u(&bytes, s + 0x47, 4, false) as usize * 2048;
                for e in 0..8 {
                    let at = cat + e * 32;
                    fields.extend([
                        (at, 1, false),
                        (at + 2, 2, false),
                        (at + 6, 2, false),
                        (at + 8, 4, false),
                    ]);
                }
            }
            _ => {}
        }
    }
    let metadata_end = bytes.len().min(sector(64));
    Seed::new(name, bytes)
        .fields(fields)
        .hot(vec![sector(16)..metadata_end])
}

#[test]
fn iso_reader_never_panics_and_round_trips() {
    let d = common::Dir::new();
    let tree = small_tree();
    let ours = d.join("ours.iso");
    peforge::media::iso::write(&tree, &ours, &Silent).unwrap();
    // An ISO by an independent writer (xorriso, Joliet + El Torito).
    let src = d.join("src");
    peforge::media::write_dir(&tree, &src, &Silent).unwrap();
    let theirs = d.join("xorriso.iso");
    d.tool(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-quiet",
            "-J",
            "-joliet-long",
            "-b",
            "boot/etfsboot.com",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-o",
            theirs.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    )
    .ok();
    let seeds = vec![
        iso_seed("peforge.iso", std::fs::read(&ours).unwrap()),
        iso_seed("xorriso.iso", std::fs::read(&theirs).unwrap()),
    ];
    // Round trip: read the peforge ISO, write its files again, read back the same files,
    // contents and boot entries.
    let r = IsoReader::open(&ours).unwrap();
    let mut again = MediaTree {
        label: r.label().to_string(),
        mtime: tree.mtime,
        boot: tree.boot.clone(),
        ..Default::default()
    };
    for f in r.files() {
        again.insert(&f.path, FileSource::Bytes(r.read(&f.path).unwrap()));
    }
    assert!(
        again.files == tree.files,
        "files read back differ from the tree"
    );
    let out = d.join("again.iso");
    peforge::media::iso::write(&again, &out, &Silent).unwrap();
    let back = IsoReader::open(&out).unwrap();
    assert_eq!(back.files(), r.files());
    assert_eq!(back.boot_entries().unwrap(), r.boot_entries().unwrap());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&ours).unwrap());

    fuzz_file("iso", &seeds, 700, exercise_iso);
}

fn exercise_usb(p: &Path) {
    if let Ok(r) = UsbReader::open(p) {
        let _ = r.label();
        let _ = r.partitions();
        if let Ok(files) = r.files() {
            for f in files.iter().take(64) {
                let _ = r.copy_to(&f.path, &mut Capped(0));
            }
        }
        let _ = r.read("SMS/data/TsmBootstrap.ini");
    }
}

/// A small FAT volume made by mkfs.fat and filled by mtools (not peforge).
fn mkfs_fat(d: &common::Dir, name: &str, fat: &str, kib: u32) -> Vec<u8> {
    let img = d.join(name);
    let _ = std::fs::remove_file(&img);
    d.tool(
        "mkfs.fat",
        &[
            "-C",
            "-F",
            fat,
            "-s",
            "1",
            "-n",
            "ROBUST",
            img.to_str().unwrap(),
            &kib.to_string(),
        ],
    )
    .ok();
    let i = img.to_str().unwrap();
    let src = d.join("fatsrc");
    std::fs::create_dir_all(src.join("SMS/data")).unwrap();
    std::fs::write(
        src.join("SMS/data/TsmBootstrap.ini"),
        TsmBootstrapIni::default().to_bytes(),
    )
    .unwrap();
    std::fs::write(src.join("A long file name.txt"), vec![b'x'; 3000]).unwrap();
    d.tool(
        "mcopy",
        &["-s", "-i", i, src.join("SMS").to_str().unwrap(), "::/"],
    )
    .ok();
    d.tool(
        "mcopy",
        &[
            "-i",
            i,
            src.join("A long file name.txt").to_str().unwrap(),
            "::/",
        ],
    )
    .ok();
    std::fs::read(&img).unwrap()
}

/// `volume` behind an MBR whose one partition (type 0x06, FAT16) starts at LBA 63.
fn with_mbr(volume: &[u8]) -> Vec<u8> {
    let mut mbr = vec![0u8; 63 * 512];
    let rec = 446;
    mbr[rec] = 0x80;
    mbr[rec + 4] = 0x06;
    mbr[rec + 8..rec + 12].copy_from_slice(&63u32.to_le_bytes());
    mbr[rec + 12..rec + 16].copy_from_slice(&((volume.len() / 512) as u32).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    mbr.extend_from_slice(volume);
    mbr
}

fn fat_fields(base: usize) -> Vec<(usize, u8, bool)> {
    // BPB: bytes/sector, sectors/cluster, reserved, FAT count, root entries, total16, FAT size16,
    // total32, FAT size32, root cluster, FSInfo sector.
    [
        (11, 2),
        (13, 1),
        (14, 2),
        (16, 1),
        (17, 2),
        (19, 2),
        (22, 2),
        (32, 4),
        (36, 4),
        (44, 4),
        (48, 2),
    ]
    .iter()
    .map(|&(o, w)| (base + o, w, false))
    .collect()
}

#[test]
fn usb_and_fat_readers_never_panic() {
    let d = common::Dir::new();
    let fat12 = mkfs_fat(&d, "fat12.img", "12", 1440);
    let fat16 = mkfs_fat(&d, "fat16.img", "16", 4096);
    let mbr16 = with_mbr(&fat16);
    let mut seeds = vec![
        Seed::new("mkfs-fat12", fat12.clone())
            .fields(fat_fields(0))
            .hot(vec![0..32 * 1024]),
        Seed::new("mbr-mkfs-fat16", mbr16)
            .fields(
                [
                    (446 + 8, 4, false),
                    (446 + 12, 4, false),
                    (446 + 4, 1, false),
                ]
                .into_iter()
                .chain(fat_fields(63 * 512))
                .collect(),
            )
            .hot(vec![0..512, 63 * 512..63 * 512 + 96 * 1024]),
    ];
    // The library's own USB image (48 MiB, sparse): structure is the MBR, the FAT32 reserved
    // area and FATs, and the first directory clusters.
    let img = d.join("peforge.img");
    let s = peforge::media::usb::write(&small_tree(), &img, &Silent).unwrap();
    let bytes = std::fs::read(&img).unwrap();
    let start = s.partition_offset as usize;
    let meta_end = bytes
        .chunks(4096)
        .enumerate()
        .filter(|(_, c)| c.iter().any(|b| *b != 0))
        .map(|(i, _)| (i + 1) * 4096)
        .take_while(|e| *e < start + (8 << 20))
        .last()
        .unwrap();
    seeds.push(
        Seed::new("peforge-usb", bytes)
            .fields(
                [(446 + 8, 4, false), (446 + 12, 4, false)]
                    .into_iter()
                    .chain(fat_fields(start))
                    .collect(),
            )
            .hot(vec![0..512, start..start + 4096, start..meta_end]),
    );
    fuzz_file("usb", &seeds, 200, exercise_usb);
}

// ---------------------------------------------------------------------------------------------
// Regressions: one test per panic the harness found, named after it.

/// A FAT32 image whose BPB field at `offset` is replaced by `val`.
fn fat32_with(d: &common::Dir, offset: usize, val: u32) -> PathBuf {
    let img = d.join("fat32.img");
    if !img.exists() {
        d.tool(
            "mkfs.fat",
            &[
                "-C",
                "-F",
                "32",
                "-n",
                "ROBUST",
                img.to_str().unwrap(),
                "40000",
            ],
        )
        .ok();
    }
    let mut b = std::fs::read(&img).unwrap();
    b[offset..offset + 4].copy_from_slice(&val.to_le_bytes());
    let out = d.join(&format!("bad-{offset}-{val}.img"));
    std::fs::write(&out, b).unwrap();
    out
}

fn assert_malformed_at(p: &Path, offset: u64) {
    let before = common::sha256(p);
    match UsbReader::open(p) {
        Err(peforge::media::ContainerError::Malformed {
            path, offset: o, ..
        }) => {
            assert_eq!(path, p);
            assert_eq!(o, offset);
        }
        other => panic!(
            "{}: expected Malformed at {offset}, got {other:?}",
            p.display()
        ),
    }
    assert_eq!(common::sha256(p), before, "the reader changed its input");
}

#[test]
fn r_fat_bpb_fat_size_overflow() {
    // BPB_FATSz32 = 0x80000000: fatfs computed FATs × size in u32 and overflowed (panic at
    // fatfs boot_sector.rs:311 in debug builds).
    let d = common::Dir::new();
    for val in [0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF] {
        assert_malformed_at(&fat32_with(&d, 36, val), 36);
    }
    // Sanity: the unpatched image opens and mtools agrees it is valid.
    let ok = d.join("fat32.img");
    UsbReader::open(&ok).unwrap();
    d.tool("mdir", &["-i", ok.to_str().unwrap(), "::/"]).ok();
}

#[test]
fn r_fat_bpb_root_cluster_outside_data_area() {
    // BPB_RootClus = 0, 1 or past the last cluster: fatfs subtracted 2 / multiplied without
    // checks (panic at fatfs fs.rs:448 in debug builds).
    let d = common::Dir::new();
    for val in [0, 1, 0xFFFF_FFFE, 0xFFFF_FFFF] {
        assert_malformed_at(&fat32_with(&d, 44, val), 44);
    }
}

// ---------------------------------------------------------------------------------------------
// Target: the media PFX (`media::pfx::open`, read from a template's `_SMSTSMediaPFX` or --pfx)

const PFX_PASSWORD: &str = "Pfx!Pass1";

fn openssl_pfx(d: &common::Dir, name: &str, extra: &[&str]) -> Vec<u8> {
    if !d.join("k.pem").exists() {
        d.tool(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-days",
                "365",
                "-subj",
                "/CN=Robust media",
            ],
        )
        .ok();
    }
    let pass = format!("pass:{PFX_PASSWORD}");
    let mut args = vec![
        "pkcs12", "-export", "-inkey", "k.pem", "-in", "c.pem", "-out", name, "-passout", &pass,
    ];
    args.extend_from_slice(extra);
    d.tool("openssl", &args).ok();
    std::fs::read(d.join(name)).unwrap()
}

#[test]
fn media_pfx_never_panics_and_round_trips() {
    use peforge::media::pfx;
    let d = common::Dir::new();
    let mut seeds = vec![
        Seed::new("openssl-default.pfx", openssl_pfx(&d, "a.pfx", &[])),
        Seed::new(
            "openssl-3des.pfx",
            openssl_pfx(
                &d,
                "b.pfx",
                &[
                    "-certpbe",
                    "PBE-SHA1-3DES",
                    "-keypbe",
                    "PBE-SHA1-3DES",
                    "-macalg",
                    "sha1",
                ],
            ),
        ),
    ];
    // Round trip: open → write (peforge's writer) → open, same certificate; openssl reads ours.
    let c = pfx::open(&seeds[0].bytes, PFX_PASSWORD, "a.pfx").unwrap();
    let ours = c
        .write(PFX_PASSWORD, &pfx::SaltSource::Derived([7; 32]))
        .unwrap();
    let back = pfx::open(&ours, PFX_PASSWORD, "ours.pfx").unwrap();
    let (a, b) = (c.cert_info().unwrap(), back.cert_info().unwrap());
    assert_eq!((a.thumbprint, a.subject), (b.thumbprint.clone(), b.subject));
    std::fs::write(d.join("ours.pfx"), &ours).unwrap();
    let info = d
        .tool(
            "openssl",
            &[
                "pkcs12",
                "-in",
                "ours.pfx",
                "-passin",
                &format!("pass:{PFX_PASSWORD}"),
                "-nokeys",
                "-clcerts",
            ],
        )
        .ok();
    assert!(info.stdout.contains("CN=Robust media") || info.stdout.contains("CN = Robust media"));
    seeds.push(Seed::new("peforge.pfx", ours));
    fuzz_bytes("pfx", &seeds, 120, |b| {
        if let Ok(c) = pfx::open(b, PFX_PASSWORD, "media.pfx") {
            let _ = c.cert_info();
        }
    });
}

#[test]
fn r_client_property_value_ending_in_exe_is_kept() {
    // A property whose value ends in .exe/.msi was taken for the program name and dropped.
    for line in [
        "ccmsetup.exe CCMHOSTNAME=mp.contoso.exe SMSSITECODE=ABC",
        "CCMHOSTNAME=mp.contoso.msi SMSSITECODE=ABC",
        "ccmsetup.exe /source:C:\\client\\ccmsetup.exe CCMHOSTNAME=mp.contoso.com SMSSITECODE=ABC",
    ] {
        let c = CommandLine::parse(line).unwrap();
        assert!(c.property("CCMHOSTNAME").is_some(), "{line}: {c:?}");
        client_round_trip(line).unwrap();
    }
}

#[test]
fn r_client_nested_ccmsetupcmd_is_refused() {
    // Found by fuzz/client: a CCMSETUPCMD inside the wrapped line was kept as a property, then
    // emitted as `CCMSETUPCMD=...`, which the parser reads as the wrapper (the emitted line did
    // not parse back).
    let line = "CCMSETUPCMD=\"CCMHOSTNAME=mp.contoso.com SMSSITECODE=ABC CCMSETUPCMD=x\"";
    let e = CommandLine::parse(line).unwrap_err();
    assert!(
        matches!(&e, peforge::client::Error::BadPropertyName { name } if name == "CCMSETUPCMD"),
        "{e:?}"
    );
    assert!(e.hint().unwrap().contains("wrapper"));
    // Set through the API (`--property CCMSETUPCMD=...`): validate refuses it.
    let mut c = CommandLine::parse("CCMHOSTNAME=mp.contoso.com SMSSITECODE=ABC").unwrap();
    c.set_property("CCMSETUPCMD", "x");
    assert!(matches!(
        c.validate(),
        Err(peforge::client::Error::BadPropertyName { .. })
    ));
    // The fuzzer's input itself is now an error, not a line the emitters break.
    let found = "ccmsetup.exe /mp:https:/i ccmsetup.msi /qn CCMSETUPCMD=\"CCMHOSTNAME=mp.contoso.up.msi /qn CCMSETUPCMD=\"CCMHOSTNAt/CCM_Proxy_MutualAuth/1 SMSSITECODE=ABC FSP=\"fsp 1\"";
    assert!(client_round_trip(found).is_ok());
    assert!(CommandLine::parse(found).is_err());
}

// ---------------------------------------------------------------------------------------------
// Targets: task sequences (XML import in its three text forms, TOML authoring)

fn ts_vectors() -> Vec<PathBuf> {
    vector_files("ts-xml", "xml")
}

/// Parses an XML task sequence, lints it, and writes it again (all must not panic).
fn exercise_ts_xml(b: &[u8]) {
    use peforge::ts::{lint, source};
    if let Ok(l) = source::load_xml_bytes(b, Path::new("fuzz.xml")) {
        let _ = lint::lint(&l.sequence, &l.package, None, "fuzz.xml");
        let _ = source::parse_sequence_str(&l.sequence.to_xml(), Path::new("rewritten.xml"));
    }
}

#[test]
fn ts_xml_never_panics_and_round_trips() {
    use peforge::ts::source;
    let all = ts_vectors();
    // Round trip on every vector: XML → model → XML → model → the same XML (the writer puts
    // attributes in ConfigMgr's order, so the first model may differ in attribute order only;
    // tests/ts_roundtrip.rs compares the meaning with Python's xml.etree).
    for p in &all {
        let l = source::load_xml_bytes(&std::fs::read(p).unwrap(), p).unwrap();
        let back = source::parse_sequence_str(&l.sequence.to_xml(), Path::new("rewritten.xml"))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            back.to_xml() == l.sequence.to_xml(),
            "{}: rewrite differs",
            p.display()
        );
        assert!(l.sequence.steps().count() > 0, "{}", p.display());
    }
    // Mutations on the smaller vectors plus an inline raw sequence (a few KB each keeps the
    // debug-build parse fast).
    let mut seeds: Vec<Seed> = all
        .iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() <= 17 << 10)
        .map(|p| file_seed(p))
        .collect();
    seeds.push(Seed::new(
        "inline-raw",
        br#"<sequence version="3.10"><referenceList><reference package="ABC00001" program="*"/></referenceList><globalVarList><variable name="A" property="" hidden="true">x&amp;y</variable></globalVarList><group name="G" continueOnError="true"><condition><expression type="SMS_TaskSequence_VariableConditionExpression"><variable name="Operator">equals</variable><variable name="Variable">_SMSTSInWinPE</variable><variable name="Value">true</variable></expression></condition><step type="SMS_TaskSequence_RebootAction" name="Restart" description=""><defaultVarList><variable name="SMSRebootTarget" property="Target">WinPE</variable></defaultVarList><action>smsboot.exe /target:WinPE</action></step></group></sequence>"#.to_vec(),
    ));
    fuzz_bytes("ts-xml", &seeds, 25, exercise_ts_xml);
}

#[test]
fn ts_toml_never_panics_and_round_trips() {
    use peforge::ts::{author, source};
    let mut seeds = Vec::new();
    for p in ts_vectors().iter().step_by(5) {
        let l = source::load_xml_bytes(&std::fs::read(p).unwrap(), p).unwrap();
        let toml = author::to_toml(&author::from_model(&l.sequence, &l.package)).unwrap();
        // TOML (written by `ts import`) → model: the same sequence (as XML).
        let (seq, _) = author::build(&toml, Path::new("import.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            seq.to_xml() == l.sequence.to_xml(),
            "{}: TOML round trip differs",
            p.display()
        );
        if toml.len() <= 24 << 10 {
            seeds.push(Seed::new(
                format!("{}.toml", p.file_stem().unwrap().to_string_lossy()),
                toml.into_bytes(),
            ));
        }
    }
    assert!(!seeds.is_empty());
    fuzz_bytes("ts-toml", &seeds, 40, |b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return;
        };
        if let Ok((seq, pkg)) = author::build(text, Path::new("fuzz.toml")) {
            let _ = peforge::ts::lint::lint(&seq, &pkg, None, "fuzz.toml");
            let _ = author::to_toml(&author::from_model(&seq, &pkg));
            let _ = seq.to_xml();
        }
    });
}

#[test]
fn r_fat_dir_entry_cluster_overflow() {
    // BPB_NumFATs 2 → 1 on a peforge USB image: the data area moves onto the second FAT, whose
    // entries are then read as directory entries with 32-bit cluster numbers; fatfs multiplied
    // them unchecked (panic at fatfs table.rs:330 in debug builds).
    let d = common::Dir::new();
    let img = d.join("usb.img");
    let s = peforge::media::usb::write(&small_tree(), &img, &Silent).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.write_all_at(&[1], s.partition_offset + 16).unwrap();
    let before = common::sha256(&img);
    let msg = guarded(|| exercise_usb(&img));
    assert!(msg.is_none(), "{msg:?}");
    assert_eq!(common::sha256(&img), before, "the reader changed its input");
}

#[test]
fn r_vars_header_field_20_is_kept_on_rewrite() {
    // Found by fuzz/vars_file: the header field at offset 20 (0 per boot-media.md §6.1, meaning
    // unknown) was not read, so a file with another value was rewritten with 0, changed silently.
    // Like the trailer, it is now kept from the template.
    let plain = utf16z(VARS_XML);
    let mut f = vars::encrypt(&plain, PASSWORD, Cipher::Aes128, &[0; 4]).unwrap();
    f[20] = 3;
    let v = vars::open(&f, PASSWORD, "Variables.dat").unwrap();
    assert_eq!(v.header.reserved, 3);
    let again = v.encrypt(PASSWORD).unwrap();
    assert_eq!(
        again[20..24],
        f[20..24],
        "the field must be written back as read"
    );
    let back = vars::open(&again, PASSWORD, "Variables.dat").unwrap();
    assert_eq!(back.header.reserved, 3);
    assert_eq!(back.list.to_plaintext(), v.list.to_plaintext());
}

#[test]
fn r_reg_roundtrip_value_name_newline() {
    // Found by fuzz/reg (../shared/vectors/fuzz-findings/): a quoted value name with Wine's `\n`
    // escape was read as a name holding a line feed, which the writer (regedit's escapes: `\\`
    // and `\"` only) wrote raw, so the rewrite read back as another name and a broken line.
    // Regedit has no form for such a name; the reader now refuses it with the line number.
    let p = common::vectors().join("fuzz-findings/reg-roundtrip-value-name-newline.reg");
    let bytes = std::fs::read(&p).unwrap();
    let e = reg::parse(&bytes, &p).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, reg::Error::Syntax { line: 6, .. }),
        "refused at the line of the name: {msg}"
    );
    assert!(msg.contains("contains a line feed"), "{msg}");
    assert!(e.hint().is_some());
    // The same name with a carriage return or NUL escape, or a raw CR, is refused too; escapes
    // regedit knows still work in names.
    for (name, ok) in [
        ("a\\nb", false),
        ("a\\rb", false),
        ("a\\0b", false),
        ("a\rb", false),
        ("a\\\\nb\\\"c", true),
    ] {
        let text = format!(
            "Windows Registry Editor Version 5.00\r\n\r\n[HKLM\\K]\r\n\"{name}\"=dword:1\r\n"
        );
        let r = reg::parse(text.as_bytes(), Path::new("n.reg"));
        assert_eq!(r.is_ok(), ok, "{name:?}: {r:?}");
        if let Ok(f) = r {
            let back = reg::parse(&reg::write(&f), Path::new("w.reg")).unwrap();
            assert_eq!(reg_model(&back), reg_model(&f));
            assert_eq!(f.keys[0].values[0].name(), "a\\nb\"c");
        }
    }
    // Through the CLI: one error line naming the file and line, exit 2, the hive untouched.
    let d = common::Dir::new();
    let hive = d.join("SOFTWARE");
    peforge::sample::build_hive(&hive, &[("Microsoft", vec![])]).unwrap();
    let before = std::fs::read(&hive).unwrap();
    let run = d
        .peforge(&[
            "cert",
            "inject",
            "--hive-file",
            hive.to_str().unwrap(),
            "--cert",
            p.to_str().unwrap(),
        ])
        .fails(2);
    assert!(
        run.stderr
            .contains("reg-roundtrip-value-name-newline.reg:6:"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&hive).unwrap(), before);
    assert_eq!(common::dir_listing(d.path()), vec!["SOFTWARE".to_string()]);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs through the CLI. Per parser family, BAD_PER_FAMILY distinct inputs (mutations of
// the family's seeds that the library parser refuses) each go through the peforge binary, which
// must exit 2 with one `error:` line naming the input, no panic, and leave every file in its
// work directory as it was (no output, no temporary file, input untouched). The README's
// Security section gives these counts.

/// Distinct refused inputs tried per parser family.
const BAD_PER_FAMILY: usize = 40;

/// `BAD_PER_FAMILY` distinct mutations of `seeds` that `refused` says the parser refuses, picked
/// deterministically (round robin over the seeds, random mutations of the harness's kinds).
fn bad_inputs(label: &str, seeds: &[Seed], refused: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(label);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for i in 0..40_000 {
        if out.len() == BAD_PER_FAMILY {
            break;
        }
        let seed = &seeds[i % seeds.len()];
        let mut b = seed.bytes.clone();
        // One to three mutations, so inputs differ in more than one place now and then.
        for _ in 0..1 + rng.below(3) {
            random_mutation(seed, &mut rng, false).apply(&mut b);
        }
        if seen.contains(&b) {
            continue;
        }
        let bad = guarded(|| assert!(refused(&b))).is_none();
        seen.insert(b.clone());
        if bad {
            out.push(b);
        }
    }
    assert_eq!(
        out.len(),
        BAD_PER_FAMILY,
        "{label}: too few refused mutations found"
    );
    out
}

/// Every file under `dir` (relative path, contents), to compare before and after a command.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), Vec::new()));
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// Writes each input to `input` (relative to a work directory prepared by `setup`) and runs
/// `args`; asserts exit 2, one error line that contains `named`, no panic, nothing changed.
fn cli_refuses_all(
    family: &str,
    inputs: &[Vec<u8>],
    input: &str,
    named: &str,
    setup: impl Fn(&common::Dir),
    args: &[&str],
) {
    let d = common::Dir::new();
    setup(&d);
    let path = d.join(input);
    cli_refuses_each(
        family,
        inputs,
        &[named],
        &d,
        |b| std::fs::write(&path, b).unwrap(),
        args,
    );
}

/// The loop of [`cli_refuses_all`] with the input placed by `put` (into `d`, before each run):
/// exit 2, exactly one `error:` line naming every one of `named`, no file of `d` changed.
fn cli_refuses_each(
    family: &str,
    inputs: &[Vec<u8>],
    named: &[&str],
    d: &common::Dir,
    put: impl Fn(&[u8]),
    args: &[&str],
) {
    for (i, b) in inputs.iter().enumerate() {
        put(b);
        let before = snapshot(d.path());
        let r = d.peforge(args).fails(2);
        let errors: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{family} input {i}: {}", r.stderr);
        let line = errors[0];
        for n in named {
            assert!(
                line.contains(n),
                "{family} input {i}: the error does not name {n}: {line}"
            );
        }
        assert!(
            snapshot(d.path()) == before,
            "{family} input {i}: files changed after a refused input ({line})"
        );
    }
    eprintln!(
        "{family}: {} distinct bad inputs refused by `peforge {}`",
        inputs.len(),
        args.join(" ")
    );
}

#[test]
fn cli_refuses_bad_reg_files() {
    let inputs = bad_inputs("cli-reg", &reg_seeds(), |b| {
        reg::parse(b, Path::new("in.reg")).is_err()
    });
    cli_refuses_all(
        "reg",
        &inputs,
        "in.reg",
        "in.reg",
        |_| {},
        &["cert", "reg", "--cert", "in.reg", "--output", "out.reg"],
    );
}

#[test]
fn cli_refuses_bad_blobs() {
    // A Blob goes in through the .reg of a certificate key, as a regedit export carries it.
    let thumb = "4EF2E6670AC9B5091FE06BE0E5483EAAD6BA32D9";
    let wrap = |b: &[u8]| {
        cert::reg_export(
            "HKEY_LOCAL_MACHINE\\SOFTWARE",
            &[(Store::Root, thumb.to_string(), b.to_vec())],
        )
    };
    let blobs = bad_inputs("cli-blob", &blob_seeds(), |b| {
        cert::load::load_bytes(&wrap(b), Path::new("in.reg"), RegRoots::Any).is_err()
    });
    let inputs: Vec<Vec<u8>> = blobs.iter().map(|b| wrap(b)).collect();
    cli_refuses_all(
        "blob",
        &inputs,
        "in.reg",
        "in.reg",
        |_| {},
        &["cert", "reg", "--cert", "in.reg", "--output", "out.reg"],
    );
}

#[test]
fn cli_refuses_bad_certificates() {
    let seeds: Vec<Seed> = cert_seeds()
        .into_iter()
        .filter(|(_, name)| *name != "c.reg")
        .map(|(s, _)| s)
        .collect();
    let inputs = bad_inputs("cli-cert", &seeds, |b| {
        cert::load::load_bytes(b, Path::new("in.cer"), RegRoots::Any).is_err()
    });
    cli_refuses_all(
        "cert_load",
        &inputs,
        "in.cer",
        "in.cer",
        |_| {},
        &["cert", "reg", "--cert", "in.cer", "--output", "out.reg"],
    );
}

#[test]
fn cli_refuses_bad_hive_base_blocks() {
    let d = common::Dir::new();
    let hive = d.join("h");
    peforge::sample::build_hive(&hive, &[("Microsoft", vec![])]).unwrap();
    let bytes = std::fs::read(&hive).unwrap();
    let seed = Seed::new("hive", bytes.clone()).hot(vec![0..512]);
    let inputs = bad_inputs("cli-hive", &[seed], |b| {
        b.len() < 512 || BaseBlock::parse(&b[..512]).is_none()
    });
    cli_refuses_all(
        "hive_base_block",
        &inputs,
        "SOFTWARE",
        "SOFTWARE",
        |_| {},
        &["cert", "list", "--hive-file", "SOFTWARE"],
    );
}

#[test]
fn cli_refuses_bad_client_lines() {
    let inputs = bad_inputs("cli-client", &client_seeds(), |b| {
        let Ok(line) = std::str::from_utf8(b) else {
            return false;
        };
        !line.contains('\0')
            && CommandLine::parse(line)
                .and_then(|mut c| c.validate())
                .is_err()
    });
    let d = common::Dir::new();
    for (i, b) in inputs.iter().enumerate() {
        let line = std::str::from_utf8(b).unwrap();
        let r = d.peforge(&["client", "cmdline", "--from", line]).fails(2);
        assert!(r.stdout.is_empty(), "client input {i}: {}", r.stdout);
    }
    assert!(common::dir_listing(d.path()).is_empty());
    eprintln!(
        "client: {} distinct bad lines refused by `peforge client cmdline --from`",
        inputs.len()
    );
}

/// A folder medium `medium/` with a valid TsmBootstrap.ini and Variables.dat (password
/// `PASSWORD`, in `media.pass`), for the media families.
fn folder_medium(d: &common::Dir) {
    let data = d.join("medium/SMS/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("TsmBootstrap.ini"),
        TsmBootstrapIni::default().to_bytes(),
    )
    .unwrap();
    let dat = vars::encrypt(&utf16z(VARS_XML), PASSWORD, Cipher::Aes128, &[0; 4]).unwrap();
    std::fs::write(data.join("Variables.dat"), dat).unwrap();
    let pw = d.join("media.pass");
    std::fs::write(&pw, PASSWORD).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const INSPECT_FOLDER: &[&str] = &[
    "media",
    "inspect",
    "medium",
    "--password-file",
    "media.pass",
];

#[test]
fn cli_refuses_bad_tsm_bootstrap_ini() {
    let inputs = bad_inputs("cli-ini", &ini_seeds(), |b| {
        TsmBootstrapIni::parse(b, "TsmBootstrap.ini").is_err()
    });
    cli_refuses_all(
        "ini",
        &inputs,
        "medium/SMS/data/TsmBootstrap.ini",
        "TsmBootstrap.ini",
        folder_medium,
        INSPECT_FOLDER,
    );
}

#[test]
fn cli_refuses_bad_variables_dat() {
    let inputs = bad_inputs("cli-vars-file", &vars_file_seeds(), |b| {
        vars::open(b, PASSWORD, "Variables.dat").is_err()
    });
    cli_refuses_all(
        "vars_file",
        &inputs,
        "medium/SMS/data/Variables.dat",
        "Variables.dat",
        folder_medium,
        INSPECT_FOLDER,
    );
}

#[test]
fn cli_refuses_bad_media_variable_lists() {
    // Bad plaintext, correctly encrypted: the list parser is what refuses it.
    let enc = |b: &[u8]| vars::encrypt(b, PASSWORD, Cipher::Aes128, &[0; 4]).unwrap();
    let lists = bad_inputs("cli-vars-list", &var_list_seeds(), |b| {
        vars::open(&enc(b), PASSWORD, "Variables.dat").is_err()
    });
    let inputs: Vec<Vec<u8>> = lists.iter().map(|b| enc(b)).collect();
    cli_refuses_all(
        "vars_list",
        &inputs,
        "medium/SMS/data/Variables.dat",
        "Variables.dat",
        folder_medium,
        INSPECT_FOLDER,
    );
}

#[test]
fn cli_refuses_bad_media_pfx() {
    use peforge::media::pfx;
    let d = common::Dir::new();
    let seeds = vec![
        Seed::new("openssl-default.pfx", openssl_pfx(&d, "a.pfx", &[])),
        Seed::new(
            "openssl-3des.pfx",
            openssl_pfx(
                &d,
                "b.pfx",
                &["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES"],
            ),
        ),
    ];
    let inputs = bad_inputs("cli-pfx", &seeds, |b| {
        pfx::open(b, PFX_PASSWORD, "media.pfx").is_err()
    });
    // The PFX is opened before the boot image is read, so an empty boot.wim does.
    let setup = |d: &common::Dir| {
        std::fs::write(d.join("boot.wim"), b"").unwrap();
        std::fs::copy(
            vector_files("cert-reg", "pem").remove(0),
            d.join("root.pem"),
        )
        .unwrap();
        for (f, s) in [("pfx.pass", PFX_PASSWORD), ("media.pass", PASSWORD)] {
            std::fs::write(d.join(f), s).unwrap();
        }
    };
    let mp = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
    cli_refuses_all(
        "pfx",
        &inputs,
        "media.pfx",
        "media.pfx",
        setup,
        &common::media_build_args(mp, "dir", "out"),
    );
}

#[test]
fn cli_refuses_bad_iso_and_usb_media() {
    let d = common::Dir::new();
    let iso = d.join("m.iso");
    peforge::media::iso::write(&small_tree(), &iso, &Silent).unwrap();
    // A small MBR disk with a FAT16 partition by mkfs.fat (the library's own USB image is 48 MiB,
    // too slow to rewrite per input); mutations land in the MBR and the boot sector.
    let usb = with_mbr(&mkfs_fat(&d, "f16.img", "16", 4096));
    for (family, file, seed) in [
        (
            "iso",
            "in.iso",
            iso_seed("peforge.iso", std::fs::read(&iso).unwrap()),
        ),
        (
            "usb",
            "in.img",
            Seed::new("mbr-mkfs-fat16", usb).hot(vec![0..512, 63 * 512..64 * 512]),
        ),
    ] {
        let probe = d.join(file);
        let inputs = bad_inputs(&format!("cli-{family}"), &[seed], |b| {
            std::fs::write(&probe, b).unwrap();
            let plan = peforge::media::plan::InspectPlan {
                medium: probe.clone(),
                password: None,
                show_secrets: false,
                now_unix: 0,
            };
            peforge::media::inspect(&plan).is_err()
        });
        cli_refuses_all(
            family,
            &inputs,
            file,
            file,
            |_| {},
            &["media", "inspect", file],
        );
    }
}

#[test]
fn cli_refuses_bad_task_sequences() {
    use peforge::ts::{author, source};
    let mut xml = Vec::new();
    let mut toml = Vec::new();
    for p in ts_vectors().iter().step_by(5).take(4) {
        let bytes = std::fs::read(p).unwrap();
        let l = source::load_xml_bytes(&bytes, p).unwrap();
        let t = author::to_toml(&author::from_model(&l.sequence, &l.package)).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        toml.push(Seed::new(format!("{name}.toml"), t.into_bytes()));
        xml.push(Seed::new(name, bytes));
    }
    let inputs = bad_inputs("cli-ts-xml", &xml, |b| {
        source::load_xml_bytes(b, Path::new("in.xml")).is_err()
    });
    cli_refuses_all(
        "ts_xml",
        &inputs,
        "in.xml",
        "in.xml",
        |_| {},
        &["ts", "import", "in.xml", "-o", "out.toml"],
    );
    let inputs = bad_inputs("cli-ts-toml", &toml, |b| {
        std::str::from_utf8(b).is_ok_and(|t| author::build(t, Path::new("in.toml")).is_err())
    });
    cli_refuses_all(
        "ts_toml",
        &inputs,
        "in.toml",
        "in.toml",
        |_| {},
        &["ts", "build", "in.toml", "-o", "out.xml"],
    );
}

/// ADE profiles: TOML (every `init` preset, as written by peforge) and JSON (the Graph POST body
/// and the Apple profile of the vectors) mutated; parse, import and lint must not panic, and a
/// TOML profile's Graph body must import back to the same body (as the `ade_profile` fuzz target).
fn exercise_ade(b: &[u8]) {
    use peforge::ade::{self, apple, build, lint, profile};
    let Ok(text) = std::str::from_utf8(b) else {
        return;
    };
    let path = Path::new("fuzz");
    let run_lint = |form, p: &profile::Profile, graph| {
        let certs = build::inline_certs(p);
        let input = lint::Input {
            source: "fuzz",
            text,
            form,
            profile: p,
            certs: &certs,
            graph,
        };
        let _ = lint::lint(&input, &lint::Context::default());
    };
    if let Ok(p) = profile::Profile::parse(text, path) {
        run_lint(lint::Form::Toml, &p, None);
        let certs = build::inline_certs(&p);
        if let Ok(body) = build::to_graph(&p, &certs) {
            let back = build::from_graph(&body, path).expect("peforge's own body must import");
            assert_eq!(
                build::to_graph(&back, &build::inline_certs(&back)).unwrap(),
                body
            );
        }
        let _ = apple::to_apple(&p, &certs);
        let t = profile::to_toml(&p);
        let again = profile::Profile::parse(&t, path).expect("rendered TOML must read back");
        assert_eq!(profile::to_toml(&again), t);
    }
    if let Ok(serde_json::Value::Object(m)) = ade::parse_json(text, path) {
        match build::detect(&serde_json::Value::Object(m.clone()), path) {
            Ok(build::JsonForm::Apple) => {
                if let Ok(p) = apple::from_apple(&m, path) {
                    run_lint(lint::Form::Apple, &p, None);
                }
            }
            Ok(build::JsonForm::Graph | build::JsonForm::GraphOld) => {
                if let Ok(p) = build::from_graph(&m, path) {
                    run_lint(lint::Form::Graph, &p, Some(&m));
                    profile::Profile::parse(&profile::to_toml(&p), path)
                        .expect("imported TOML must read back");
                }
            }
            _ => {}
        }
    }
}

#[test]
fn ade_profiles_never_panic_and_round_trip() {
    use peforge::ade::profile::{Preset, Profile, to_toml};
    let mut seeds: Vec<Seed> = Preset::ALL
        .iter()
        .map(|(p, name)| {
            Seed::new(
                format!("{name}.toml"),
                to_toml(&Profile::preset(*p)).into_bytes(),
            )
        })
        .collect();
    let dir = common::vectors().join("ade");
    for f in [
        "graph-depiosenrollmentprofile.packt-cookbook.post.json",
        "apple-profile.nanodep-example.json",
    ] {
        seeds.push(file_seed(&dir.join(f)));
    }
    // Unknown keys that need quoting (the class of r_ade_graph_key_with_line_break_reads_back).
    seeds.push(Seed::new(
        "graph-odd-keys.json",
        serde_json::json!({
            "@odata.type": "#microsoft.graph.depIOSEnrollmentProfile",
            "displayName": "p",
            "a\nb": true,
            "q\"u\\o\tte": 1,
            "x.y = [z]": "v",
        })
        .to_string()
        .into_bytes(),
    ));
    fuzz_bytes("ade_profile", &seeds, 60, exercise_ade);
}

#[test]
fn cli_refuses_bad_ade_profiles() {
    use peforge::ade::profile::{Preset, Profile, to_toml};
    let toml: Vec<Seed> = Preset::ALL
        .iter()
        .map(|(p, name)| {
            Seed::new(
                format!("{name}.toml"),
                to_toml(&Profile::preset(*p)).into_bytes(),
            )
        })
        .collect();
    let dir = common::vectors().join("ade");
    let json: Vec<Seed> = [
        "graph-depiosenrollmentprofile.packt-cookbook.post.json",
        "apple-profile.nanodep-example.json",
    ]
    .iter()
    .map(|f| file_seed(&dir.join(f)))
    .collect();
    let d = common::Dir::new();
    for (family, file, seeds) in [("ade_toml", "in.toml", toml), ("ade_json", "in.json", json)] {
        let probe = d.join(file);
        let inputs = bad_inputs(&format!("cli-{family}"), &seeds, |b| {
            std::fs::write(&probe, b).unwrap();
            peforge::ade::load(&probe).is_err()
        });
        cli_refuses_all(
            family,
            &inputs,
            file,
            file,
            |_| {},
            &["ade", "profile", "build", file, "--output", "out.json"],
        );
    }
}

#[test]
fn cli_refuses_bad_driver_infs() {
    use peforge::driver::inf::Inf;
    let inputs = bad_inputs("cli-inf", &inf_seeds(), |b| Inf::parse(b).is_err());
    cli_refuses_all(
        "inf",
        &inputs,
        "in.inf",
        "in.inf",
        |_| {},
        &["driver", "inspect", "in.inf"],
    );
}

/// One start-up file family: name, path in the image, seeds, which inputs the library refuses.
type StartupFamily<'a> = (&'a str, &'a str, &'a [Seed], &'a dyn Fn(&[u8]) -> bool);

/// The start-up files `wim customize --start-script` edits inside the image: each bad
/// `winpeshl.ini` / `startnet.cmd` is put into a fresh copy of a plain WinPE sample with
/// wimlib-imagex (not peforge); the customization must stop with one error line naming the file
/// in the image and leave the WIM byte-identical.
#[test]
fn cli_refuses_bad_startup_files() {
    use peforge::driver::startup::{Startnet, Winpeshl};
    let seeds = startup_seeds();
    let (ini_seeds, cmd_seeds): (Vec<Seed>, Vec<Seed>) = seeds
        .into_iter()
        .partition(|s| !s.name.starts_with("startnet"));
    let d = common::Dir::new();
    let pristine = std::fs::read(d.sample_wim("pristine.wim", false)).unwrap();
    std::fs::remove_file(d.join("pristine.wim")).unwrap();
    std::fs::write(d.join("hook.cmd"), b"echo peforge hook\r\n").unwrap();
    let winpeshl = |b: &[u8]| Winpeshl::parse(b).is_err();
    let startnet = |b: &[u8]| Startnet::parse(b).and_then(|mut s| s.add_hook()).is_err();
    let families: [StartupFamily; 2] = [
        (
            "winpeshl.ini",
            "/Windows/System32/winpeshl.ini",
            &ini_seeds,
            &winpeshl,
        ),
        (
            "startnet.cmd",
            "/Windows/System32/startnet.cmd",
            &cmd_seeds,
            &startnet,
        ),
    ];
    for (family, inner, seeds, refused) in families {
        let inputs = bad_inputs(&format!("cli-{family}"), seeds, refused);
        let wim = d.join("boot.wim");
        let put = |b: &[u8]| {
            std::fs::write(&wim, &pristine).unwrap();
            let file = d.join("file.in");
            std::fs::write(&file, b).unwrap();
            let cmd = format!("add '{}' '{inner}'", file.display());
            d.tool(
                "wimlib-imagex",
                &["update", wim.to_str().unwrap(), "1", "--command", &cmd],
            )
            .ok();
            std::fs::remove_file(&file).unwrap();
        };
        cli_refuses_each(
            family,
            &inputs,
            &[family, "boot.wim"],
            &d,
            put,
            &[
                "wim",
                "customize",
                "--wim",
                "boot.wim",
                "--start-script",
                "hook.cmd",
            ],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Target: transaction-log replay (registry::log::replay), issue #10

/// One input = `[u32 LE primary length][primary][u32 LE LOG1 length][LOG1][LOG2 = the rest]`,
/// the framing the `hive_log` fuzz target reads too.
fn hive_log_frame(primary: &[u8], log1: &[u8], log2: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(primary.len() as u32).to_le_bytes());
    b.extend_from_slice(primary);
    b.extend_from_slice(&(log1.len() as u32).to_le_bytes());
    b.extend_from_slice(log1);
    b.extend_from_slice(log2);
    b
}

fn hive_log_unframe(b: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let take = |b: &'_ [u8]| -> (usize, usize) {
        let n = b
            .get(..4)
            .map_or(0, |x| u32::from_le_bytes(x.try_into().unwrap()) as usize);
        (4.min(b.len()), n)
    };
    let (h, n) = take(b);
    let rest = &b[h..];
    let (primary, rest) = rest.split_at(n.min(rest.len()));
    let (h, n) = take(rest);
    let rest = &rest[h..];
    let (log1, log2) = rest.split_at(n.min(rest.len()));
    (primary, log1, log2)
}

#[test]
fn hive_log_replay_never_panics() {
    use peforge::registry::log::{LogFile, replay};
    let dir = common::vectors().join("hives-dirty");
    let mut seeds = Vec::new();
    for (folder, stem) in [
        ("NewDirtyHive1", "NewDirtyHive"),
        ("OldDirtyHive", "OldDirtyHive"),
        ("BadBaseBlockHive", "BadBaseBlockHive"),
    ] {
        let f = |ext: &str| std::fs::read(dir.join(folder).join(format!("{stem}{ext}"))).unwrap();
        let mut primary = f("");
        // Keep the hive bins only (the slack after them adds nothing but copying).
        let hbins = u32::from_le_bytes(primary[40..44].try_into().unwrap()) as usize;
        primary.truncate(4096 + hbins);
        let (l1, l2) = (f(".LOG1"), f(".LOG2"));
        let p0 = 4;
        let l1_0 = p0 + primary.len() + 4;
        let l2_0 = l1_0 + l1.len();
        let b = hive_log_frame(&primary, &l1, &l2);
        // Length fields: the frame, base block seq/hbins of hive and logs, the HvLE entry
        // headers (size, seq, hive bins, count) and the first page reference.
        let mut fields = vec![(0, 4, false), (p0 + primary.len(), 4, false)];
        for base in [p0, l1_0, l2_0] {
            fields.extend([
                (base + 4, 4, false),
                (base + 8, 4, false),
                (base + 40, 4, false),
            ]);
        }
        let mut hot = vec![
            p0..p0 + 512,
            l1_0..l1_0 + 1024,
            l2_0..(l2_0 + 1024).min(b.len()),
        ];
        for (base, log) in [(l1_0, &l1), (l2_0, &l2)] {
            let mut off = 512;
            while log.get(off..off + 4) == Some(b"HvLE") {
                let size = u32::from_le_bytes(log[off + 4..off + 8].try_into().unwrap()) as usize;
                for o in [4, 12, 16, 20, 40, 44] {
                    fields.push((base + off + o, 4, false));
                }
                hot.push(base + off..base + off + 64);
                off += size.max(512);
            }
        }
        seeds.push(
            Seed::new(format!("{folder}.frame"), b)
                .fields(fields)
                .hot(hot),
        );
    }
    fuzz_bytes("hive-log", &seeds, 300, |b| {
        let (primary, l1, l2) = hive_log_unframe(b);
        let logs = [("LOG1", l1), ("LOG2", l2)].map(|(label, bytes)| LogFile {
            label: label.into(),
            path: label.into(),
            bytes: bytes.to_vec(),
        });
        if let Ok(r) = replay(primary, &logs) {
            // Growth is bounded by what the inputs can fill.
            assert!(r.bytes.len() <= primary.len() + l1.len() + l2.len());
            let _ = r.report.summary();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Driver INF files and WinPE start-up files (src/driver)

fn inf_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = vector_files("inf", "inf")
        .iter()
        .map(|p| file_seed(p))
        .collect();
    seeds.extend(vector_files("inf", "inx").iter().map(|p| file_seed(p)));
    seeds.push(Seed::new(
        "continuation-at-eof",
        b"[Version]\r\nSignature=\"$Windows NT$\"\r\nA=1,\\".to_vec(),
    ));
    seeds
}

#[test]
fn inf_reader_never_panics() {
    use peforge::driver::{Package, inf::Inf};
    let seeds = inf_seeds();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.inf");
    // Package::read goes through a file: every 16th input, to keep the case to seconds.
    let n = Cell::new(0u32);
    fuzz_bytes("inf", &seeds, 40, |b| {
        if let Ok(inf) = Inf::parse(b) {
            let strings = inf.strings(Some("0419"));
            for s in &inf.sections {
                for l in &s.lines {
                    l.values.iter().for_each(|v| drop(strings.subst(v)));
                }
            }
        }
        n.set(n.get() + 1);
        if !n.get().is_multiple_of(16) {
            return;
        }
        std::fs::write(&path, b).unwrap();
        if let Ok(p) = Package::read(&path) {
            let _ = p.refusal("amd64", Default::default(), false);
        }
    });
}

fn startup_seeds() -> Vec<Seed> {
    [
        (
            "configmgr",
            &b"[LaunchApps]\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe\r\n"[..],
        ),
        (
            "2pxe",
            b"[LaunchApps]\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsProgressUI.exe,/register:winpe\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\iPXEWinPEClient.exe,/NetworkInit\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe\r\n",
        ),
        ("mdt", b"[LaunchApps]\n%SYSTEMROOT%\\System32\\bddrun.exe,/bootstrap\n"),
        ("winre", b"[LaunchApp]\r\nAppPath=X:\\sources\\recovery\\recenv.exe"),
        ("startnet", b"wpeinit\r\n"),
        (
            "startnet-osdcloud",
            b"@ECHO OFF\r\nwpeinit\r\ncd\\\r\ntitle OSD\r\nstart /wait PowerShell -NoL -C Start-OSDCloud\r\n",
        ),
    ]
    .iter()
    .map(|(n, b)| Seed::new(*n, b.to_vec()))
    .collect()
}

#[test]
fn startup_file_editing_never_panics_and_round_trips() {
    use peforge::driver::startup::{LAUNCH_LINE, STARTNET_LINE, Startnet, Winpeshl};
    fuzz_bytes("startup", &startup_seeds(), 300, |b| {
        if let Ok(mut w) = Winpeshl::parse(b) {
            let had = w.has_hook();
            let apps = w.apps();
            w.add_hook();
            let mut back = Winpeshl::parse(&w.to_bytes()).expect("edited winpeshl.ini unreadable");
            assert!(back.apps().iter().any(|a| a == LAUNCH_LINE));
            assert!(!back.add_hook());
            if !had {
                assert!(back.remove_hook());
                assert_eq!(back.apps(), apps);
            }
        }
        if let Ok(mut s) = Startnet::parse(b) {
            let had = s.has_hook();
            if let Ok(true) = s.add_hook() {
                let lines = s.lines();
                let at = lines.iter().position(|l| l == STARTNET_LINE).unwrap();
                assert!(lines.len() > at + 1);
                let mut back = Startnet::parse(&s.to_bytes()).unwrap();
                assert!(!back.add_hook().unwrap());
                if !had {
                    assert!(back.remove_hook());
                    assert_eq!(back.to_bytes(), b);
                }
            }
        }
    });
}

fn device_table_seeds() -> Vec<Seed> {
    vec![
        Seed::new(
            "mountinfo",
            b"22 27 0:21 / /proc rw,relatime - proc proc rw\n\
              27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
              36 35 8:17 / /media/my\\040stick rw,relatime shared:1 - vfat /dev/sdb1 rw,uid=1000\n\
              40 27 259:2 /sub /srv rw master:3 unbindable - btrfs /dev/nvme0n1p2 rw\n"
                .to_vec(),
        ),
        Seed::new(
            "swaps",
            b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2 partition\t8388604\t0\t-2\n/swap\\040file file 1024 0 -3\n"
                .to_vec(),
        ),
    ]
}

#[test]
fn device_mount_table_and_swap_readers_never_panic() {
    use peforge::device::sysfs::{parse_devnum, parse_mountinfo, parse_swaps};
    let seeds = device_table_seeds();
    assert_eq!(
        parse_mountinfo(&String::from_utf8_lossy(&seeds[0].bytes)).len(),
        4
    );
    assert_eq!(
        parse_swaps(&String::from_utf8_lossy(&seeds[1].bytes)).len(),
        2
    );
    fuzz_bytes("device_tables", &seeds, 400, |b| {
        let t = String::from_utf8_lossy(b);
        for m in parse_mountinfo(&t) {
            let again = format!("1 1 {}:{} / /x rw - ext4 /dev/x rw", m.devnum.0, m.devnum.1);
            assert_eq!(parse_mountinfo(&again)[0].devnum, m.devnum);
        }
        let _ = parse_swaps(&t);
        let _ = parse_devnum(&t);
    });
}

#[test]
fn r_ade_graph_key_with_line_break_reads_back() {
    // Found by fuzz/ade_profile: an unknown key of a Graph body holding a line feed (JSON
    // "s[oftware...\nTo provide...") was written to TOML as a multi-line string, which TOML
    // does not allow as a key, so the imported profile did not read back. Keys are now always
    // one-line basic strings.
    use peforge::ade::{build, profile};
    let path = Path::new("graph.json");
    for k in ["a\nb", "q\"u\\o\tte", "c\u{1}d", "x.y = [z]"] {
        let body = serde_json::json!({
            "@odata.type": "#microsoft.graph.depIOSEnrollmentProfile",
            "displayName": "p",
            k: true,
        });
        let serde_json::Value::Object(m) = body else {
            unreachable!()
        };
        let p = build::from_graph(&m, path).unwrap();
        let t = profile::to_toml(&p);
        let back = profile::Profile::parse(&t, Path::new("import.toml"))
            .unwrap_or_else(|e| panic!("{k:?}: {e}\n{t}"));
        assert_eq!(profile::to_toml(&back), t, "{k:?}");
        assert!(
            t.contains(&format!("{}", serde_json::Value::String(k.into()))) || k.contains('\u{1}'),
            "{k:?}: the key is kept\n{t}"
        );
    }
}
