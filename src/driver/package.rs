//! A driver package: one INF and the files next to it, and what WinPE needs of it.
//!
//! The meaning of the sections follows `shared/specs/winpe-customize.md` §8.2 (`[Version]`,
//! `[Manufacturer]` with TargetOSVersion decorations, models sections, `[SourceDisksNames]` and
//! `[SourceDisksFiles]` with their platform decorations) and the verdicts of §8.3.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::inf::{Encoding, Inf, Strings};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The package cannot be used as it is (peforge refuses to stage it).
    Error,
    /// Usable, but something the user should know.
    Warning,
}

/// One finding about a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code (`DRV001` ...).
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
}

fn finding(code: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
    Finding {
        code,
        severity,
        message: message.into(),
    }
}

/// A `CatalogFile` entry of `[Version]`.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// The key as written (`CatalogFile`, `CatalogFile.NTamd64`, ...).
    pub key: String,
    /// The file name.
    pub file: String,
    /// Whether the file is next to the INF.
    pub present: bool,
}

/// A models section a `[Manufacturer]` line names.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSection {
    /// The section name (models name plus decoration).
    pub name: String,
    /// The decoration (`NTamd64.10.0...16299`), empty for the undecorated section.
    pub decoration: String,
    /// Architecture of the decoration (`x86`, `amd64`, `arm`, `arm64`, `ia64`, `$ARCH$`).
    pub arch: String,
    /// Whether the section exists in the INF.
    pub exists: bool,
    /// Model lines.
    pub lines: usize,
    /// Unique IDs on its lines.
    pub ids: usize,
    /// Model lines without any ID.
    pub lines_without_ids: usize,
}

/// One `[Manufacturer]` line.
#[derive(Debug, Clone, Serialize)]
pub struct Manufacturer {
    /// The manufacturer name (substituted).
    pub name: String,
    /// The models section name.
    pub models: String,
    /// The TargetOSVersion decorations, as written.
    pub decorations: Vec<String>,
    /// The models sections these name.
    pub sections: Vec<ModelSection>,
}

/// A file the package needs (from `[SourceDisksFiles]`).
#[derive(Debug, Clone, Serialize)]
pub struct NeededFile {
    /// File name as listed.
    pub name: String,
    /// Path relative to the INF's folder (`/` separated), from the disk path and subdir.
    pub path: String,
    /// Whether it exists (case-insensitively, as on Windows).
    pub present: bool,
    /// The architectures that need it (empty when the INF names none).
    pub architectures: Vec<String>,
}

/// A driver package read from disk.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    /// The INF file.
    pub inf: PathBuf,
    /// The package folder (the INF's folder).
    pub dir: PathBuf,
    /// Bytes of the INF.
    pub inf_bytes: u64,
    /// Text encoding found.
    pub encoding: Encoding,
    /// `[Version] Signature`.
    pub signature: Option<String>,
    /// `Class`.
    pub class: Option<String>,
    /// `ClassGuid`.
    pub class_guid: Option<String>,
    /// `Provider` (substituted).
    pub provider: Option<String>,
    /// `DriverVer` fields joined with `,`.
    pub driver_ver: Option<String>,
    /// The DriverVer date as `yyyy-mm-dd`.
    pub date: Option<String>,
    /// The DriverVer version.
    pub version: Option<String>,
    /// Every `CatalogFile` entry.
    pub catalogs: Vec<Catalog>,
    /// Architectures the `[Manufacturer]` decorations name (sorted: x86, amd64, arm, arm64,
    /// ia64, then others).
    pub architectures: Vec<String>,
    /// Whether some manufacturer has no decoration (usable by x86 only).
    pub undecorated_models: bool,
    /// `[Manufacturer]` lines.
    pub manufacturers: Vec<Manufacturer>,
    /// Unique hardware and compatible IDs (case-insensitive), in order of appearance.
    pub hardware_ids: Vec<String>,
    /// Files the package needs.
    pub files: Vec<NeededFile>,
    /// Build placeholders left in the file (`$ARCH$`, `INX_...`, `$KMDFVERSION$`).
    pub template_markers: Vec<String>,
    /// `%strkey%` tokens with no `[Strings]` value.
    pub undefined_strings: Vec<String>,
    /// Localized string sections (`0407`, ...).
    pub localized_strings: Vec<String>,
    /// Physical lines with a quote left open.
    pub unterminated_quotes: Vec<usize>,
    /// Lines continued with `\`.
    pub continuations: usize,
    /// Findings.
    pub findings: Vec<Finding>,
}

