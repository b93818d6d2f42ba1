//! `peforge cert inject|list|remove|reg|verify`: trusted certificates in the SOFTWARE hive of a
//! boot image (or a loose hive file), and the `.reg` file of the manual procedure.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context;
use serde::Serialize;

use super::commit::CommitArgs;
use super::{Global, Status, output, report};
use crate::cert::inject::{self, InjectPlan, Item, RemovePlan, StoreChoice};
use crate::cert::store::{self, Entry, Outcome};
use crate::cert::{self, Location, Profile, Store, Warning, x509};
use crate::progress::Progress;
use crate::registry::hive::Hive;
use crate::wim::{self, Wim, offline};

/// A store on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreArg {
    /// AuthRoot: Third-Party Root Certification Authorities (the Microsoft procedure's store).
    #[value(name = "authroot")]
    AuthRoot,
    /// ROOT: Trusted Root Certification Authorities.
    Root,
    /// CA: Intermediate Certification Authorities.
    Ca,
    /// TrustedPublisher: code-signing trust.
    #[value(name = "trustedpublisher", alias = "trusted-publisher")]
    TrustedPublisher,
}

impl From<StoreArg> for Store {
    fn from(s: StoreArg) -> Store {
        match s {
            StoreArg::AuthRoot => Store::AuthRoot,
            StoreArg::Root => Store::Root,
            StoreArg::Ca => Store::Ca,
            StoreArg::TrustedPublisher => Store::TrustedPublisher,
        }
    }
}

/// Where `inject` and `reg` put certificate files: a store, or `auto` (spec §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetStore {
    /// AuthRoot: Third-Party Root Certification Authorities (the Microsoft procedure's store).
    #[value(name = "authroot")]
    AuthRoot,
    /// ROOT: Trusted Root Certification Authorities.
    Root,
    /// CA: Intermediate Certification Authorities.
    Ca,
    /// TrustedPublisher: code-signing trust.
    #[value(name = "trustedpublisher", alias = "trusted-publisher")]
    TrustedPublisher,
    /// Per certificate: self-signed to ROOT, other CA certificates to CA, anything else refused
    /// (e.g. a chain bundle: root and intermediates each where they belong).
    Auto,
}

impl From<TargetStore> for StoreChoice {
    fn from(t: TargetStore) -> StoreChoice {
        match t {
            TargetStore::AuthRoot => StoreChoice::Store(Store::AuthRoot),
            TargetStore::Root => StoreChoice::Store(Store::Root),
            TargetStore::Ca => StoreChoice::Store(Store::Ca),
            TargetStore::TrustedPublisher => StoreChoice::Store(Store::TrustedPublisher),
            TargetStore::Auto => StoreChoice::Auto,
        }
    }
}

/// Which cached properties go into a new Blob (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProfileArg {
    /// 03 20: SHA-1 hash + certificate (recommended).
    #[default]
    Minimal,
    /// 6B 0F 14 19 03 5C 20: as a Windows 10/11 regedit export.
    Windows,
    /// 04 0F 14 19 03 5C 20: as older Windows exports.
    Legacy,
    /// 20: the certificate only.
    CertOnly,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Minimal => Profile::Minimal,
            ProfileArg::Windows => Profile::Windows,
            ProfileArg::Legacy => Profile::Legacy,
            ProfileArg::CertOnly => Profile::CertOnly,
        }
    }
}

/// Which hive: the SOFTWARE hive of images of a WIM, or a loose hive file.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The boot image (boot.wim).
    #[arg(
        long,
        required_unless_present = "hive_file",
        conflicts_with = "hive_file"
    )]
    pub wim: Option<PathBuf>,
    /// Image index [default: 1].
    #[arg(long, conflicts_with_all = ["all_images", "hive_file"])]
    pub index: Option<u32>,
    /// Every image of the WIM that has a SOFTWARE hive.
    #[arg(long, conflicts_with = "hive_file")]
    pub all_images: bool,
    /// A loose SOFTWARE hive file instead of a WIM.
    #[arg(long, value_name = "PATH")]
    pub hive_file: Option<PathBuf>,
}

