//! `peforge driver inspect`: what a driver package is and whether WinPE can load it.

use std::path::PathBuf;

use serde::Serialize;

use super::{Global, Status, output};
use crate::driver::package::{Target, inf_arch};
use crate::driver::{self, Package, Severity};

/// Commands on driver packages.
#[derive(Debug, clap::Subcommand)]
pub enum DriverCmd {
    /// Read every INF package under the given folders (recursively) or files: class, provider,
    /// version, catalog, architectures, hardware IDs, needed files, and findings.
    #[command(
        after_help = "Exit status: 0 no errors, 1 some package has an error finding, \
                            2 a path or INF cannot be read.\n\nExample:\n  peforge driver \
                            inspect ./Drivers/Intel-LAN --arch x64"
    )]
    Inspect {
        /// Driver package folders or INF files.
        #[arg(required = true, value_name = "DIR|INF")]
        paths: Vec<PathBuf>,
        /// Also judge each package for a WinPE of this architecture (x64, x86, arm64).
        #[arg(long)]
        arch: Option<String>,
        /// Windows version of that WinPE (major.minor.build).
        #[arg(long, default_value = "10.0.26100", requires = "arch")]
        os_version: String,
        /// Print one JSON document (schemas/driver-inspect.schema.json).
        #[arg(long)]
        json: bool,
    },
}

/// What an image of `arch` would do with a package.
#[derive(Debug, Serialize)]
struct Verdict {
    arch: String,
    os_version: String,
    sections: Vec<String>,
    catalog: Option<String>,
    refused: Option<String>,
}

#[derive(Serialize)]
struct PackageDoc<'a> {
    #[serde(flatten)]
    package: &'a Package,
    winpe: Option<Verdict>,
}

#[derive(Serialize)]
struct InspectDoc<'a> {
    packages: Vec<PackageDoc<'a>>,
    findings: &'a [driver::Finding],
    errors: usize,
    warnings: usize,
}

pub fn run(cmd: DriverCmd, _g: &Global) -> anyhow::Result<Status> {
    let DriverCmd::Inspect {
        paths,
        arch,
        os_version,
        json,
    } = cmd;
    let target = Target::parse(&os_version).ok_or_else(|| {
        super::report::hinted(
            format!("--os-version {os_version}: not a Windows version"),
            "write it as major.minor.build, e.g. 10.0.26100",
        )
    })?;
    let ins = driver::inspect(&paths)?;
    let verdict = |p: &Package| {
        arch.as_deref().map(|a| {
            let a = inf_arch(a);
            Verdict {
                arch: a.to_string(),
                os_version: os_version.clone(),
                sections: p
                    .target_sections(a, target)
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                catalog: p.catalog_for(a).map(|c| c.file.clone()),
                refused: p.refusal(a, target, false),
            }
        })
    };
    let all = ins
        .packages
        .iter()
        .flat_map(|p| &p.findings)
        .chain(&ins.findings);
    let errors = all
        .clone()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = all.filter(|f| f.severity == Severity::Warning).count();
    let doc = InspectDoc {
        packages: ins
            .packages
            .iter()
            .map(|p| PackageDoc {
                package: p,
                winpe: verdict(p),
            })
            .collect(),
        findings: &ins.findings,
        errors,
        warnings,
    };
    if json {
        output::print_json(&doc)?;
    } else {
        for d in &doc.packages {
            print_package(d)?;
        }
        for f in &ins.findings {
            output::line(format!("{} {}: {}", sev(f.severity), f.code, f.message))?;
        }
        output::line(format!(
            "{} package(s), {errors} error(s), {warnings} warning(s)",
            doc.packages.len()
        ))?;
    }
    Ok(if errors > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn print_package(d: &PackageDoc<'_>) -> anyhow::Result<()> {
    let p = d.package;
    let or = |o: &Option<String>| o.clone().unwrap_or_else(|| "(none)".into());
    output::line(format!("{}", p.inf.display()))?;
    output::line(format!(
        "  class {} {} · provider {} · DriverVer {}",
        or(&p.class),
        or(&p.class_guid),
        or(&p.provider),
        or(&p.driver_ver)
    ))?;
    if p.catalogs.is_empty() {
        output::line("  catalog: none (unsigned)")?;
    }
    for c in &p.catalogs {
        output::line(format!(
            "  catalog: {} = {} ({})",
            c.key,
            c.file,
            if c.present { "present" } else { "MISSING" }
        ))?;
    }
    let mut archs = p.architectures.join(", ");
    if p.undecorated_models {
        archs.push_str(" (undecorated)");
    }
    output::line(format!(
        "  architectures: {}",
        if archs.is_empty() { "none" } else { &archs }
    ))?;
    for m in &p.manufacturers {
        for s in &m.sections {
            output::line(format!(
                "  models [{}]: {} line(s), {} ID(s){}",
                s.name,
                s.lines,
                s.ids,
                if s.exists { "" } else { " (section missing)" }
            ))?;
        }
    }
    output::line(format!("  hardware IDs ({}):", p.hardware_ids.len()))?;
    for id in &p.hardware_ids {
        output::line(format!("    {id}"))?;
    }
    for f in &p.files {
        output::line(format!(
            "  file {} ({})",
            f.path,
            if f.present { "present" } else { "MISSING" }
        ))?;
    }
    if let Some(v) = &d.winpe {
        output::line(format!(
            "  WinPE {} {}: {}",
            v.arch,
            v.os_version,
            match &v.refused {
                Some(r) => format!("refused: {r}"),
                None => format!("loads [{}]", v.sections.join("], [")),
            }
        ))?;
    }
    for f in &p.findings {
        output::line(format!("  {} {}: {}", sev(f.severity), f.code, f.message))?;
    }
    Ok(())
}
