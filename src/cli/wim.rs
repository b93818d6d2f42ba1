//! `peforge wim ...`: inspect a boot image and read or replace its files without mounting.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::commit::CommitArgs;
use super::{Global, Status, output};
use crate::wim::{self, Wim};

/// Commands on WIM files.
#[derive(Debug, clap::Subcommand)]
pub enum WimCmd {
    /// Show the images of a WIM: name, architecture, size, WinPE and ConfigMgr detection.
    Info {
        /// The WIM file (e.g. boot.wim).
        wim: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// List files of an image.
    Ls {
        /// The WIM file.
        wim: PathBuf,
        /// Directory inside the image (default: the root).
        #[arg(default_value = "\\")]
        path: String,
        /// Image index.
        #[arg(long, default_value_t = 1)]
        index: u32,
        /// List the whole subtree.
        #[arg(short, long)]
        recursive: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Copy one file out of an image (to a file, or to stdout with `-o -`).
    Extract {
        /// The WIM file.
        wim: PathBuf,
        /// File inside the image, e.g. 'Windows\System32\config\SOFTWARE'.
        path: String,
        /// Image index.
        #[arg(long, default_value_t = 1)]
        index: u32,
        /// Output file, or - for stdout.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Add driver packages, overlay folders and a start script to a boot image, offline.
    Customize(super::customize::CustomizeArgs),
    /// Replace (or add) one file of an image.
    Put {
        /// The WIM file.
        wim: PathBuf,
        /// Local file to store.
        local: PathBuf,
        /// Destination path inside the image.
        path: String,
        /// Image index.
        #[arg(long, default_value_t = 1)]
        index: u32,
        #[command(flatten)]
        commit: CommitArgs,
    },
}

#[derive(Serialize)]
struct InfoDoc {
    path: String,
    file_size: u64,
    image_count: u32,
    boot_index: u32,
    compression: String,
    images: Vec<ImageDoc>,
}

#[derive(Serialize)]
struct ImageDoc {
    index: u32,
    name: String,
    description: String,
    arch: Option<String>,
    total_bytes: u64,
    file_count: u64,
    winpe: bool,
    configmgr_boot_image: bool,
    configmgr_arch: Option<String>,
    software_hive: bool,
    /// Whether the SOFTWARE hive has a Windows security descriptor: a file peforge replaced
    /// has none (wimlib adds files from Linux without one; see README, Limits).
    software_hive_has_security_descriptor: Option<bool>,
    /// The SOFTWARE hive's Windows file attributes: 0x80 (NORMAL) after peforge replaced it.
    software_hive_attributes: Option<u32>,
    /// Certificates the SOFTWARE hive trusts (ROOT, AuthRoot, CA); `None` without a hive.
    certificates: Option<Vec<super::cert::CertDoc>>,
    /// Why the certificates could not be read (corrupt hive), if so.
    certificates_error: Option<String>,
}

pub fn run(cmd: WimCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        WimCmd::Info { wim, json } => info(&wim, json),
        WimCmd::Ls {
            wim,
            path,
            index,
            recursive,
            json,
        } => {
            let w = Wim::open(&wim)?;
            let entries = if recursive {
                w.walk(index, &path)?
            } else {
                w.list_dir(index, &path)?
            };
            if json {
                #[derive(Serialize)]
                struct E<'a> {
                    path: &'a str,
                    dir: bool,
                    size: u64,
                }
                #[derive(Serialize)]
                struct Doc<'a> {
                    entries: Vec<E<'a>>,
                }
                let entries = entries
                    .iter()
                    .map(|e| E {
                        path: &e.path,
                        dir: e.is_dir,
                        size: e.size,
                    })
                    .collect();
                output::print_json(&Doc { entries })?;
            } else {
                for e in &entries {
                    let kind = if e.is_dir { "d" } else { "-" };
                    output::line(format!("{kind} {:>12} {}", e.size, e.path))?;
                }
            }
            Ok(Status::Success)
        }
        WimCmd::Extract {
            wim,
            path,
            index,
            output,
        } => {
            let w = Wim::open(&wim)?;
            let bytes = w.read_file(index, &path)?;
            if output.as_os_str() == "-" {
                use std::io::Write;
                std::io::stdout().lock().write_all(&bytes)?;
            } else {
                crate::fsutil::write_atomic(&output, &bytes)
                    .with_context(|| format!("{}", output.display()))?;
                if !g.quiet {
                    eprintln!(
                        "extracted {} ({} bytes) to {}",
                        path,
                        bytes.len(),
                        output.display()
                    );
                }
            }
            Ok(Status::Success)
        }
        WimCmd::Customize(a) => super::customize::run(a, g),
        WimCmd::Put {
            wim,
            local,
            path,
            index,
            commit,
        } => {
            let bytes = std::fs::read(&local)
                .with_context(|| format!("{}: cannot read", local.display()))?;
            let mut w = commit.open(&wim)?;
            let mut tmp = tempfile::NamedTempFile::new()?;
            std::io::Write::write_all(&mut tmp, &bytes)?;
            w.replace_file(index, &path, tmp.into_temp_path())?;
            w.set_progress(std::rc::Rc::new(super::progress::Bar::new(!g.quiet)));
            let written = w.commit(commit.mode())?;
            // Re-read what we wrote before reporting success.
            let check = Wim::open(&written)?.read_file(index, &path)?;
            anyhow::ensure!(
                check == bytes,
                "{}: verification failed: {} differs after commit",
                written.display(),
                path
            );
            if !g.quiet {
                eprintln!("stored {} in image {index} of {}", path, written.display());
            }
            Ok(Status::Success)
        }
    }
}