impl Target {
    fn images(&self) -> offline::Images {
        if self.all_images {
            offline::Images::All
        } else {
            offline::Images::One(self.index.unwrap_or(1))
        }
    }

    /// Where the hives are, for a plan.
    fn hive_target(&self) -> anyhow::Result<offline::HiveTarget> {
        match (&self.hive_file, &self.wim) {
            (Some(file), _) => Ok(offline::HiveTarget::File(file.clone())),
            (None, Some(path)) => Ok(offline::HiveTarget::Wim {
                path: path.clone(),
                inner: wim::SOFTWARE_HIVE.into(),
                images: self.images(),
            }),
            (None, None) => anyhow::bail!("give --wim or --hive-file"),
        }
    }
}

/// Trusted certificate commands.
#[derive(Debug, clap::Subcommand)]
pub enum CertCmd {
    /// Add certificates to a store of the image's SOFTWARE hive, as Windows stores them.
    #[command(after_help = "\
FILE may be DER, PEM, a PEM bundle, or a regedit .reg export of a machine store key (any key
prefix: SOFTWARE, winpe-offline, HKLM\\...); a .reg keeps the store named in its key path and its
Blob bytes. Certificate files go to --store (default authroot, as in the Microsoft procedure).
Injecting a certificate that is already there changes nothing.

Examples:
  peforge cert inject --wim boot.wim --cert cmg-root.pem
  peforge cert inject --wim boot.wim --all-images --cert chain.pem --store ca --dry-run
  peforge cert inject --wim boot.wim --cert exported.reg --output boot-new.wim --json")]
    Inject {
        #[command(flatten)]
        target: Target,
        /// Certificate file(s): DER, PEM, PEM bundle or .reg export.
        #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
        cert: Vec<PathBuf>,
        /// Store for certificate files [default: authroot].
        #[arg(long)]
        store: Option<TargetStore>,
        /// Cached properties of a new Blob.
        #[arg(long, value_enum, default_value_t)]
        profile: ProfileArg,
        /// Show what would change without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Treat warnings (not a CA, not self-signed, expired, SHA-1) as errors.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        commit: CommitArgs,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// List the certificates of the machine stores (ROOT, AuthRoot, CA, TrustedPublisher; system,
    /// group-policy and enterprise locations).
    #[command(after_help = "Example:\n  peforge cert list --wim boot.wim --store authroot --json")]
    List {
        #[command(flatten)]
        target: Target,
        /// Only this store.
        #[arg(long)]
        store: Option<StoreArg>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Remove a certificate (by SHA-1 thumbprint) from the system stores.
    #[command(
        after_help = "Example:\n  peforge cert remove --wim boot.wim --thumbprint CABD2A79A1076A31F21D253635CB039D4329A5E8"
    )]
    Remove {
        #[command(flatten)]
        target: Target,
        /// SHA-1 thumbprint (40 hex digits; spaces, colons and case do not matter).
        #[arg(long)]
        thumbprint: String,
        /// Only from this store [default: every store].
        #[arg(long)]
        store: Option<StoreArg>,
        /// Show what would change without writing anything.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        commit: CommitArgs,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Write the .reg file of the Microsoft procedure's step 1 (UTF-16LE, as regedit exports).
    #[command(after_help = "\
Example (then import it with regedit into the hive loaded as winpe-offline):
  peforge cert reg --cert cmg-root.pem -o cmg-root.reg
  peforge cert reg --cert root.cer --store root --root-key 'HKEY_LOCAL_MACHINE\\SOFTWARE' --profile windows -o root.reg")]
    Reg {
        /// Certificate file(s): DER, PEM, PEM bundle or .reg export.
        #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
        cert: Vec<PathBuf>,
        /// Store named in the key path [default: authroot] (a .reg input keeps its own).
        #[arg(long)]
        store: Option<TargetStore>,
        /// Key the SOFTWARE hive is loaded under.
        #[arg(long, default_value = "HKEY_LOCAL_MACHINE\\winpe-offline")]
        root_key: String,
        /// Cached properties of the Blob.
        #[arg(long, value_enum, default_value_t)]
        profile: ProfileArg,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// Output .reg file, or - for stdout.
        #[arg(short, long, value_name = "OUT.reg")]
        output: PathBuf,
        /// Print one JSON document (the keys written) instead of the text summary.
        #[arg(long)]
        json: bool,
    },
    /// Check every stored certificate: the Blob parses and key name, property 0x03 and the
    /// certificate's SHA-1 agree (exit 1 if not).
    #[command(after_help = "Example:\n  peforge cert verify --wim boot.wim --all-images")]
    Verify {
        #[command(flatten)]
        target: Target,
        /// Only this store.
        #[arg(long)]
        store: Option<StoreArg>,
        /// Also count warnings (lower-case key names, expired certificates) as findings.
        #[arg(long)]
        strict: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: CertCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        CertCmd::Inject {
            target,
            cert,
            store,
            profile,
            dry_run,
            strict,
            commit,
            json,
        } => {
            let plan = InjectPlan {
                target: target.hive_target()?,
                certs: cert,
                store: store.map(Into::into),
                profile: profile.into(),
                strict,
                write: commit.write_mode(dry_run),
            };
            let items = select(&plan.certs, plan.store, plan.profile, strict, g)?;
            report_inject(&plan, &items, json, g)
        }
        CertCmd::List {
            target,
            store,
            json,
        } => list(&target, store, json, false, false),
        CertCmd::Verify {
            target,
            store,
            strict,
            json,
        } => list(&target, store, json, true, strict),
        CertCmd::Remove {
            target,
            thumbprint,
            store,
            dry_run,
            commit,
            json,
        } => {
            let plan = RemovePlan {
                target: target.hive_target()?,
                thumbprint,
                store: store.map(Into::into),
                write: commit.write_mode(dry_run),
            };
            report_remove(&plan, json, g)
        }
        CertCmd::Reg {
            cert,
            store,
            root_key,
            profile,
            strict,
            output,
            json,
        } => reg(
            &cert,
            store,
            &root_key,
            profile.into(),
            strict,
            &output,
            json,
            g,
        ),
    }
}

/// Selects the certificates to write (library), printing notes as they arise and, unless
/// `strict` (which makes them errors), the warnings.
fn select(
    files: &[PathBuf],
    store: Option<StoreChoice>,
    profile: Profile,
    strict: bool,
    g: &Global,
) -> anyhow::Result<Vec<Item>> {
    let items = inject::select(files, store, profile, strict, &mut |n| {
        if !g.quiet {
            eprintln!("note: {n}");
        }
    })?;
    if !strict && !g.quiet {
        for i in &items {
            for w in &i.warnings {
                eprintln!("warning: {}: {}: {w}", i.origin, i.info.short_name());
            }
        }
    }
    Ok(items)
}

fn bar(g: &Global, json: bool) -> Option<Rc<dyn Progress>> {
    Some(Rc::new(super::progress::Bar::new(!g.quiet && !json)))
}

/// Extracts and opens the SOFTWARE hive of an image.
pub(super) fn open_software(
    w: &Wim,
    index: u32,
    writable: bool,
) -> anyhow::Result<offline::ExtractedHive> {
    Ok(offline::open_hive(w, index, wim::SOFTWARE_HIVE, writable)?)
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Added => "added",
        Outcome::Replaced => "replaced",
        Outcome::AlreadyPresent => "already_present",
    }
}