/// The architecture names of INF decorations, in report order.
const ARCHES: [&str; 5] = ["x86", "amd64", "arm", "arm64", "ia64"];

/// Setup classes WinPE has no run-time stack for [inference: WinPE has no print spooler, audio,
/// camera or Bluetooth service; extension and software-component INFs only add to a base
/// driver].
const WINPE_UNUSABLE_CLASSES: [&str; 12] = [
    "Printer",
    "PrintQueue",
    "Extension",
    "SoftwareComponent",
    "MEDIA",
    "AudioEndpoint",
    "Camera",
    "Image",
    "Bluetooth",
    "Biometric",
    "Sensor",
    "WPD",
];

/// A TargetOSVersion decoration, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoration {
    /// Architecture (`x86` for plain `NT`), or the raw text when unknown.
    pub arch: String,
    /// Major, minor and build, when given.
    pub major: Option<u32>,
    /// Minor version.
    pub minor: Option<u32>,
    /// ProductType field, when given.
    pub product_type: Option<String>,
    /// Build number (Windows 10 1607 and later).
    pub build: Option<u32>,
}

/// Parses `nt[Arch][.Major[.Minor[.ProductType[.SuiteMask[.Build]]]]]`; `None` when it does not
/// start with `NT`.
pub fn parse_decoration(d: &str) -> Option<Decoration> {
    let mut parts = d.split('.');
    let head = parts.next()?;
    let rest = head.get(..2).filter(|p| p.eq_ignore_ascii_case("nt"))?;
    let _ = rest;
    let arch_raw = head.get(2..).unwrap_or_default();
    let arch = if arch_raw.is_empty() {
        "x86".to_string()
    } else {
        ARCHES
            .iter()
            .find(|a| a.eq_ignore_ascii_case(arch_raw))
            .map_or_else(|| arch_raw.to_string(), |a| (*a).to_string())
    };
    let num = |s: Option<&str>| s.and_then(|s| s.trim().parse::<u32>().ok());
    let major = parts.next();
    let minor = parts.next();
    let product = parts.next();
    let _suite = parts.next();
    let build = parts.next();
    Some(Decoration {
        arch,
        major: num(major),
        minor: num(minor),
        product_type: product.filter(|p| !p.trim().is_empty()).map(str::to_string),
        build: num(build),
    })
}

/// The Windows version a package is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Target {
    /// Major version (10 for Windows 10/11 WinPE).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Build number.
    pub build: u32,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            major: 10,
            minor: 0,
            build: 26100,
        }
    }
}

impl Target {
    /// Parses a WIM `WINDOWS/VERSION`-style `major.minor.build`; `None` when malformed.
    pub fn parse(s: &str) -> Option<Target> {
        let mut p = s.split('.').map(|x| x.trim().parse::<u32>().ok());
        Some(Target {
            major: p.next()??,
            minor: p.next().flatten().unwrap_or(0),
            build: p.next().flatten().unwrap_or(0),
        })
    }
}

/// The INF architecture name of a WIM architecture (`x64` → `amd64`).
pub fn inf_arch(wim_arch: &str) -> &str {
    match wim_arch {
        "x64" | "amd64" => "amd64",
        "x86" | "i386" => "x86",
        "arm64" => "arm64",
        "arm" => "arm",
        "ia64" => "ia64",
        other => other,
    }
}

fn is_template_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
}

