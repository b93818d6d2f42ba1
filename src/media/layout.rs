//! Which boot files a medium needs and where they come from (`shared/specs/boot-media.md` §1,
//! §2): taken from the boot image itself (`Windows\Boot\...` of the chosen image), with the
//! Windows UEFI CA 2023 `_EX` swaps when asked, or from an ADK media folder (`--pe-media`).
//!
//! The files are extracted into a staging directory that the caller keeps alive until the
//! medium is written; the result maps media paths to those local files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::tree::BootImages;
use crate::wim::{self, Wim};

/// Errors while collecting boot files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the boot image failed.
    #[error(transparent)]
    Wim(#[from] wim::Error),
    /// Required boot files are neither in the image nor in the media folder.
    #[error("{wim}: image {index} lacks boot files the medium needs: {missing}")]
    Missing {
        /// The boot image.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// Media paths missing, comma-separated.
        missing: String,
    },
    /// `--secure-boot-2023` but the image has no `_EX` boot files.
    #[error("{wim}: image {index} has no {folder}, so it has no Windows UEFI CA 2023 boot files")]
    No2023 {
        /// The boot image.
        wim: PathBuf,
        /// The image index.
        index: u32,
        /// The missing folder.
        folder: String,
    },
    /// Reading the media folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do about this error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Wim(e) => e.hint(),
            Error::Missing { .. } => Some(
                "give the ADK media folder with --pe-media DIR (e.g. the Media folder made by copype), or start from a console-made medium with `peforge media retarget`".into(),
            ),
            Error::No2023 { .. } => Some(
                "service the boot image with the 2024-04 or later cumulative update, or build without --secure-boot-2023".into(),
            ),
            Error::Io { .. } => None,
        }
    }
}

/// How to lay out the boot files.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LayoutOptions {
    /// Use the Windows UEFI CA 2023 signed `_EX` files (§2).
    #[serde(default)]
    pub secure_boot_2023: bool,
    /// Use the no-prompt UEFI El Torito image (`efisys_noprompt.bin`).
    #[serde(default)]
    pub no_prompt: bool,
    /// An ADK media folder whose files override those from the image.
    #[serde(default)]
    pub pe_media: Option<PathBuf>,
    /// Whether the El Torito images are required (ISO output). A media build sets it from the
    /// output format, so it is not part of a serialised plan.
    #[serde(skip)]
    pub need_el_torito: bool,
}

/// The boot files of a medium.
#[derive(Debug, Clone, Default)]
pub struct BootFiles {
    /// Media path (`/`-separated) → local file.
    pub files: BTreeMap<String, PathBuf>,
    /// El Torito entries.
    pub boot: BootImages,
    /// Remarks for the user (fallbacks taken).
    pub notes: Vec<String>,
}

impl BootFiles {
    fn put(&mut self, media: &str, local: PathBuf) {
        // Media paths are case-insensitive: a later source replaces an earlier spelling.
        let upper = media.to_ascii_uppercase();
        self.files.retain(|k, _| k.to_ascii_uppercase() != upper);
        self.files.insert(media.to_string(), local);
    }
    /// Whether the tree has `media` (case-insensitively).
    pub fn has(&self, media: &str) -> bool {
        self.files.keys().any(|k| k.eq_ignore_ascii_case(media))
    }
}

/// The EFI removable-media boot file name for an image architecture.
pub fn efi_boot_name(arch: Option<&str>) -> &'static str {
    match arch {
        Some("arm64") => "bootaa64.efi",
        Some("x86") => "bootia32.efi",
        _ => "bootx64.efi",
    }
}

fn extract(wim: &Wim, index: u32, inner: &str, staging: &Path) -> Result<Option<PathBuf>, Error> {
    match wim.stat(index, inner)? {
        Some(e) if !e.is_dir => Ok(Some(wim.extract_to(index, &e.path, staging)?)),
        _ => Ok(None),
    }
}

fn list_files(wim: &Wim, index: u32, dir: &str) -> Result<Vec<wim::Entry>, Error> {
    match wim.stat(index, dir)? {
        Some(e) if e.is_dir => Ok(wim
            .list_dir(index, dir)?
            .into_iter()
            .filter(|e| !e.is_dir)
            .collect()),
        _ => Ok(Vec::new()),
    }
}