#[derive(Serialize)]
struct InjectDoc {
    input: String,
    written: Option<String>,
    dry_run: bool,
    changed: bool,
    certificates: Vec<InjectedDoc>,
}

#[derive(Serialize)]
struct InjectedDoc {
    image: Option<u32>,
    store: String,
    thumbprint: String,
    subject: String,
    not_after: String,
    source: String,
    profile: String,
    outcome: String,
    warnings: Vec<String>,
}

/// Executes `cert inject`'s plan with the selected items and reports.
fn report_inject(
    plan: &InjectPlan,
    items: &[Item],
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let dry_run = plan.write.dry_run;
    let done = inject::inject(plan, items, bar(g, json))?;
    let changed = done.changed();
    let (input, written, results) = (done.input, done.written, done.results);
    if json {
        let mut certificates = Vec::new();
        for (index, outcomes) in &results {
            for (i, o) in items.iter().zip(outcomes) {
                certificates.push(InjectedDoc {
                    image: *index,
                    store: i.store.key_name().into(),
                    thumbprint: i.thumbprint.clone(),
                    subject: i.info.subject.clone(),
                    not_after: x509::format_time(i.info.not_after),
                    source: i.origin.clone(),
                    profile: i.profile.into(),
                    outcome: outcome_name(*o).into(),
                    warnings: i.warnings.iter().map(ToString::to_string).collect(),
                });
            }
        }
        output::print_json(&InjectDoc {
            input: input.display().to_string(),
            written: written.as_ref().map(|p| p.display().to_string()),
            dry_run,
            changed,
            certificates,
        })?;
        return Ok(Status::Success);
    }
    let would = if dry_run { "would be " } else { "" };
    for (index, outcomes) in &results {
        let place = match index {
            Some(i) => format!(" of image {i}"),
            None => String::new(),
        };
        for (i, o) in items.iter().zip(outcomes) {
            let what = match o {
                Outcome::Added => format!("{would}added to"),
                Outcome::Replaced => format!("{would}replaced (invalid entry) in"),
                Outcome::AlreadyPresent => "already present in".into(),
            };
            output::line(format!(
                "{} {} ({}): {what} {}{place}",
                i.thumbprint,
                i.info.short_name(),
                i.origin,
                i.store
            ))?;
        }
    }
    if !g.quiet {
        match &written {
            Some(p) => eprintln!("wrote {} (re-read and verified)", p.display()),
            None if dry_run => eprintln!("dry run: nothing written"),
            None => eprintln!("already present, nothing to do"),
        }
    }
    Ok(Status::Success)
}