/// Build placeholders in the text, comments included: `$NAME$` (stampinf, KMDF) and `INX_...`
/// words (a placeholder glued to a CamelCase word, `INX_PREFIX_VENDORVirtIO`, ends before it).
fn template_markers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |m: String| {
        if !out.contains(&m) {
            out.push(m);
        }
    };
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let after = rest.get(i + 1..).unwrap_or_default();
        match after.find('$') {
            Some(j) => {
                let word = after.get(..j).unwrap_or_default();
                if !word.is_empty() && word.chars().all(is_template_char) {
                    push(format!("${word}$"));
                    rest = after.get(j + 1..).unwrap_or_default();
                } else {
                    rest = after;
                }
            }
            None => break,
        }
    }
    let mut rest = text;
    while let Some(i) = rest.find("INX_") {
        let after = rest.get(i..).unwrap_or_default();
        let mut end = after
            .find(|c: char| !is_template_char(c))
            .unwrap_or(after.len());
        if after
            .get(end..)
            .and_then(|t| t.chars().next())
            .is_some_and(|c| c.is_ascii_lowercase())
        {
            end = end.saturating_sub(1);
        }
        push(after.get(..end).unwrap_or_default().to_string());
        rest = after.get(end.max(4)..).unwrap_or_default();
    }
    out.sort();
    out
}

/// Resolves `rel` (`/` or `\` separated) under `dir` case-insensitively, as Windows would.
pub fn find_ci(dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut cur = dir.to_path_buf();
    for part in rel
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
    {
        let exact = cur.join(part);
        if exact.exists() {
            cur = exact;
            continue;
        }
        let found = std::fs::read_dir(&cur).ok()?.flatten().find(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(part))
        })?;
        cur = found.path();
    }
    Some(cur)
}

fn first(values: Option<&[String]>) -> Option<&str> {
    values.and_then(|v| v.first()).map(String::as_str)
}

fn parse_driver_ver(v: &str) -> (Option<String>, Option<String>) {
    let mut f = v.split(',').map(str::trim);
    let date = f.next().and_then(|d| {
        let mut p = d.split('/');
        let (m, dd, y) = (p.next()?, p.next()?, p.next()?);
        let (m, dd, y) = (
            m.parse::<u32>().ok()?,
            dd.parse::<u32>().ok()?,
            y.parse::<u32>().ok()?,
        );
        ((1..=12).contains(&m) && (1..=31).contains(&dd) && y >= 1980)
            .then(|| format!("{y:04}-{m:02}-{dd:02}"))
    });
    let version = f.next().filter(|s| !s.is_empty()).map(str::to_string);
    (date, version)
}

/// The `CatalogFile*` entries of `[Version]` (values through `sub`), and whether each file is
/// in package folder `dir`.
fn catalogs(
    version: &super::inf::Section,
    dir: &Path,
    sub: &mut dyn FnMut(&str) -> String,
) -> Vec<Catalog> {
    let mut catalogs = Vec::new();
    for l in &version.lines {
        let Some(k) = &l.key else { continue };
        let lower = k.to_ascii_lowercase();
        if lower == "catalogfile" || lower.starts_with("catalogfile.") {
            let file = sub(l.values.first().map_or("", String::as_str));
            if file.is_empty() {
                continue;
            }
            let present = find_ci(dir, &file).is_some();
            catalogs.push(Catalog {
                key: k.clone(),
                file,
                present,
            });
        }
    }
    catalogs
}

/// The architectures the models sections cover (in [`ARCHES`] order), and whether a
/// manufacturer has undecorated models.
fn architectures(manufacturers: &[Manufacturer]) -> (Vec<String>, bool) {
    let mut architectures: Vec<String> = Vec::new();
    let mut undecorated_models = false;
    for m in manufacturers {
        if m.decorations.is_empty() {
            undecorated_models = true;
        }
        for s in &m.sections {
            if !architectures.contains(&s.arch) {
                architectures.push(s.arch.clone());
            }
        }
    }
    architectures.sort_by_key(|a| {
        (
            ARCHES.iter().position(|x| x == a).unwrap_or(ARCHES.len()),
            a.clone(),
        )
    });
    (architectures, undecorated_models)
}

