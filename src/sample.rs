//! Synthetic WinPE-shaped boot images for the demo, the tests and the benchmark.
//!
//! The image has the shape peforge works on: real registry hives made with hivex
//! (`Windows\System32\config\SOFTWARE`, `SYSTEM`, `DEFAULT`), stand-in boot files at the paths of
//! `shared/specs/boot-media.md` §1, deterministic filler files (PE-like by default: machine-code
//! templates, strings, tables and some random resources, which LZX compresses about 3:1 as it
//! does real WinPE files; random and incompressible on request), and optionally the
//! ConfigMgr files of §10 (`sms\bin\x64\TsBootShell.exe`, `TsmBootstrap.exe`, `winpeshl.ini`).
//! Nothing here is a Microsoft binary: every stand-in says so in its content.

use std::path::Path;

use crate::registry::hive::{self, Hive, RawValue, types};
use crate::wim;

/// Errors while building a sample.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing the staging tree failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building a hive failed.
    #[error(transparent)]
    Hive(#[from] hive::Error),
    /// Capturing the WIM failed.
    #[error(transparent)]
    Wim(#[from] wim::Error),
}

/// What to put in the sample image.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Add the ConfigMgr boot image files (`sms\bin\x64\...`, `winpeshl.ini`).
    pub configmgr: bool,
    /// Bytes of filler files to add (spread over files of at most 8 MiB).
    pub filler_bytes: u64,
    /// Random filler that LZX cannot compress, instead of the default PE-like filler that
    /// compresses about as real boot images do (for tests that need large compressed sizes).
    pub incompressible: bool,
    /// A local directory copied over the image root last (e.g. bootable stand-in boot files).
    pub overlay: Option<std::path::PathBuf>,
    /// Image name (recorded in the WIM XML).
    pub name: String,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            configmgr: false,
            filler_bytes: 4 << 20,
            incompressible: false,
            overlay: None,
            name: "Microsoft Windows PE (x64)".into(),
        }
    }
}

/// Stand-in boot files: image path and size (0 = a short text).
const BOOT_FILES: &[(&str, usize)] = &[
    ("Windows/Boot/PCAT/bootmgr", 0),
    ("Windows/Boot/DVD/PCAT/BCD", 0),
    ("Windows/Boot/DVD/PCAT/boot.sdi", 0),
    ("Windows/Boot/DVD/PCAT/etfsboot.com", 4096),
    ("Windows/Boot/EFI/bootmgfw.efi", 0),
    ("Windows/Boot/EFI/bootmgr.efi", 0),
    ("Windows/Boot/EFI/memtest.efi", 0),
    ("Windows/Boot/DVD/EFI/BCD", 0),
    ("Windows/Boot/DVD/EFI/en-US/efisys.bin", 0),
    ("Windows/Boot/DVD/EFI/en-US/efisys_noprompt.bin", 0),
    ("Windows/Boot/Fonts/segmono_boot.ttf", 0),
    ("Windows/Boot/Fonts/wgl4_boot.ttf", 0),
    ("Windows/System32/kernel32.dll", 0),
    ("Windows/System32/winpeshl.exe", 0),
    ("Windows/System32/startnet.cmd", 0),
];

fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
    }
    std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })
}

fn sz(name: &str, s: &str) -> RawValue {
    RawValue {
        name: name.into(),
        ty: types::SZ,
        data: hive::encode_sz(s),
    }
}

fn dword(name: &str, v: u32) -> RawValue {
    RawValue {
        name: name.into(),
        ty: types::DWORD,
        data: v.to_le_bytes().to_vec(),
    }
}

/// Builds a hive file at `path` with the given keys and values.
pub fn build_hive(path: &Path, content: &[(&str, Vec<RawValue>)]) -> Result<(), Error> {
    Hive::create_empty(path)?;
    let mut h = Hive::open_writable(path)?;
    for (key, values) in content {
        let node = h.ensure_key(key)?;
        for v in values {
            h.set_value(node, v)?;
        }
    }
    h.commit(None)?;
    Ok(())
}

/// Deterministic xorshift64* generator: samples are reproducible and need no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        // The high bits of xorshift64* are the good ones.
        ((self.next() >> 32) as usize) % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Deterministic incompressible bytes (xorshift64*).