#[derive(Serialize)]
struct ListDoc {
    input: String,
    images: Vec<ListImage>,
    problems: usize,
}

#[derive(Serialize)]
struct ListImage {
    image: Option<u32>,
    certificates: Vec<CertDoc>,
}

/// One stored certificate in JSON (also used by `wim info`).
#[derive(Serialize)]
pub(super) struct CertDoc {
    location: String,
    store: String,
    thumbprint: String,
    subject: Option<String>,
    issuer: Option<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    sha256: Option<String>,
    properties: Vec<String>,
    valid: bool,
    errors: Vec<String>,
    warnings: Vec<String>,
}

pub(super) fn cert_doc(e: &Entry, now: i64) -> CertDoc {
    let c = e.validation.cert.as_ref();
    let mut warnings = e.validation.warnings.clone();
    if let Some(c) = c {
        if now > c.not_after {
            warnings.push(
                Warning::Expired {
                    not_after: c.not_after,
                }
                .to_string(),
            );
        }
        if now < c.not_before {
            warnings.push(
                Warning::NotYetValid {
                    not_before: c.not_before,
                }
                .to_string(),
            );
        }
    }
    CertDoc {
        location: e.location.name().into(),
        store: e.store.key_name().into(),
        thumbprint: e.key_name.clone(),
        subject: c.map(|c| c.subject.clone()),
        issuer: c.map(|c| c.issuer.clone()),
        not_before: c.map(|c| x509::format_time(c.not_before)),
        not_after: c.map(|c| x509::format_time(c.not_after)),
        sha256: c.map(|c| c.sha256.clone()),
        properties: e
            .validation
            .blob
            .as_ref()
            .map(|b| b.ids().iter().map(|id| format!("{id:02X}")).collect())
            .unwrap_or_default(),
        valid: e.validation.is_valid(),
        errors: e.validation.errors.clone(),
        warnings,
    }
}

