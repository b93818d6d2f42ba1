//! `peforge ts import|build|lint|package`: task sequences as code (`shared/specs/task-sequence.md`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Global, Status, output};
use crate::ts::{deploy, lint, plan, source};

/// Output format of `ts lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per finding, for people.
    Text,
    /// One JSON document with `schema_version`, findings sorted.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// Task sequence commands.
#[derive(Debug, clap::Subcommand)]
pub enum TsCmd {
    /// Import a task sequence (raw <sequence>, console export object.xml or .zip, MDT ts.xml)
    /// into the TOML authoring format. Nothing is dropped: unknown elements and attributes are
    /// kept verbatim.
    #[command(
        after_help = "Examples:\n  peforge ts import Export.zip -o reimage.toml\n  peforge ts import object.xml -o reimage.toml --json"
    )]
    Import {
        /// The XML or ZIP to read.
        input: PathBuf,
        /// The TOML file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Build the task sequence XML (<sequence version="3.10">, as the ConfigMgr SDK takes it)
    /// from TOML, or normalize an XML form into it.
    #[command(
        after_help = "Examples:\n  peforge ts build templates/ts/bare-metal-cmg.toml -o sequence.xml"
    )]
    Build {
        /// The TOML (or XML/ZIP) to read.
        input: PathBuf,
        /// The sequence XML to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Check a task sequence (and optionally its deployment) for running over the internet
    /// through a CMG. Exit 1 when a finding of severity error is found.
    #[command(
        after_help = "Rules are labelled documented (Microsoft docs) or inferred (peforge's reading).\nExamples:\n  peforge ts lint reimage.toml --deployment deploy.toml\n  peforge ts lint object.xml --format sarif > ts.sarif"
    )]
    Lint {
        /// The TOML, XML or ZIP to check.
        input: PathBuf,
        /// Deployment settings (deploy.toml) to check too.
        #[arg(long)]
        deployment: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Package a task sequence with its deployment: sequence.xml, deployment.json (with the
    /// computed SMS_Advertisement flags), Deploy.ps1, content.json, lint report, SHA256SUMS.
    #[command(
        after_help = "Refuses when lint finds errors unless --allow-lint-errors.\nExamples:\n  peforge ts package reimage.toml --deployment deploy.toml -o out/\n  peforge ts package reimage.toml --deployment deploy.toml -o reimage-pkg.zip"
    )]
    Package {
        /// The TOML, XML or ZIP to package.
        input: PathBuf,
        /// Deployment settings.
        #[arg(long)]
        deployment: PathBuf,
        /// Output directory, or a .zip file.
        #[arg(short, long)]
        output: PathBuf,
        /// Package even when lint finds errors.
        #[arg(long)]
        allow_lint_errors: bool,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `ts` command.
pub fn run(cmd: TsCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        TsCmd::Import {
            input,
            output,
            json,
        } => import(&input, &output, json, g),
        TsCmd::Build {
            input,
            output,
            json,
        } => build(&input, &output, json, g),
        TsCmd::Lint {
            input,
            deployment,
            format,
        } => lint_cmd(&input, deployment.as_deref(), format),
        TsCmd::Package {
            input,
            deployment,
            output,
            allow_lint_errors,
            json,
        } => package_cmd(&input, &deployment, &output, allow_lint_errors, json, g),
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    input: String,
    form: source::Form,
    output: String,
    steps: usize,
    groups: usize,
    /// Elements kept verbatim (not typed by peforge, written back unchanged).
    kept_verbatim: usize,
    sha256: &'a str,
}

impl<'a> Summary<'a> {
    fn of(input: &Path, output: &Path, l: &source::Loaded, sha256: &'a str) -> Summary<'a> {
        Summary {
            input: input.display().to_string(),
            form: l.form,
            output: output.display().to_string(),
            steps: l.sequence.steps().count(),
            groups: count_groups(&l.sequence),
            kept_verbatim: l.sequence.verbatim_count(),
            sha256,
        }
    }
}

fn count_groups(seq: &crate::ts::model::Sequence) -> usize {
    fn go(items: &[crate::ts::model::Item]) -> usize {
        items
            .iter()
            .map(|i| match i {
                crate::ts::model::Item::Group(g) => 1 + go(&g.items),
                _ => 0,
            })
            .sum()
    }
    go(&seq.items)
}

fn import(input: &Path, output: &Path, json: bool, g: &Global) -> anyhow::Result<Status> {
    let plan = plan::ImportPlan {
        input: input.into(),
        output: output.into(),
    };
    let done = plan::import(&plan)?;
    let l = &done.loaded;
    if json {
        output::print_json(&Summary::of(input, output, l, &done.sha256))?;
    } else if !g.quiet {
        eprintln!(
            "imported {} ({:?}, {} steps, {} elements kept verbatim) into {}",
            input.display(),
            l.form,
            l.sequence.steps().count(),
            l.sequence.verbatim_count(),
            output.display()
        );
    }
    Ok(Status::Success)
}

fn build(input: &Path, output: &Path, json: bool, g: &Global) -> anyhow::Result<Status> {
    let plan = plan::BuildPlan {
        input: input.into(),
        output: output.into(),
    };
    let done = plan::build(&plan)?;
    let l = &done.loaded;
    if json {
        output::print_json(&Summary::of(input, output, l, &done.sha256))?;
    } else if !g.quiet {
        eprintln!(
            "built {} ({} steps) from {}",
            output.display(),
            l.sequence.steps().count(),
            input.display()
        );
    }
    Ok(Status::Success)
}

fn lint_cmd(input: &Path, deployment: Option<&Path>, format: Format) -> anyhow::Result<Status> {
    let l = source::load_any(input)?;
    let dep = deployment.map(deploy::Deployment::load).transpose()?;
    let report = lint::lint(
        &l.sequence,
        &l.package,
        dep.as_ref(),
        &input.display().to_string(),
    );
    match format {
        Format::Text => {
            let mut out = lint::render_text(&report);
            if out.ends_with('\n') {
                out.pop();
            }
            output::line(out)?;
        }
        Format::Json => output::print_json(&report)?,
        Format::Sarif => {
            let s = serde_json::to_string_pretty(&lint::sarif(&report))?;
            output::line(s)?;
        }
    }
    Ok(if report.errors > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}

fn package_cmd(
    input: &Path,
    deployment: &Path,
    output: &Path,
    allow: bool,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let plan = plan::PackagePlan {
        input: input.into(),
        deployment: deployment.into(),
        output: output.into(),
        allow_lint_errors: allow,
    };
    let done = plan::package(&plan)?;
    if json {
        output::print_json(&done.written)?;
    } else if !g.quiet {
        eprintln!(
            "packaged {} into {} ({} files, lint: {} error(s), {} warning(s))",
            input.display(),
            output.display(),
            done.written.files.len(),
            done.report.errors,
            done.report.warnings
        );
    }
    Ok(Status::Success)
}