fn random_filler(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Words that make up the sample's identifiers, messages and registry paths.
const WORDS: &[&str] = &[
    "Create",
    "Open",
    "Close",
    "Query",
    "Set",
    "Get",
    "Reg",
    "File",
    "Key",
    "Value",
    "Device",
    "Driver",
    "Service",
    "Control",
    "Manager",
    "Handle",
    "Object",
    "Process",
    "Thread",
    "Token",
    "Security",
    "Descriptor",
    "Information",
    "Buffer",
    "Length",
    "Status",
    "Boot",
    "Config",
    "Network",
    "Adapter",
    "Interface",
    "Storage",
    "Volume",
    "Partition",
    "Disk",
    "Class",
    "Property",
    "Resource",
    "Section",
    "Memory",
    "Virtual",
    "Allocate",
    "Free",
    "Initialize",
    "Terminate",
    "Callback",
    "Event",
    "Wait",
    "Signal",
    "Timer",
    "Power",
    "State",
    "Notify",
    "Setup",
    "Install",
    "Image",
    "Path",
    "Name",
    "Version",
    "Windows",
    "System",
    "Current",
];

/// Error and log messages in the shape Windows binaries carry them.
const PHRASES: &[&str] = &[
    "The system cannot find the file specified.",
    "Access is denied.",
    "The parameter is incorrect.",
    "Failed to initialize the ",
    "Unable to open registry key ",
    "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\",
    "\\SystemRoot\\System32\\drivers\\",
    "X:\\Windows\\System32\\",
    "%s: error 0x%08x while loading %s",
    "onecore\\base\\",
];

/// Common x86-64 instruction templates: fixed bytes, then `rel32`-like operand bytes to fill
/// (0 = none, 1 = one byte immediate/displacement, 4 = 32-bit displacement).
const INSNS: &[(&[u8], u8)] = &[
    (&[0x48, 0x8B], 9),             // mov r64, r/m64 (ModRM from the register table)
    (&[0x48, 0x89], 9),             // mov r/m64, r64
    (&[0x8B], 9),                   // mov r32, r/m32
    (&[0x48, 0x85], 9),             // test r64, r64
    (&[0x85, 0xC0], 0),             // test eax, eax
    (&[0x33, 0xC0], 0),             // xor eax, eax
    (&[0x33, 0xD2], 0),             // xor edx, edx
    (&[0x74], 1),                   // je short
    (&[0x75], 1),                   // jne short
    (&[0xEB], 1),                   // jmp short
    (&[0x0F, 0x84], 4),             // je near
    (&[0xE8], 4),                   // call rel32
    (&[0xFF, 0x15], 4),             // call [rip+disp32] (import)
    (&[0x48, 0x8B, 0x05], 4),       // mov rax, [rip+disp32]
    (&[0x48, 0x8D, 0x0D], 4),       // lea rcx, [rip+disp32]
    (&[0x48, 0x8D, 0x4C, 0x24], 1), // lea rcx, [rsp+disp8]
    (&[0x48, 0x8B, 0x44, 0x24], 1), // mov rax, [rsp+disp8]
    (&[0x89, 0x44, 0x24], 1),       // mov [rsp+disp8], eax
    (&[0xB9], 5),                   // mov ecx, imm32 (small)
    (&[0xBA], 5),                   // mov edx, imm32 (small)
    (&[0x41, 0xB8], 5),             // mov r8d, imm32 (small)
    (&[0x48, 0x83, 0xC4], 1),       // add rsp, imm8
    (&[0x48, 0x83, 0xEC], 1),       // sub rsp, imm8
];

/// ModRM bytes of register-to-register forms that compilers use most.
const MODRM: &[u8] = &[
    0xC1, 0xC8, 0xCB, 0xD0, 0xD3, 0xD8, 0xF1, 0xF9, 0xC3, 0xCE, 0xDA, 0xE9,
];

const PROLOGUE: &[u8] = &[
    0x48, 0x89, 0x5C, 0x24, 0x08, 0x48, 0x89, 0x74, 0x24, 0x10, 0x57, 0x48, 0x83, 0xEC, 0x20,
];
const EPILOGUE: &[u8] = &[
    0x48, 0x8B, 0x5C, 0x24, 0x30, 0x48, 0x8B, 0x74, 0x24, 0x38, 0x48, 0x83, 0xC4, 0x20, 0x5F, 0xC3,
];

/// One instruction from [`INSNS`] with fresh operands.
fn instruction(rng: &mut Rng, out: &mut Vec<u8>) {
    let (bytes, operand) = rng.pick(INSNS);
    out.extend_from_slice(bytes);
    match operand {
        1 => out.push((rng.below(16) * 8) as u8),
        4 => {
            let disp = (rng.below(0x20000) as u32).wrapping_sub(0x10000);
            out.extend_from_slice(&disp.to_le_bytes());
        }
        5 => out.extend_from_slice(&(rng.below(64) as u32).to_le_bytes()),
        9 => out.push(rng.pick(MODRM)),
        _ => {}
    }
}

/// Machine-code-like bytes: functions made of recurring instruction sequences (compilers emit
/// the same idioms over and over) and single instructions with fresh operands.
fn code(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
    let end = out.len() + len;
    let idioms: Vec<Vec<u8>> = (0..48)
        .map(|_| {
            let mut v = Vec::new();
            for _ in 0..2 + rng.below(6) {
                instruction(rng, &mut v);
            }
            v
        })
        .collect();
    while out.len() < end {
        out.extend_from_slice(PROLOGUE);
        for _ in 0..4 + rng.below(20) {
            if rng.below(10) < IDIOM_TENTHS {
                out.extend_from_slice(&idioms[rng.below(idioms.len())]);
            } else {
                instruction(rng, out);
            }
        }
        out.extend_from_slice(EPILOGUE);
        while !out.len().is_multiple_of(16) {
            out.push(0xCC);
        }
    }
    out.truncate(end);
}

/// Share of a function's pieces (in tenths) that are recurring idioms.
const IDIOM_TENTHS: usize = 2;

/// Read-only data: identifiers and messages in ASCII and UTF-16LE, NUL-terminated.
fn strings(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
    let end = out.len() + len;
    while out.len() < end {
        let mut s = String::new();
        if rng.below(3) == 0 {
            s.push_str(rng.pick(PHRASES));
        }
        for _ in 0..1 + rng.below(4) {
            s.push_str(rng.pick(WORDS));
        }
        if rng.below(2) == 0 {
            s.push_str(&format!("{}", rng.below(1000)));
        }
        if rng.below(2) == 0 {
            out.extend(s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
        } else {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        while !out.len().is_multiple_of(2) {
            out.push(0);
        }
    }
    out.truncate(end);
}

/// Tables: pointers into the image, relative addresses, flags words, alignment zeros.
fn tables(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
    let end = out.len() + len;
    let mut rva = 0x1000u64 + rng.below(0x1000) as u64;
    while out.len() < end {
        match rng.below(4) {
            0 => out.extend_from_slice(&(0x1_8000_0000 + rva).to_le_bytes()),
            1 => out.extend_from_slice(&(rva as u32).to_le_bytes()),
            2 => out.extend_from_slice(&(1u32 << rng.below(32)).to_le_bytes()),
            _ => out.extend_from_slice(&[0; 8]),
        }
        rva += 8 + rng.below(0x80) as u64;
    }
    out.truncate(end);
}

/// Deterministic bytes that compress with LZX about as PE files do (code, strings, tables,
/// padding, and some already-compressed resources), so wimlib treats the sample like a real
/// boot image.
fn pe_like_filler(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let block = (4096 * (1 + rng.below(8))).min(len - out.len());
        match rng.below(20) {
            0..=11 => code(&mut rng, &mut out, block),
            12..=14 => strings(&mut rng, &mut out, block),
            15..=17 => tables(&mut rng, &mut out, block),
            18 => out.resize(out.len() + block, 0),
            _ => {
                let r = random_filler(rng.next(), block);
                out.extend_from_slice(&r);
            }
        }
    }
    out
}

/// Writes the WinPE-shaped tree into `root` (which must exist).
pub fn stage_tree(root: &Path, opts: &SampleOptions) -> Result<(), Error> {
    let config = root.join("Windows/System32/config");
    std::fs::create_dir_all(&config).map_err(|source| Error::Io {
        path: config.clone(),
        source,
    })?;
    build_hive(
        &config.join("SOFTWARE"),
        &[
            (
                "Microsoft\\Windows NT\\CurrentVersion",
                vec![
                    sz("ProductName", "Microsoft Windows PE"),
                    sz("EditionID", "WindowsPE"),
                    sz("InstallationType", "WindowsPE"),
                    sz("CurrentBuild", "26100"),
                    dword("CurrentMajorVersionNumber", 10),
                ],
            ),
            // ROOT exists with an empty Certificates key; AuthRoot is absent and CA lacks
            // Certificates, so injection must create missing ancestors.
            ("Microsoft\\SystemCertificates\\ROOT\\Certificates", vec![]),
            ("Microsoft\\SystemCertificates\\CA", vec![]),
        ],
    )?;
    build_hive(
        &config.join("SYSTEM"),
        &[
            ("Select", vec![dword("Current", 1), dword("Default", 1)]),
            ("ControlSet001\\Control\\MiniNT", vec![]),
            (
                "ControlSet001\\Control\\Session Manager\\Environment",
                vec![sz("PROCESSOR_ARCHITECTURE", "AMD64")],
            ),
        ],
    )?;
    build_hive(
        &config.join("DEFAULT"),
        &[("Control Panel\\Desktop", vec![sz("Wallpaper", "")])],
    )?;

    for (rel, size) in BOOT_FILES {
        let mut bytes =
            format!("peforge stand-in for {rel}; not a Microsoft file\r\n").into_bytes();
        if *size > 0 {
            bytes.resize(*size, 0);
        }
        // startnet.cmd holds what the ADK ships, so start-up editing has a real file to work on.
        if rel.ends_with("startnet.cmd") {
            bytes = b"wpeinit\r\n".to_vec();
        }
        write(root, rel, &bytes)?;
    }
    if opts.configmgr {
        for f in [
            "TsBootShell.exe",
            "TsmBootstrap.exe",
            "TsManager.exe",
            "TsProgressUI.exe",
        ] {
            write(
                root,
                &format!("sms/bin/x64/{f}"),
                format!("peforge stand-in for {f}\r\n").as_bytes(),
            )?;
        }
        write(
            root,
            "Windows/System32/winpeshl.ini",
            b"[LaunchApps]\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe\r\n",
        )?;
    }
    let mut left = opts.filler_bytes;
    let mut n = 0u64;
    while left > 0 {
        let len = left.min(8 << 20);
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        write(
            root,
            &format!("Windows/System32/filler/blob{n:04}.bin"),
            &if opts.incompressible {
                random_filler(n + 1, len_usize)
            } else {
                pe_like_filler(n + 1, len_usize)
            },
        )?;
        left -= len;
        n += 1;
    }
    if let Some(overlay) = &opts.overlay {
        copy_tree(overlay, root)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let rd = std::fs::read_dir(from).map_err(|source| Error::Io {
        path: from.into(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| Error::Io {
            path: from.into(),
            source,
        })?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if src.is_dir() {
            std::fs::create_dir_all(&dst).map_err(|source| Error::Io {
                path: dst.clone(),
                source,
            })?;
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|source| Error::Io {
                path: dst.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Builds a sample boot image at `out`: one WinPE image (index 1, bootable, x64).
pub fn build_boot_wim(out: &Path, opts: &SampleOptions) -> Result<(), Error> {
    let staging = tempfile::tempdir().map_err(|source| Error::Io {
        path: out.into(),
        source,
    })?;
    stage_tree(staging.path(), opts)?;
    wim::capture(
        &[wim::CaptureImage {
            source: staging.path(),
            name: &opts.name,
            properties: &[
                ("DESCRIPTION", "peforge synthetic WinPE sample"),
                ("WINDOWS/ARCH", "9"),
                ("WINDOWS/EDITIONID", "WindowsPE"),
                ("WINDOWS/INSTALLATIONTYPE", "WindowsPE"),
            ],
        }],
        out,
    )?;
    Ok(())
}