/// One line per stored certificate: store, thumbprint, subject, expiry, location, validity.
pub(super) fn cert_line(c: &CertDoc) -> String {
    let loc = if c.location == "system" {
        String::new()
    } else {
        format!(" ({})", c.location)
    };
    let bad = if c.valid { "" } else { "  INVALID" };
    format!(
        "{:<16} {}  {}  expires {}{loc}{bad}",
        c.store,
        c.thumbprint,
        c.subject.as_deref().unwrap_or("?"),
        c.not_after.as_deref().unwrap_or("?"),
    )
}

/// Reads the stores of one hive (`None` index for a loose hive file).
fn read_stores(h: &Hive, store: Option<StoreArg>) -> anyhow::Result<Vec<Entry>> {
    let stores: Vec<Store> = match store {
        Some(s) => vec![s.into()],
        None => Store::ALL.to_vec(),
    };
    Ok(store::list(h, &Location::ALL, &stores)?)
}

fn list(
    t: &Target,
    store: Option<StoreArg>,
    json: bool,
    verify: bool,
    strict: bool,
) -> anyhow::Result<Status> {
    let mut per_image: Vec<(Option<u32>, Vec<Entry>)> = Vec::new();
    let input = if let Some(file) = &t.hive_file {
        per_image.push((None, read_stores(&Hive::open(file)?, store)?));
        file.clone()
    } else {
        let wim_path = t.wim.as_ref().context("give --wim or --hive-file")?;
        let w = Wim::open(wim_path)?;
        for index in offline::select_images(&w, wim::SOFTWARE_HIVE, t.images())? {
            let x = open_software(&w, index, false)?;
            per_image.push((Some(index), read_stores(&x.hive, store)?));
        }
        wim_path.clone()
    };
    let now = cert::now();
    let docs: Vec<ListImage> = per_image
        .iter()
        .map(|(index, entries)| ListImage {
            image: *index,
            certificates: entries.iter().map(|e| cert_doc(e, now)).collect(),
        })
        .collect();
    let problems: usize = docs
        .iter()
        .flat_map(|i| &i.certificates)
        .map(|c| c.errors.len() + if strict { c.warnings.len() } else { 0 })
        .sum();
    let status = if verify && problems > 0 {
        Status::Findings
    } else {
        Status::Success
    };
    if json {
        output::print_json(&ListDoc {
            input: input.display().to_string(),
            images: docs,
            problems,
        })?;
        return Ok(status);
    }
    let mut total = 0usize;
    for img in &docs {
        if let Some(i) = img.image {
            output::line(format!("image {i}:"))?;
        }
        if img.certificates.is_empty() {
            output::line("  (no certificates)")?;
        }
        for c in &img.certificates {
            total += 1;
            output::line(format!("  {}", cert_line(c)))?;
            if verify || !c.errors.is_empty() {
                for e in &c.errors {
                    output::line(format!("    error: {e}"))?;
                }
                for w in &c.warnings {
                    output::line(format!("    warning: {w}"))?;
                }
            }
        }
    }
    if verify {
        output::line(format!(
            "{total} certificate(s) checked, {problems} problem(s)"
        ))?;
    }
    Ok(status)
}

#[derive(Serialize)]
struct RemoveDoc {
    input: String,
    written: Option<String>,
    dry_run: bool,
    thumbprint: String,
    removed: Vec<Removed>,
}

#[derive(Serialize)]
struct Removed {
    image: Option<u32>,
    store: String,
}