fn file_name(inner: &str) -> &str {
    inner.rsplit(['\\', '/']).next().unwrap_or(inner)
}

/// Collects the boot files of image `index` (and the media folder, if given) into `staging`.
pub fn boot_files(
    wim: &Wim,
    index: u32,
    opts: &LayoutOptions,
    staging: &Path,
) -> Result<BootFiles, Error> {
    let arch = wim.image(index)?.arch;
    let efi_name = efi_boot_name(arch.as_deref());
    let mut out = BootFiles::default();
    let table: [(&str, String); 11] = [
        ("Windows\\Boot\\PCAT\\bootmgr", "bootmgr".into()),
        ("Windows\\Boot\\DVD\\PCAT\\BCD", "boot/BCD".into()),
        ("Windows\\Boot\\DVD\\PCAT\\boot.sdi", "boot/boot.sdi".into()),
        (
            "Windows\\Boot\\DVD\\PCAT\\etfsboot.com",
            "boot/etfsboot.com".into(),
        ),
        ("Windows\\Boot\\EFI\\bootmgr.efi", "bootmgr.efi".into()),
        (
            "Windows\\Boot\\EFI\\bootmgfw.efi",
            format!("efi/boot/{efi_name}"),
        ),
        (
            "Windows\\Boot\\DVD\\EFI\\BCD",
            "efi/microsoft/boot/BCD".into(),
        ),
        (
            "Windows\\Boot\\DVD\\EFI\\en-US\\efisys.bin",
            "efi/microsoft/boot/efisys.bin".into(),
        ),
        (
            "Windows\\Boot\\DVD\\EFI\\en-US\\efisys_noprompt.bin",
            "efi/microsoft/boot/efisys_noprompt.bin".into(),
        ),
        (
            "Windows\\Boot\\EFI\\memtest.efi",
            "efi/microsoft/boot/memtest.efi".into(),
        ),
        (
            "Windows\\Boot\\EFI\\boot.stl",
            "efi/microsoft/boot/boot.stl".into(),
        ),
    ];
    for (inner, media) in &table {
        if let Some(local) = extract(wim, index, inner, staging)? {
            out.put(media, local);
        }
    }
    for font in list_files(wim, index, "Windows\\Boot\\Fonts")? {
        let name = file_name(&font.path).to_string();
        let local = wim.extract_to(index, &font.path, staging)?;
        out.put(&format!("boot/fonts/{name}"), local.clone());
        out.put(&format!("efi/microsoft/boot/fonts/{name}"), local);
    }
    let mut uefi_image = if opts.no_prompt {
        "efi/microsoft/boot/efisys_noprompt.bin"
    } else {
        "efi/microsoft/boot/efisys.bin"
    }
    .to_string();
    if opts.secure_boot_2023 {
        for folder in [
            "Windows\\Boot\\EFI_EX",
            "Windows\\Boot\\FONTS_EX",
            "Windows\\Boot\\DVD_EX",
        ] {
            if !wim.stat(index, folder)?.is_some_and(|e| e.is_dir) {
                return Err(Error::No2023 {
                    wim: wim.path().into(),
                    index,
                    folder: folder.into(),
                });
            }
        }
        let missing = |what: &str| Error::Missing {
            wim: wim.path().into(),
            index,
            missing: what.into(),
        };
        let mgr = extract(
            wim,
            index,
            "Windows\\Boot\\EFI_EX\\bootmgfw_EX.efi",
            staging,
        )?
        .ok_or_else(|| missing("Windows\\Boot\\EFI_EX\\bootmgfw_EX.efi"))?;
        out.put(&format!("efi/boot/{efi_name}"), mgr);
        if let Some(m) = extract(wim, index, "Windows\\Boot\\EFI_EX\\bootmgr_EX.efi", staging)? {
            out.put("bootmgr.efi", m);
        }
        let noprompt = if opts.no_prompt {
            extract(
                wim,
                index,
                "Windows\\Boot\\DVD_EX\\EFI\\en-US\\efisys_noprompt_EX.bin",
                staging,
            )?
        } else {
            None
        };
        if let Some(np) = noprompt {
            out.put("efi/microsoft/boot/efisys_noprompt_ex.bin", np);
            uefi_image = "efi/microsoft/boot/efisys_noprompt_ex.bin".into();
        } else {
            let sys = extract(
                wim,
                index,
                "Windows\\Boot\\DVD_EX\\EFI\\en-US\\efisys_EX.bin",
                staging,
            )?
            .ok_or_else(|| missing("Windows\\Boot\\DVD_EX\\EFI\\en-US\\efisys_EX.bin"))?;
            if opts.no_prompt {
                out.notes.push("the image has no efisys_noprompt_EX.bin: the ISO's UEFI entry uses efisys_ex.bin, which asks for a key press".into());
            }
            out.put("efi/microsoft/boot/efisys_ex.bin", sys);
            uefi_image = "efi/microsoft/boot/efisys_ex.bin".into();
        }
        for font in list_files(wim, index, "Windows\\Boot\\FONTS_EX")? {
            let name = file_name(&font.path);
            let plain = match name.rsplit_once('.') {
                Some((stem, ext)) => format!(
                    "{}.{ext}",
                    stem.strip_suffix("_EX")
                        .or_else(|| stem.strip_suffix("_ex"))
                        .unwrap_or(stem)
                ),
                None => name.to_string(),
            };
            let local = wim.extract_to(index, &font.path, staging)?;
            out.put(&format!("efi/microsoft/boot/fonts/{plain}"), local);
        }
    }
    if let Some(dir) = &opts.pe_media {
        overlay(dir, "", &mut out)?;
        // ADK layouts keep the El Torito images in a sibling fwfiles (copype) or Oscdimg folder.
        for sib in ["fwfiles", "Oscdimg"] {
            let Some(parent) = dir.parent() else { continue };
            let f = parent.join(sib);
            for (name, media) in [
                ("etfsboot.com", "boot/etfsboot.com"),
                ("efisys.bin", "efi/microsoft/boot/efisys.bin"),
                (
                    "efisys_noprompt.bin",
                    "efi/microsoft/boot/efisys_noprompt.bin",
                ),
            ] {
                if f.join(name).is_file() && !out.has(media) {
                    out.put(media, f.join(name));
                }
            }
        }
    }
    if opts.no_prompt && out.has("boot/bootfix.bin") {
        // bootfix.bin is what asks "Press any key to boot from CD or DVD" on BIOS (§1).
        out.files
            .retain(|k, _| !k.eq_ignore_ascii_case("boot/bootfix.bin"));
        out.notes.push(
            "--no-prompt: boot/bootfix.bin left out, so BIOS boots without asking for a key".into(),
        );
    }
    let mut required = vec![
        "bootmgr".to_string(),
        "boot/BCD".into(),
        "boot/boot.sdi".into(),
        format!("efi/boot/{efi_name}"),
        "efi/microsoft/boot/BCD".into(),
    ];
    let bios = arch.as_deref() != Some("arm64");
    if opts.need_el_torito {
        if bios {
            required.push("boot/etfsboot.com".into());
        }
        required.push(uefi_image.clone());
    }
    let missing: Vec<String> = required.into_iter().filter(|m| !out.has(m)).collect();
    if !missing.is_empty() {
        return Err(Error::Missing {
            wim: wim.path().into(),
            index,
            missing: missing.join(", "),
        });
    }
    out.boot = BootImages {
        bios: (bios && out.has("boot/etfsboot.com")).then(|| "boot/etfsboot.com".to_string()),
        uefi: out.has(&uefi_image).then_some(uefi_image),
    };
    Ok(out)
}

/// Adds every file under `dir` (recursively), except `sources/boot.wim`, replacing same paths.
fn overlay(dir: &Path, prefix: &str, out: &mut BootFiles) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let media = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let ty = e.file_type().map_err(io(&e.path()))?;
        if ty.is_dir() {
            overlay(&e.path(), &media, out)?;
        } else if ty.is_file() && !media.eq_ignore_ascii_case("sources/boot.wim") {
            out.put(&media, e.path());
        }
    }
    Ok(())
}
