//! Synthetic WinPE-shaped boot images for the demo, the tests and the benchmark.
//!
//! The image has the shape peforge works on: real registry hives made with hivex
//! (`Windows\System32\config\SOFTWARE`, `SYSTEM`, `DEFAULT`), stand-in boot files at the paths of
//! `shared/specs/boot-media.md` §1, deterministic incompressible filler files, and optionally the
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
    /// Bytes of incompressible filler files to add (spread over files of at most 8 MiB).
    pub filler_bytes: u64,
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

/// Deterministic incompressible bytes (xorshift64*), so samples are reproducible.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
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
            &filler(n + 1, len_usize),
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