impl Package {
    /// Reads the package of one INF file (its folder is the package folder).
    pub fn read(inf_path: &Path) -> Result<Package, super::Error> {
        let bytes = std::fs::read(inf_path).map_err(|source| super::Error::Io {
            path: inf_path.into(),
            source,
        })?;
        let inf = Inf::parse(&bytes).map_err(|source| super::Error::Malformed {
            path: inf_path.into(),
            source,
        })?;
        let dir = inf_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let Some(version) = inf.section("Version") else {
            return Err(super::Error::NoVersion {
                path: inf_path.into(),
            });
        };
        let strings = inf.strings(None);
        let mut undefined = Vec::new();
        let mut sub = |s: &str| strings.subst_collect(s, &mut undefined);
        let get = |key: &str| first(version.get(key)).map(str::to_string);
        let signature = get("Signature");
        let class = get("Class").map(|c| sub(&c));
        let class_guid = get("ClassGuid").map(|c| sub(&c));
        let provider = get("Provider").map(|c| sub(&c));
        let driver_ver = version.get("DriverVer").map(|v| {
            v.iter()
                .map(|x| sub(x))
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(",")
        });
        let (date, ver) = driver_ver
            .as_deref()
            .map(parse_driver_ver)
            .unwrap_or_default();
        let catalogs = catalogs(version, &dir, &mut sub);
        let (manufacturers, hardware_ids) = read_manufacturers(&inf, &strings, &mut undefined);
        let (architectures, undecorated_models) = architectures(&manufacturers);
        let files = needed_files(&inf, &dir, &architectures);
        let template_markers = super::inf::decode(&bytes)
            .map(|(t, _)| template_markers(&t))
            .unwrap_or_default();
        undefined.sort_by_key(|s| s.to_lowercase());
        undefined.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let mut p = Package {
            inf: inf_path.into(),
            dir,
            inf_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            encoding: inf.encoding,
            signature,
            class,
            class_guid,
            provider,
            driver_ver,
            date,
            version: ver,
            catalogs,
            architectures,
            undecorated_models,
            manufacturers,
            hardware_ids,
            files,
            template_markers,
            undefined_strings: undefined,
            localized_strings: inf.localized_string_sections(),
            unterminated_quotes: inf.unterminated_quotes.clone(),
            continuations: inf.continuations,
            findings: Vec::new(),
        };
        p.findings = p.general_findings(&inf);
        Ok(p)
    }

    /// The package's display name: the INF file name.
    pub fn name(&self) -> String {
        self.inf
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The catalog that applies to `arch` (INF name): `CatalogFile.NT<arch>`, then
    /// `CatalogFile.NT`, then `CatalogFile`.
    pub fn catalog_for(&self, arch: &str) -> Option<&Catalog> {
        let want = format!("catalogfile.nt{arch}");
        let by = |k: &str| self.catalogs.iter().find(|c| c.key.eq_ignore_ascii_case(k));
        by(&want)
            .or_else(|| by("catalogfile.nt"))
            .or_else(|| by("catalogfile"))
    }

    /// The models sections an `arch` WinPE of version `target` would take, one per manufacturer
    /// (the applicable decoration with the highest version; x86 also takes undecorated ones).
    pub fn target_sections(&self, arch: &str, target: Target) -> Vec<&ModelSection> {
        let mut out = Vec::new();
        for m in &self.manufacturers {
            let mut best: Option<(&ModelSection, (u32, u32, u32))> = None;
            for s in &m.sections {
                if s.decoration.is_empty() {
                    continue;
                }
                let Some(d) = parse_decoration(&s.decoration) else {
                    continue;
                };
                if d.arch != arch {
                    continue;
                }
                let v = (
                    d.major.unwrap_or(0),
                    d.minor.unwrap_or(0),
                    d.build.unwrap_or(0),
                );
                if v > (target.major, target.minor, target.build) {
                    continue;
                }
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((s, v));
                }
            }
            match best {
                Some((s, _)) => out.push(s),
                None if arch == "x86" && m.decorations.is_empty() => {
                    out.extend(m.sections.first());
                }
                None => {}
            }
        }
        out
    }

    /// Findings that do not depend on the image.
    fn general_findings(&self, inf: &Inf) -> Vec<Finding> {
        let mut f = Vec::new();
        self.version_findings(&mut f);
        self.file_findings(&mut f);
        self.model_findings(&mut f);
        self.content_findings(inf, &mut f);
        f
    }

