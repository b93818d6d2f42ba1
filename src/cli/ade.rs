//! `peforge ade profile init|lint|build|import` and `peforge ade skip-keys`: iOS/iPadOS ADE
//! enrollment profiles as code (`shared/specs/ade-profile.md`). Offline only.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Global, Status, output, report};
use crate::ade::{self, apple, build, graph, lint, profile, skipkeys};

pub use super::ts::Format;

/// ADE commands.
#[derive(Debug, clap::Subcommand)]
pub enum AdeCmd {
    /// Enrollment profiles: init, lint, build (Graph beta JSON, Apple JSON), import.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// The Setup Assistant screens of iOS/iPadOS: Apple key, the wizard's name, the Graph
    /// property, introduced/deprecated versions (Apple's list, carried in peforge).
    #[command(
        after_help = "Examples:\n  peforge ade skip-keys\n  peforge ade skip-keys --min-ios 16.0 --json"
    )]
    SkipKeys {
        /// Mark the keys newer than, or deprecated on, this iOS version.
        #[arg(long, value_name = "VERSION")]
        min_ios: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// `init` presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PresetArg {
    /// User affinity, Setup Assistant with modern authentication (MFA).
    UserModern,
    /// User affinity, authentication in Company Portal.
    UserCompanyPortal,
    /// Without user affinity (kiosk, point of sale).
    Userless,
    /// Shared iPad for Business.
    SharedIpad,
    /// Microsoft Entra ID shared device mode.
    EntraShared,
}

impl From<PresetArg> for profile::Preset {
    fn from(p: PresetArg) -> Self {
        match p {
            PresetArg::UserModern => profile::Preset::UserModern,
            PresetArg::UserCompanyPortal => profile::Preset::UserCompanyPortal,
            PresetArg::Userless => profile::Preset::Userless,
            PresetArg::SharedIpad => profile::Preset::SharedIpad,
            PresetArg::EntraShared => profile::Preset::EntraShared,
        }
    }
}

