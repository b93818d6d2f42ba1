//! `ts import`, `ts build` and `ts package` as plans: plain data the CLI resolves from its flags
//! (or any program builds), executed here. Each writes next to its target and renames, then
//! reads what it wrote back before reporting success.

use std::path::{Path, PathBuf};

use super::deploy::Deployment;
use super::lint::{self, Report};
use super::package::{self, Written};
use super::source::{self, Loaded};
use super::{Error, Result, author};

/// Everything `ts import` needs: a task sequence XML (any form) into the TOML authoring format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportPlan {
    /// The XML, object.xml or ZIP to import.
    pub input: PathBuf,
    /// The TOML to write.
    pub output: PathBuf,
}

/// Everything `ts build` needs: a task sequence (TOML or XML) into ConfigMgr XML.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildPlan {
    /// The TOML or XML to build.
    pub input: PathBuf,
    /// The XML to write.
    pub output: PathBuf,
}

/// Everything `ts package` needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackagePlan {
    /// The TOML, XML or ZIP to package.
    pub input: PathBuf,
    /// The deployment settings (deploy.toml).
    pub deployment: PathBuf,
    /// Output directory, or a path ending in `.zip`.
    pub output: PathBuf,
    /// Package even when lint finds errors.
    #[serde(default)]
    pub allow_lint_errors: bool,
}

/// What `ts import` or `ts build` wrote.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The sequence read from the input.
    pub loaded: Loaded,
    /// SHA-256 of the file written.
    pub sha256: String,
}

/// What `ts package` wrote, with the lint report packaged.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The files written.
    pub written: Written,
    /// The lint report.
    pub report: Report,
}

/// Refuses an output that is the input itself.
fn refuse_same(input: &Path, output: &Path) -> Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::SameFile {
            path: output.into(),
        });
    }
    Ok(())
}

fn write(output: &Path, text: &str) -> Result<()> {
    crate::fsutil::write_atomic(output, text.as_bytes()).map_err(|source| Error::Write {
        path: output.into(),
        source,
    })?;
    Ok(())
}

/// Imports a task sequence into TOML; the TOML must rebuild the same sequence before it is
/// written, and is read back after.
pub fn import(plan: &ImportPlan) -> Result<Converted> {
    let (input, output) = (plan.input.as_path(), plan.output.as_path());
    refuse_same(input, output)?;
    let l = source::load_xml(input)?;
    author::check_depth(&l.sequence, input)?;
    let doc = author::from_model(&l.sequence, &l.package);
    let text = author::to_toml(&doc).map_err(|e| Error::Render {
        message: e.to_string(),
    })?;
    let (back, _) = author::build(&text, output)?;
    if !super::xml::equivalent(&back.to_element(), &l.sequence.to_element()) {
        return Err(Error::Check {
            message: format!(
                "internal check failed: the TOML does not rebuild {}",
                input.display()
            ),
        });
    }
    write(output, &text)?;
    let sha256 = crate::fsutil::sha256_file(output).map_err(Error::File)?;
    let on_disk = fs_err::read_to_string(output).map_err(Error::File)?;
    if on_disk != text {
        return Err(read_back(output));
    }
    Ok(Converted { loaded: l, sha256 })
}

fn read_back(output: &Path) -> Error {
    Error::Check {
        message: format!("{}: read-back mismatch", output.display()),
    }
}

/// Builds ConfigMgr XML; what was written must parse back to the same model.
pub fn build(plan: &BuildPlan) -> Result<Converted> {
    let (input, output) = (plan.input.as_path(), plan.output.as_path());
    refuse_same(input, output)?;
    let l = source::load_any(input)?;
    write(output, &l.sequence.to_xml())?;
    let back = source::load_xml(output)?;
    if !super::xml::equivalent(&back.sequence.to_element(), &l.sequence.to_element()) {
        return Err(read_back(output));
    }
    let sha256 = crate::fsutil::sha256_file(output).map_err(Error::File)?;
    Ok(Converted { loaded: l, sha256 })
}

/// Lints the sequence with its deployment and, unless lint finds errors (or they are allowed),
/// writes the package and verifies it ([`package::write`]).
pub fn package(plan: &PackagePlan) -> Result<Packaged> {
    let input = plan.input.as_path();
    let l = source::load_any(input)?;
    let dep = Deployment::load(&plan.deployment)?;
    let report = lint::lint(
        &l.sequence,
        &l.package,
        Some(&dep),
        &input.display().to_string(),
    );
    if report.errors > 0 && !plan.allow_lint_errors {
        let first = report
            .findings
            .iter()
            .find(|f| f.severity == lint::Severity::Error)
            .map(|f| format!("{} {}: {}", f.rule, f.location, f.message))
            .unwrap_or_default();
        return Err(Error::LintErrors {
            path: input.into(),
            errors: report.errors,
            first,
        });
    }
    let fallback = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Task sequence".into());
    let written = package::write(&l, &dep, &report, &plan.output, &fallback)?;
    Ok(Packaged { written, report })
}