    /// `[Version]` findings: the signature and the keys a PnP driver needs (DRV001, DRV008).
    fn version_findings(&self, f: &mut Vec<Finding>) {
        use Severity::Error;
        match &self.signature {
            Some(s)
                if s.eq_ignore_ascii_case("$Windows NT$")
                    || s.eq_ignore_ascii_case("$Chicago$") => {}
            Some(s) => f.push(finding(
                "DRV001",
                Error,
                format!("Signature is {s:?}, not \"$Windows NT$\": not a Windows driver INF"),
            )),
            None => f.push(finding(
                "DRV001",
                Error,
                "[Version] has no Signature: not a Windows driver INF",
            )),
        }
        let missing: Vec<&str> = [
            ("Class", self.class.is_none()),
            ("ClassGuid", self.class_guid.is_none()),
            ("Provider", self.provider.is_none()),
            ("DriverVer", self.driver_ver.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(k, _)| *k)
        .collect();
        if !missing.is_empty() {
            f.push(finding(
                "DRV008",
                Error,
                format!(
                    "[Version] lacks {} (required for a PnP driver)",
                    missing.join(", ")
                ),
            ));
        }
    }

    /// Catalog and source file findings (DRV002-DRV004).
    fn file_findings(&self, f: &mut Vec<Finding>) {
        use Severity::{Error, Warning};
        if self.catalogs.is_empty() {
            f.push(finding(
                "DRV002",
                Warning,
                "no CatalogFile: the package is unsigned (x64 and arm64 WinPE do not load it \
                 without test signing)",
            ));
        }
        for c in self.catalogs.iter().filter(|c| !c.present) {
            f.push(finding(
                "DRV003",
                Error,
                format!("{} names {} but it is not next to the INF", c.key, c.file),
            ));
        }
        for n in self.files.iter().filter(|n| !n.present) {
            f.push(finding(
                "DRV004",
                Error,
                format!(
                    "[SourceDisksFiles] needs {} but it is not in the package",
                    n.path
                ),
            ));
        }
    }

    /// Manufacturer and models findings (DRV005, DRV009).
    fn model_findings(&self, f: &mut Vec<Finding>) {
        use Severity::Error;
        if self.manufacturers.is_empty() {
            f.push(finding(
                "DRV005",
                Error,
                "no [Manufacturer] section: not a Plug and Play package drvload can install",
            ));
        } else if self
            .manufacturers
            .iter()
            .all(|m| m.sections.iter().all(|s| s.lines == 0))
        {
            f.push(finding(
                "DRV005",
                Error,
                "no models section with a device for any architecture",
            ));
        }
        let lines_without: usize = self
            .manufacturers
            .iter()
            .flat_map(|m| &m.sections)
            .map(|s| s.lines_without_ids)
            .sum();
        if lines_without > 0 {
            f.push(finding(
                "DRV009",
                Error,
                format!("{lines_without} model line(s) without a hardware ID"),
            ));
        }
    }

    /// Findings about the file's content: placeholders, class, encoding, quotes, reboots (DRV006, DRV007, DRV010-DRV012).
    fn content_findings(&self, inf: &Inf, f: &mut Vec<Finding>) {
        use Severity::{Error, Warning};
        if !self.template_markers.is_empty() {
            f.push(finding(
                "DRV006",
                Error,
                format!(
                    "build placeholders left in the file ({}): this is a source template, use \
                     the built package",
                    self.template_markers.join(", ")
                ),
            ));
        }
        if let Some(c) = &self.class
            && WINPE_UNUSABLE_CLASSES
                .iter()
                .any(|u| u.eq_ignore_ascii_case(c))
        {
            f.push(finding(
                "DRV007",
                Warning,
                format!("class {c} has no run-time support in WinPE [inference]"),
            ));
        }
        match self.encoding {
            Encoding::Utf8 => f.push(finding(
                "DRV011",
                Warning,
                "UTF-8 without a BOM: Windows reads it in the ANSI code page; non-ASCII text may \
                 show wrongly (save it as UTF-16LE)",
            )),
            Encoding::Utf8Bom => f.push(finding(
                "DRV011",
                Warning,
                "UTF-8 with a BOM: Windows support is not documented [unknown]",
            )),
            _ => {}
        }
        if !self.unterminated_quotes.is_empty() {
            f.push(finding(
                "DRV012",
                Warning,
                format!(
                    "quote not closed on line(s) {}",
                    self.unterminated_quotes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if needs_reboot(inf, &self.manufacturers) {
            f.push(finding(
                "DRV010",
                Warning,
                "an install section asks for a reboot: drvload ignores it, and a driver whose \
                 .sys needs a reboot cannot be loaded by drvload",
            ));
        }
    }

    /// Why this package cannot be staged into an `arch` (INF name) WinPE of `target`: the
    /// general errors plus an architecture with no models section and a missing catalog for it.
    pub fn refusal(&self, arch: &str, target: Target, allow_unsigned: bool) -> Option<String> {
        if let Some(e) = self
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error && f.code != "DRV005")
        {
            return Some(e.message.clone());
        }
        let sections = self.target_sections(arch, target);
        if sections.iter().all(|s| s.lines == 0) {
            let supported = if self.architectures.is_empty() {
                "none".to_string()
            } else {
                self.architectures.join(", ")
            };
            return Some(format!(
                "no models section for {arch} {}.{}.{} (the package supports: {supported})",
                target.major, target.minor, target.build
            ));
        }
        if self.catalog_for(arch).is_none() && !allow_unsigned {
            return Some(format!(
                "no CatalogFile for {arch}: the package is unsigned (give --allow-unsigned for a \
                 test-signing WinPE)"
            ));
        }
        None
    }
}

fn needs_reboot(inf: &Inf, manufacturers: &[Manufacturer]) -> bool {
    let mut installs: Vec<String> = Vec::new();
    for m in manufacturers {
        for s in &m.sections {
            if let Some(sec) = inf.section(&s.name) {
                for l in &sec.lines {
                    if let Some(i) = l.values.first()
                        && !installs.iter().any(|x| x.eq_ignore_ascii_case(i))
                    {
                        installs.push(i.clone());
                    }
                }
            }
        }
    }
    inf.sections.iter().any(|s| {
        installs.iter().any(|i| {
            let n = s.name.to_ascii_lowercase();
            let i = i.to_ascii_lowercase();
            n == i || n.starts_with(&format!("{i}.nt"))
        }) && s.lines.iter().any(|l| {
            l.key.is_none()
                && l.values.len() == 1
                && l.values.first().is_some_and(|v| {
                    v.eq_ignore_ascii_case("reboot") || v.eq_ignore_ascii_case("restart")
                })
                || l.key.as_deref().is_some_and(|k| {
                    k.eq_ignore_ascii_case("reboot") || k.eq_ignore_ascii_case("restart")
                })
        })
    })
}

fn read_manufacturers(
    inf: &Inf,
    strings: &Strings,
    undefined: &mut Vec<String>,
) -> (Vec<Manufacturer>, Vec<String>) {
    let mut out = Vec::new();
    let mut all_ids: Vec<String> = Vec::new();
    let Some(mfg) = inf.section("Manufacturer") else {
        return (out, all_ids);
    };
    for l in &mfg.lines {
        let name = strings.subst_collect(l.key.as_deref().unwrap_or_default(), undefined);
        let models = strings.subst_collect(l.values.first().map_or("", String::as_str), undefined);
        if models.is_empty() {
            continue;
        }
        let decorations: Vec<String> = l
            .values
            .iter()
            .skip(1)
            .filter(|d| !d.is_empty())
            .cloned()
            .collect();
        let names: Vec<(String, String)> = if decorations.is_empty() {
            vec![(models.clone(), String::new())]
        } else {
            decorations
                .iter()
                .map(|d| (format!("{models}.{d}"), d.clone()))
                .collect()
        };
        let mut sections = Vec::new();
        for (sname, decoration) in names {
            let arch = if decoration.is_empty() {
                "x86".to_string()
            } else {
                parse_decoration(&decoration).map_or_else(|| decoration.clone(), |d| d.arch)
            };
            let sec = inf.section(&sname);
            let mut ids: Vec<String> = Vec::new();
            let mut lines = 0;
            let mut lines_without_ids = 0;
            for ml in sec.map(|s| s.lines.as_slice()).unwrap_or_default() {
                lines += 1;
                let line_ids: Vec<String> = ml
                    .values
                    .iter()
                    .skip(1)
                    .map(|v| strings.subst_collect(v, undefined))
                    .filter(|v| !v.is_empty())
                    .collect();
                if line_ids.is_empty() {
                    lines_without_ids += 1;
                }
                for id in line_ids {
                    if !ids.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
                        ids.push(id.clone());
                    }
                    if !all_ids.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
                        all_ids.push(id);
                    }
                }
            }
            sections.push(ModelSection {
                name: sec.map_or(sname, |s| s.name.clone()),
                decoration,
                arch,
                exists: sec.is_some(),
                lines,
                ids: ids.len(),
                lines_without_ids,
            });
        }
        out.push(Manufacturer {
            name,
            models,
            decorations,
            sections,
        });
    }
    (out, all_ids)
}

/// Files of `[SourceDisksFiles]` (undecorated, overridden by `.<arch>` per architecture).
fn needed_files(inf: &Inf, dir: &Path, archs: &[String]) -> Vec<NeededFile> {
    let mut out: Vec<NeededFile> = Vec::new();
    let known: Vec<&String> = archs
        .iter()
        .filter(|a| ARCHES.contains(&a.as_str()))
        .collect();
    let passes: Vec<Option<&str>> = if known.is_empty() {
        vec![None]
    } else {
        known.iter().map(|a| Some(a.as_str())).collect()
    };
    for arch in passes {
        let sec = |base: &str| {
            arch.and_then(|a| inf.section(&format!("{base}.{a}")))
                .into_iter()
                .chain(inf.section(base))
                .collect::<Vec<_>>()
        };
        let disks = sec("SourceDisksNames");
        let disk_path = |id: &str| -> String {
            disks
                .iter()
                .flat_map(|s| &s.lines)
                .find(|l| l.key.as_deref().is_some_and(|k| k.trim() == id.trim()))
                .and_then(|l| l.values.get(3))
                .cloned()
                .unwrap_or_default()
        };
        let mut seen: Vec<String> = Vec::new();
        for s in sec("SourceDisksFiles") {
            for l in &s.lines {
                let Some(name) = l.key.clone().or_else(|| l.values.first().cloned()) else {
                    continue;
                };
                if name.is_empty() || seen.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
                    continue;
                }
                seen.push(name.clone());
                let (disk, subdir) = if l.key.is_some() {
                    (
                        l.values.first().cloned().unwrap_or_default(),
                        l.values.get(1).cloned().unwrap_or_default(),
                    )
                } else {
                    (String::new(), String::new())
                };
                let path: String = [disk_path(&disk), subdir, name.clone()]
                    .iter()
                    .flat_map(|p| p.split(['\\', '/']))
                    .filter(|p| !p.is_empty() && *p != ".")
                    .collect::<Vec<_>>()
                    .join("/");
                let a = arch.map(str::to_string);
                match out.iter_mut().find(|f| f.path.eq_ignore_ascii_case(&path)) {
                    Some(f) => f.architectures.extend(a),
                    None => out.push(NeededFile {
                        present: find_ci(dir, &path).is_some_and(|p| p.is_file()),
                        name,
                        path,
                        architectures: a.into_iter().collect(),
                    }),
                }
            }
        }
    }
    out
}

/// Every INF under `path` (a folder, searched recursively, or one INF/INX file), sorted.
pub fn find_infs(path: &Path) -> Result<Vec<PathBuf>, super::Error> {
    let meta = std::fs::metadata(path).map_err(|source| super::Error::Io {
        path: path.into(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![path.into()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|source| super::Error::Io {
            path: d.clone(),
            source,
        })?;
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("inf"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(super::Error::NoInf { path: path.into() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorations() {
        let d = parse_decoration("NTamd64.10.0...16299").unwrap();
        assert_eq!(d.arch, "amd64");
        assert_eq!(
            (d.major, d.minor, d.build),
            (Some(10), Some(0), Some(16299))
        );
        assert_eq!(parse_decoration("NTARM64").unwrap().arch, "arm64");
        assert_eq!(parse_decoration("NT").unwrap().arch, "x86");
        assert_eq!(parse_decoration("NT$ARCH$").unwrap().arch, "$ARCH$");
        assert!(parse_decoration("Win").is_none());
        assert_eq!(
            parse_driver_ver("12/08/2016, 1.5.1200.00"),
            (Some("2016-12-08".into()), Some("1.5.1200.00".into()))
        );
    }
}