/// Lint context flags (X rules need them; without them lint prints a note instead).
#[derive(Debug, Clone, clap::Args)]
pub struct ContextArgs {
    /// Oldest iOS/iPadOS version of the devices (overrides [target] min_ios).
    #[arg(long, value_name = "VERSION")]
    pub min_ios: Option<String>,
    /// The SSO app-extension device configuration policy JIT registration needs exists.
    #[arg(long)]
    pub jit_sso_policy: bool,
    /// The profile as it is in the tenant now (TOML, or the Graph GET JSON): checks renames and
    /// changes that need a factory reset; with build --patch, only changed fields are sent.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// Profile commands.
#[derive(Debug, clap::Subcommand)]
pub enum ProfileCmd {
    /// Write a commented TOML profile in the wizard's words. Each preset is lint-clean.
    #[command(
        after_help = "Examples:\n  peforge ade profile init -o corporate.toml\n  peforge ade profile init --preset shared-ipad -o shared.toml"
    )]
    Init {
        /// Starting point.
        #[arg(long, value_enum, default_value = "user-modern")]
        preset: PresetArg,
        /// The TOML to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Check a profile (TOML, Graph JSON or Apple JSON) against the rules of the ADE documents.
    /// Exit 1 when an error is found.
    #[command(
        after_help = "Rules are labelled documented (with the seed line) or inferred.\nExamples:\n  peforge ade profile lint corporate.toml --min-ios 16.0\n  peforge ade profile lint graph-get.json --format sarif > ade.sarif"
    )]
    Lint {
        /// The profile to check.
        input: PathBuf,
        /// Context for X rules.
        #[command(flatten)]
        context: ContextArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Build the Graph beta body of #microsoft.graph.depIOSEnrollmentProfile (sorted keys, LF),
    /// and optionally the Apple Define Profile JSON for other MDMs (peforge's inferred mapping).
    #[command(
        after_help = "Refused when lint finds errors unless --allow-lint-errors.\nExamples:\n  peforge ade profile build corporate.toml -o graph.json --request\n  peforge ade profile build corporate.toml -o patch.json --patch --baseline current.json\n  peforge ade profile build corporate.toml -o graph.json --apple apple.json\nSend it with: Invoke-MgGraphRequest -Method POST -Uri <url> -Body (Get-Content graph.json -Raw)\n  or: az rest --method post --url <url> --body @graph.json"
    )]
    Build {
        /// The profile (TOML, Graph JSON or Apple JSON).
        input: PathBuf,
        /// The Graph JSON to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Write a PATCH body: client-settable fields only (with --baseline, only changed ones).
        #[arg(long)]
        patch: bool,
        /// Also write the Apple Define Profile JSON (peforge's inferred mapping).
        #[arg(long, value_name = "apple.json")]
        apple: Option<PathBuf>,
        /// Print the request: method, URL, permission, and setDefaultProfile for a default profile.
        #[arg(long)]
        request: bool,
        /// The enrollment program token id (depOnboardingSetting) for the request URL.
        #[arg(long, value_name = "ID")]
        token_id: Option<String>,
        /// The profile id for a PATCH URL (default: the imported id, if any).
        #[arg(long, value_name = "ID")]
        profile_id: Option<String>,
        /// Build even when lint finds errors.
        #[arg(long)]
        allow_lint_errors: bool,
        /// Context for lint (and --baseline for --patch).
        #[command(flatten)]
        context: ContextArgs,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Import a Graph GET response, a value[] list, a POST body, the older depEnrollmentProfile
    /// or an Apple profile into TOML. Nothing is dropped: unknown keys are kept and written back
    /// by build.
    #[command(
        after_help = "Examples:\n  peforge ade profile import get.json -o corporate.toml\n  peforge ade profile import list.json --name \"iOS corporate\" -o corporate.toml\n  peforge ade profile import list.json -o profiles/"
    )]
    Import {
        /// The JSON to read.
        input: PathBuf,
        /// The TOML to write, or a folder (existing, or ending in /) for one TOML per profile of a list.
        #[arg(short, long)]
        output: PathBuf,
        /// From a list, the profile with this displayName.
        #[arg(long)]
        name: Option<String>,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `ade` command.
pub fn run(cmd: AdeCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        AdeCmd::SkipKeys { min_ios, json } => skip_keys(min_ios.as_deref(), json),
        AdeCmd::Profile(ProfileCmd::Init {
            preset,
            output,
            force,
            json,
        }) => init(preset, &output, force, json, g),
        AdeCmd::Profile(ProfileCmd::Lint {
            input,
            context,
            format,
        }) => lint_cmd(&input, &context, format),
        AdeCmd::Profile(ProfileCmd::Build {
            input,
            output,
            patch,
            apple,
            request,
            token_id,
            profile_id,
            allow_lint_errors,
            context,
            json,
        }) => build_cmd(
            &BuildArgs {
                input,
                output,
                patch,
                apple,
                request,
                token_id,
                profile_id,
                allow_lint_errors,
                json,
            },
            &context,
            g,
        ),
        AdeCmd::Profile(ProfileCmd::Import {
            input,
            output,
            name,
            json,
        }) => import(&input, &output, name.as_deref(), json, g),
    }
}

fn write_verified(path: &Path, text: &str) -> anyhow::Result<String> {
    crate::fsutil::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let back = fs_err::read_to_string(path)?;
    anyhow::ensure!(back == text, "{}: read-back mismatch", path.display());
    Ok(crate::fsutil::sha256_file(path)?)
}