/// Executes `cert remove`'s plan and reports.
fn report_remove(plan: &RemovePlan, json: bool, g: &Global) -> anyhow::Result<Status> {
    let dry_run = plan.write.dry_run;
    let done = inject::remove(plan, bar(g, json))?;
    let thumb = done.thumbprint;
    let removed: Vec<Removed> = done
        .removed
        .into_iter()
        .map(|(image, s)| Removed {
            image,
            store: s.key_name().into(),
        })
        .collect();
    let (input, written) = (done.input, done.written);
    if json {
        output::print_json(&RemoveDoc {
            input: input.display().to_string(),
            written: written.as_ref().map(|p| p.display().to_string()),
            dry_run,
            thumbprint: thumb,
            removed,
        })?;
        return Ok(Status::Success);
    }
    let would = if dry_run { "would be " } else { "" };
    for r in &removed {
        let place = r
            .image
            .map(|i| format!(" of image {i}"))
            .unwrap_or_default();
        output::line(format!("{thumb}: {would}removed from {}{place}", r.store))?;
    }
    if !g.quiet {
        if removed.is_empty() {
            eprintln!("{thumb} is not in the store(s), nothing to do");
        } else if let Some(p) = &written {
            eprintln!("wrote {} (re-read and verified)", p.display());
        }
    }
    Ok(Status::Success)
}

/// Expands an abbreviated root (`HKLM\x`) to the full name regedit writes.
fn full_root_key(root_key: &str) -> String {
    let k = root_key.trim().trim_matches('\\');
    let (first, rest) = k.split_once('\\').unwrap_or((k, ""));
    let full = match first.to_ascii_uppercase().as_str() {
        "HKLM" | "HKEY_LOCAL_MACHINE" => "HKEY_LOCAL_MACHINE",
        _ => first,
    };
    if rest.is_empty() {
        full.to_string()
    } else {
        format!("{full}\\{rest}")
    }
}

#[derive(Serialize)]
struct RegDoc {
    written: String,
    keys: Vec<RegKeyDoc>,
}

#[derive(Serialize)]
struct RegKeyDoc {
    key: String,
    store: String,
    thumbprint: String,
    subject: String,
    source: String,
    profile: String,
    warnings: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn reg(
    files: &[PathBuf],
    store: Option<TargetStore>,
    root_key: &str,
    profile: Profile,
    strict: bool,
    out: &Path,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let root = full_root_key(root_key);
    if !root.starts_with("HKEY_LOCAL_MACHINE\\") {
        return Err(report::hinted(
            format!("--root-key {root_key:?} is not under HKEY_LOCAL_MACHINE"),
            "give the key the SOFTWARE hive is loaded under, e.g. HKEY_LOCAL_MACHINE\\winpe-offline",
        ));
    }
    let items = select(files, store.map(Into::into), profile, strict, g)?;
    let bytes = inject::reg_bytes(&root, &items, out)?;
    if out.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout().lock().write_all(&bytes)?;
        return Ok(Status::Success);
    }
    inject::write_reg(out, &bytes)?;
    let key_of = |i: &Item| {
        format!(
            "{root}\\{}",
            store::cert_key(Location::System, i.store, &i.thumbprint)
        )
    };
    if json {
        output::print_json(&RegDoc {
            written: out.display().to_string(),
            keys: items
                .iter()
                .map(|i| RegKeyDoc {
                    key: key_of(i),
                    store: i.store.key_name().into(),
                    thumbprint: i.thumbprint.clone(),
                    subject: i.info.subject.clone(),
                    source: i.origin.clone(),
                    profile: i.profile.into(),
                    warnings: i.warnings.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        })?;
        return Ok(Status::Success);
    }
    for i in &items {
        output::line(format!(
            "{} {}: [{}]",
            i.thumbprint,
            i.info.short_name(),
            key_of(i)
        ))?;
    }
    if !g.quiet {
        eprintln!(
            "wrote {} ({} key(s); import it with regedit into the hive loaded as {})",
            out.display(),
            items.len(),
            root.rsplit('\\').next().unwrap_or_default()
        );
    }
    Ok(Status::Success)
}