fn info(path: &std::path::Path, json: bool) -> anyhow::Result<Status> {
    let w = Wim::open(path)?;
    let s = w.summary();
    let mut images = Vec::new();
    for index in 1..=s.image_count {
        let img = w.image(index)?;
        let kind = wim::detect(&w, index)?;
        let (certificates, certificates_error) = match &kind.software {
            Some(_) => match trusted_certificates(&w, index) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            },
            None => (None, None),
        };
        images.push(ImageDoc {
            index,
            name: img.name,
            description: img.description,
            arch: img.arch,
            total_bytes: img.total_bytes,
            file_count: img.file_count,
            winpe: kind.winpe,
            configmgr_boot_image: kind.configmgr_arch.is_some(),
            configmgr_arch: kind.configmgr_arch,
            software_hive: kind.software.is_some(),
            software_hive_has_security_descriptor: kind
                .software
                .as_ref()
                .map(|e| e.has_security_descriptor),
            software_hive_attributes: kind.software.as_ref().map(|e| e.attributes),
            certificates,
            certificates_error,
        });
    }
    let doc = InfoDoc {
        path: path.display().to_string(),
        file_size: s.file_size,
        image_count: s.image_count,
        boot_index: s.boot_index,
        compression: s.compression,
        images,
    };
    if json {
        output::print_json(&doc)?;
        return Ok(Status::Success);
    }
    output::line(format!(
        "{}: {} image(s), boot index {}, {} compression, {} bytes",
        doc.path, doc.image_count, doc.boot_index, doc.compression, doc.file_size
    ))?;
    for i in &doc.images {
        output::line(format!(
            "  [{}] {} ({}), {} files, {} bytes",
            i.index,
            i.name,
            i.arch.as_deref().unwrap_or("arch unknown"),
            i.file_count,
            i.total_bytes
        ))?;
        let mut kinds = Vec::new();
        if i.winpe {
            kinds.push("WinPE".to_string());
        }
        if let Some(a) = &i.configmgr_arch {
            kinds.push(format!("ConfigMgr boot image (sms\\bin\\{a})"));
        }
        if kinds.is_empty() {
            kinds.push("not WinPE".into());
        }
        output::line(format!("      {}", kinds.join(", ")))?;
        match (
            i.software_hive_has_security_descriptor,
            i.software_hive_attributes,
        ) {
            (Some(sd), Some(attributes)) => output::line(format!(
                "      SOFTWARE hive: attributes 0x{attributes:08x}, {}",
                if sd {
                    "security descriptor present"
                } else {
                    "no security descriptor (a file replaced or captured on Linux has none, \
                     and its attributes are 0x80; see README, Limits)"
                }
            ))?,
            _ => output::line("      no SOFTWARE hive")?,
        }
        if let Some(e) = &i.certificates_error {
            output::line(format!(
                "      trusted certificates: cannot read the SOFTWARE hive: {e}"
            ))?;
        }
        if let Some(certs) = &i.certificates {
            if certs.is_empty() {
                output::line("      trusted certificates: none in ROOT, AuthRoot, CA")?;
            } else {
                output::line("      trusted certificates (ROOT, AuthRoot, CA):")?;
            }
            for c in certs {
                output::line(format!("        {}", super::cert::cert_line(c)))?;
            }
        }
    }
    Ok(Status::Success)
}

/// The certificates of ROOT, AuthRoot and CA (every location) in an image's SOFTWARE hive.
fn trusted_certificates(w: &Wim, index: u32) -> anyhow::Result<Vec<super::cert::CertDoc>> {
    use crate::cert::{Location, Store, store};
    let x = super::cert::open_software(w, index, false)?;
    let entries = store::list(
        &x.hive,
        &Location::ALL,
        &[Store::Root, Store::AuthRoot, Store::Ca],
    )?;
    let now = crate::cert::now();
    Ok(entries
        .iter()
        .map(|e| super::cert::cert_doc(e, now))
        .collect())
}