fn refuse_same(input: &Path, output: &Path) -> anyhow::Result<()> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize())
        && a == b
    {
        return Err(report::hinted(
            format!("{}: output would overwrite the input", output.display()),
            "write to another file",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct InitSummary {
    preset: String,
    output: String,
    sha256: String,
}

fn init(
    preset: PresetArg,
    output: &Path,
    force: bool,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    if output.exists() && !force {
        return Err(report::hinted(
            format!("{}: already exists", output.display()),
            "choose another file, or pass --force to overwrite it",
        ));
    }
    let p = profile::Profile::preset(preset.into());
    let text = profile::to_toml(&p);
    // The file must read back as the same profile.
    let back = profile::Profile::parse(&text, output)?;
    anyhow::ensure!(
        back == p,
        "internal check failed: the preset does not read back"
    );
    let sha256 = write_verified(output, &text)?;
    let name = profile::Preset::ALL
        .iter()
        .find(|(x, _)| *x == preset.into())
        .map(|(_, n)| n.to_string())
        .unwrap_or_default();
    if json {
        output::print_json(&InitSummary {
            preset: name,
            output: output.display().to_string(),
            sha256,
        })?;
    } else if !g.quiet {
        eprintln!(
            "wrote {} (preset {name}); next: peforge ade profile lint {}",
            output.display(),
            output.display()
        );
    }
    Ok(Status::Success)
}

fn context(c: &ContextArgs) -> anyhow::Result<lint::Context> {
    let baseline = match &c.baseline {
        Some(b) => {
            let l = ade::load(b)?;
            Some((l.profile, l.certs))
        }
        None => None,
    };
    Ok(lint::Context {
        min_ios: c.min_ios.clone(),
        jit_sso_policy: c.jit_sso_policy,
        baseline,
    })
}

fn run_lint(input: &Path, l: &ade::Loaded, ctx: &lint::Context) -> lint::Report {
    lint::lint(
        &lint::Input {
            source: &input.display().to_string(),
            text: &l.text,
            form: l.form,
            profile: &l.profile,
            certs: &l.certs,
            graph: l.graph.as_ref(),
        },
        ctx,
    )
}

fn lint_cmd(input: &Path, c: &ContextArgs, format: Format) -> anyhow::Result<Status> {
    let l = ade::load(input)?;
    let report = run_lint(input, &l, &context(c)?);
    match format {
        Format::Text => {
            let mut out = lint::render_text(&report);
            if out.ends_with('\n') {
                out.pop();
            }
            output::line(out)?;
        }
        Format::Json => output::print_json(&report)?,
        Format::Sarif => output::line(serde_json::to_string_pretty(&lint::sarif(&report))?)?,
    }
    Ok(if report.errors > 0 {
        Status::Findings
    } else {
        Status::Success
    })
}

struct BuildArgs {
    input: PathBuf,
    output: PathBuf,
    patch: bool,
    apple: Option<PathBuf>,
    request: bool,
    token_id: Option<String>,
    profile_id: Option<String>,
    allow_lint_errors: bool,
    json: bool,
}

#[derive(Serialize)]
struct Request {
    method: &'static str,
    url: String,
    permission: &'static str,
    body: String,
    /// Calls to make after it (setDefaultProfile for a default profile).
    then: Vec<String>,
}

#[derive(Serialize)]
struct AppleOut {
    output: String,
    mapping: &'static str,
    sha256: String,
}

#[derive(Serialize)]
struct LintCounts {
    errors: usize,
    warnings: usize,
    notes: usize,
}

#[derive(Serialize)]
struct BuildSummary {
    input: String,
    output: String,
    method: &'static str,
    odata_type: &'static str,
    properties: usize,
    sha256: String,
    lint: LintCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    apple: Option<AppleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Request>,
}

fn build_cmd(a: &BuildArgs, c: &ContextArgs, g: &Global) -> anyhow::Result<Status> {
    refuse_same(&a.input, &a.output)?;
    if let Some(ap) = &a.apple {
        refuse_same(&a.input, ap)?;
        anyhow::ensure!(ap != &a.output, "--apple and -o name the same file");
    }
    let l = ade::load(&a.input)?;
    let ctx = context(c)?;
    let report = run_lint(&a.input, &l, &ctx);
    if report.errors > 0 && !a.allow_lint_errors {
        let first = report
            .findings
            .iter()
            .find(|f| f.severity == lint::Severity::Error)
            .map(|f| format!("{} {} {}: {}", f.location, f.rule, f.setting, f.message))
            .unwrap_or_default();
        return Err(report::hinted(
            format!(
                "{}: lint found {} error(s), first: {first}",
                a.input.display(),
                report.errors
            ),
            "fix them (peforge ade profile lint shows all), or pass --allow-lint-errors",
        ));
    }
    let bad = |e: String| {
        report::hinted(
            format!("{}: {e}", a.input.display()),
            "fix the setting (peforge ade profile lint names its place)",
        )
    };
    let full = build::to_graph(&l.profile, &l.certs).map_err(bad)?;
    let baseline_body = match &c.baseline {
        Some(_) => {
            let b = ctx.baseline.as_ref().map(|(b, bc)| build::to_graph(b, bc));
            b.transpose().map_err(bad)?
        }
        None => None,
    };
    let body = if a.patch {
        build::to_patch(&full, baseline_body.as_ref())
    } else {
        full
    };
    let text = graph::to_text(&Value::Object(body.clone()));
    // Everything is computed before anything is written: an error leaves no file behind.
    let apple_text = match &a.apple {
        Some(_) => {
            let m = apple::to_apple(&l.profile, &l.certs).map_err(bad)?;
            Some(graph::to_text(&Value::Object(m)))
        }
        None => None,
    };
    let sha256 = write_verified(&a.output, &text)?;
    let back = ade::parse_json(&fs_err::read_to_string(&a.output)?, &a.output)?;
    anyhow::ensure!(
        back == Value::Object(body.clone()),
        "{}: read-back mismatch",
        a.output.display()
    );
    let apple_out = match (&a.apple, apple_text) {
        (Some(p), Some(t)) => Some(AppleOut {
            output: p.display().to_string(),
            mapping: apple::LABEL,
            sha256: write_verified(p, &t)?,
        }),
        _ => None,
    };
    let method = if a.patch { "PATCH" } else { "POST" };
    let request = a.request.then(|| {
        let token = a.token_id.clone().unwrap_or_else(|| "{depOnboardingSettingId}".into());
        let imported_id = body_id(&l.profile);
        let pid = a
            .profile_id
            .clone()
            .or(imported_id)
            .unwrap_or_else(|| "{enrollmentProfileId}".into());
        let coll = format!("{}/deviceManagement/depOnboardingSettings/{token}/enrollmentProfiles", graph::BETA);
        let url = if a.patch { format!("{coll}/{pid}") } else { coll.clone() };
        let mut then = Vec::new();
        if l.profile.default == Some(true) {
            then.push(format!("POST {coll}/{pid}/setDefaultProfile (no body; {pid} is the id the {method} returns)"));
        }
        Request {
            method,
            url,
            permission: graph::PERMISSION,
            body: a.output.display().to_string(),
            then,
        }
    });
    if a.json {
        output::print_json(&BuildSummary {
            input: a.input.display().to_string(),
            output: a.output.display().to_string(),
            method,
            odata_type: graph::ODATA_TYPE,
            properties: body.keys().filter(|k| !k.starts_with('@')).count(),
            sha256,
            lint: LintCounts {
                errors: report.errors,
                warnings: report.warnings,
                notes: report.notes,
            },
            apple: apple_out,
            request,
        })?;
        return Ok(Status::Success);
    }
    if let Some(r) = &request {
        output::line(format!(
            "{} {}\nContent-Type: application/json\nPermission: {} (delegated or application)\nBody: {}",
            r.method, r.url, r.permission, r.body
        ))?;
        for t in &r.then {
            output::line(format!("Then: {t}"))?;
        }
    }
    if !g.quiet {
        eprintln!(
            "built {} ({method} body, {} properties; lint: {} error(s), {} warning(s), {} note(s))",
            a.output.display(),
            body.keys().filter(|k| !k.starts_with('@')).count(),
            report.errors,
            report.warnings,
            report.notes
        );
        if let Some(ao) = &apple_out {
            eprintln!("wrote {}: {}", ao.output, apple::LABEL);
        }
    }
    Ok(Status::Success)
}

fn body_id(p: &profile::Profile) -> Option<String> {
    p.graph
        .keep
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(String::from)
}

#[derive(Serialize)]
struct ImportedFile {
    output: String,
    name: Option<String>,
    form: build::JsonForm,
    /// Keys kept verbatim (Graph and Apple).
    kept: usize,
    /// Keys the source lacked (left out by build).
    omitted: usize,
    sha256: String,
}

#[derive(Serialize)]
struct ImportSummary {
    input: String,
    files: Vec<ImportedFile>,
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "profile".into() } else { s }
}

fn import(
    input: &Path,
    output: &Path,
    name: Option<&str>,
    json: bool,
    g: &Global,
) -> anyhow::Result<Status> {
    let text = ade::read_text(input)?;
    let v = ade::parse_json(&text, input)?;
    let form = build::detect(&v, input)?;
    let Value::Object(m) = v else {
        unreachable!("detect accepts objects only")
    };
    // (profile map, form) to write, with their target paths.
    let mut todo: Vec<(Map<String, Value>, build::JsonForm, PathBuf)> = Vec::new();
    let to_dir = output.is_dir() || output.as_os_str().to_string_lossy().ends_with('/');
    if form == build::JsonForm::GraphList {
        let items: Vec<Map<String, Value>> = m
            .get("value")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_object().cloned()).collect())
            .unwrap_or_default();
        let names: Vec<String> = items
            .iter()
            .map(|i| {
                i.get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let pick = |i: &Map<String, Value>| -> anyhow::Result<build::JsonForm> {
            Ok(build::detect(&Value::Object(i.clone()), input)?)
        };
        if let Some(n) = name {
            let found: Vec<&Map<String, Value>> = items
                .iter()
                .zip(&names)
                .filter(|(_, x)| x.as_str() == n)
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [one] => todo.push(((*one).clone(), pick(one)?, output.to_path_buf())),
                [] => {
                    return Err(report::hinted(
                        format!(
                            "{}: no profile named {n:?} in the list (names: {})",
                            input.display(),
                            names.join(", ")
                        ),
                        "pass --name with one of these displayNames",
                    ));
                }
                _ => {
                    return Err(report::hinted(
                        format!(
                            "{}: {} profiles are named {n:?}",
                            input.display(),
                            found.len()
                        ),
                        "import to a folder (-o <folder>/) to get one TOML per profile",
                    ));
                }
            }
        } else if to_dir {
            let mut used: Vec<String> = Vec::new();
            for (i, n) in items.iter().zip(&names) {
                let mut base = slug(n);
                let mut k = 2;
                while used.contains(&base) {
                    base = format!("{}-{k}", slug(n));
                    k += 1;
                }
                used.push(base.clone());
                todo.push((i.clone(), pick(i)?, output.join(format!("{base}.toml"))));
            }
        } else if items.len() == 1 {
            let one = &items[0];
            todo.push((one.clone(), pick(one)?, output.to_path_buf()));
        } else {
            return Err(report::hinted(
                format!(
                    "{}: the list holds {} profiles ({})",
                    input.display(),
                    items.len(),
                    names.join(", ")
                ),
                "pass --name <displayName>, or -o <folder>/ for one TOML per profile",
            ));
        }
    } else {
        refuse_same(input, output)?;
        todo.push((m, form, output.to_path_buf()));
    }
    // Convert and check everything first; write only when every profile is good.
    let mut rendered = Vec::new();
    for (m, f, out) in todo {
        let p = match f {
            build::JsonForm::Apple => apple::from_apple(&m, input)?,
            _ => build::from_graph(&m, input)?,
        };
        let toml = profile::to_toml(&p);
        let back = profile::Profile::parse(&toml, &out)?;
        anyhow::ensure!(
            back == p,
            "internal check failed: the TOML of {} does not read back",
            out.display()
        );
        rendered.push((p, f, out, toml));
    }
    if to_dir && name.is_none() && form == build::JsonForm::GraphList {
        fs_err::create_dir_all(output)?;
    }
    let mut files = Vec::new();
    for (p, f, out, toml) in rendered {
        let sha256 = write_verified(&out, &toml)?;
        files.push(ImportedFile {
            output: out.display().to_string(),
            name: p.name.clone(),
            form: f,
            kept: p.graph.keep.len()
                + p.graph.keep_json.len()
                + p.apple.keep.len()
                + p.apple.keep_json.len(),
            omitted: p.graph.omit.len() + p.apple.omit.len(),
            sha256,
        });
        if !json && !g.quiet {
            let note = if f == build::JsonForm::GraphOld {
                " (older depEnrollmentProfile, read onto depIOSEnrollmentProfile: inferred)"
            } else if f == build::JsonForm::Apple {
                " (Apple profile; peforge mapping, inferred)"
            } else {
                ""
            };
            eprintln!("imported {} into {}{note}", input.display(), out.display());
        }
    }
    if json {
        output::print_json(&ImportSummary {
            input: input.display().to_string(),
            files,
        })?;
    }
    Ok(Status::Success)
}

#[derive(Serialize)]
struct KeyRow {
    #[serde(flatten)]
    key: skipkeys::SkipKey,
    /// With --min-ios: `available`, `newer` (introduced later) or `deprecated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Serialize)]
struct GraphOnly {
    key: &'static str,
    wizard: &'static str,
    graph: &'static str,
}

#[derive(Serialize)]
struct SkipKeysDoc {
    source: &'static str,
    min_ios: Option<String>,
    keys: Vec<KeyRow>,
    graph_only: Vec<GraphOnly>,
}

fn skip_keys(min_ios: Option<&str>, json: bool) -> anyhow::Result<Status> {
    if let Some(m) = min_ios
        && skipkeys::parse_version(m).is_none()
    {
        return Err(report::hinted(
            format!("--min-ios {m:?} is not an iOS version"),
            "write a dotted version such as 15.0",
        ));
    }
    let status = |k: &skipkeys::SkipKey| {
        min_ios.map(|m| {
            if skipkeys::older(m, k.introduced) {
                "newer"
            } else if k.deprecated.is_some_and(|d| !skipkeys::older(m, d)) {
                "deprecated"
            } else {
                "available"
            }
        })
    };
    let rows: Vec<KeyRow> = skipkeys::SKIP_KEYS
        .iter()
        .map(|k| KeyRow {
            key: *k,
            status: status(k),
        })
        .collect();
    if json {
        output::print_json(&SkipKeysDoc {
            source: "Apple apple/device-management other/skipkeys.yaml (seed branch, 2024-10-24); seed S1 lines",
            min_ios: min_ios.map(String::from),
            keys: rows,
            graph_only: skipkeys::GRAPH_ONLY
                .iter()
                .map(|(k, w, g)| GraphOnly {
                    key: k,
                    wizard: w,
                    graph: g,
                })
                .collect(),
        })?;
        return Ok(Status::Success);
    }
    let mut out = format!(
        "{:<36} {:<28} {:<36} {:<8} {:<10} {}\n",
        "APPLE KEY", "WIZARD", "GRAPH", "IOS", "DEPRECATED", "NOTE"
    );
    for r in &rows {
        let k = &r.key;
        let mut note = Vec::new();
        if let Some(s) = r.status {
            note.push(s.to_string());
        }
        if let Some(s) = k.seed_minimum {
            note.push(format!("seed says {s}"));
        }
        if !k.always_skippable {
            note.push("not always skippable".into());
        }
        if k.graph.is_none() {
            note.push("enabledSkipKeys only".into());
        }
        out.push_str(&format!(
            "{:<36} {:<28} {:<36} {:<8} {:<10} {}\n",
            k.key,
            k.wizard,
            k.graph.unwrap_or("-"),
            k.introduced,
            k.deprecated.unwrap_or("-"),
            note.join("; ")
        ));
    }
    for (k, w, g) in skipkeys::GRAPH_ONLY {
        out.push_str(&format!(
            "{k:<36} {w:<28} {g:<36} {:<8} {:<10} Graph boolean only, no Apple key in A1\n",
            "-", "-"
        ));
    }
    out.pop();
    output::line(out)?;
    Ok(Status::Success)
}
