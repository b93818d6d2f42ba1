//! `peforge client cmdline`: the ConfigMgr client install line for the Intune co-management
//! settings policy (Autopilot into co-management) or for ccmsetup.exe
//! (`shared/specs/task-sequence.md` §10).

use serde::Serialize;

use super::{Global, Status, output, report};
use crate::client::{CommandLine, INTUNE_MAX_LEN, Warning};

/// Client install command lines.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCmd {
    /// Build and check the client install command line (CCMHOSTNAME, SMSSITECODE, PROVISIONTS...).
    ///
    /// Validates: CCMHOSTNAME without scheme (<host> or <host>/CCM_Proxy_MutualAuth/<id>), /mp as
    /// an https:// URL, Entra IDs as GUIDs, the site code (3 letters or digits), the PROVISIONTS
    /// deployment ID (e.g. PRI20001), values ccmsetup can carry (quoted when they hold spaces)
    /// and the 1024-character limit of the Intune policy.
    #[command(after_help = "\
Examples:
  # The line for Intune (Windows enrollment > Co-management settings)
  peforge client cmdline --site-code ABC --provision-ts ABC20001 \\
    --cmg contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500
  # Re-emit the console's line (Cloud attach > Enablement tab), changed
  peforge client cmdline --provision-ts ABC20001 --format ccmsetup \\
    --from 'CCMSETUPCMD=\"CCMHOSTNAME=mp.contoso.com SMSSITECODE=ABC\"'
  # The same from a saved copy, dropping a property
  peforge client cmdline --from - --property AADRESOURCEURI= < line.txt

Exit status: 0 the line is valid (printed on stdout, warnings on stderr),
2 it is not (the error says what to fix).")]
    Cmdline(CmdlineArgs),
}

/// Output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CCMSETUPCMD="..." for the Intune co-management settings policy (max 1024 characters).
    Intune,
    /// ccmsetup.exe /params PROPERTIES
    Ccmsetup,
    /// One JSON document with both forms, the parsed items and the warnings.
    Json,
}

/// Arguments of `client cmdline`.
#[derive(Debug, clap::Args)]
pub struct CmdlineArgs {
    /// Start from a line copied from the console (CCMSETUPCMD="..." or a ccmsetup.exe line);
    /// the other flags then change it. `-` reads the line from stdin (no shell quoting needed,
    /// and a /regtoken stays out of the process list).
    #[arg(long, value_name = "LINE")]
    pub from: Option<String>,
    /// CCMHOSTNAME: the CMG address without https://, e.g.
    /// contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500.
    #[arg(long, value_name = "HOST/CCM_Proxy_MutualAuth/ID")]
    pub cmg: Option<String>,
    /// SMSSITECODE: the three-character site code.
    #[arg(long, value_name = "XYZ")]
    pub site_code: Option<String>,
    /// /mp: initial management point to find a download source; an https:// CMG URL.
    #[arg(long, value_name = "https://...")]
    pub mp: Option<String>,
    /// AADTENANTID: the Entra tenant ID (GUID).
    #[arg(long, value_name = "GUID")]
    pub aad_tenant_id: Option<String>,
    /// AADCLIENTAPPID: the Entra native client app ID (GUID).
    #[arg(long, value_name = "GUID")]
    pub aad_client_app_id: Option<String>,
    /// AADRESOURCEURI: the App ID URI of the Entra server app.
    #[arg(long, value_name = "URI")]
    pub aad_resource_uri: Option<String>,
    /// PROVISIONTS: deployment ID of a task sequence (deployed to All Provisioning Devices) to run
    /// during the ESP, e.g. PRI20001.
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    pub provision_ts: Option<String>,
    /// SMSMP: management point for lookups once the client is back on the intranet.
    #[arg(long, value_name = "URL")]
    pub smsmp: Option<String>,
    /// Add /NoCRLCheck (the CRL is not published on the internet).
    #[arg(long)]
    pub no_crl_check: bool,
    /// Add /UpgradeToLatest.
    #[arg(long)]
    pub upgrade_to_latest: bool,
    /// Any other property, e.g. SMSCACHESIZE=10240 (repeatable); NAME= removes a property.
    #[arg(long, value_name = "NAME=VALUE")]
    pub property: Vec<String>,
    /// Output form.
    #[arg(long, value_enum, default_value = "intune")]
    pub format: Format,
}

/// Properties that have their own flag.
const DEDICATED: &[(&str, &str)] = &[
    ("CCMHOSTNAME", "--cmg"),
    ("SMSSITECODE", "--site-code"),
    ("AADTENANTID", "--aad-tenant-id"),
    ("AADCLIENTAPPID", "--aad-client-app-id"),
    ("AADRESOURCEURI", "--aad-resource-uri"),
    ("PROVISIONTS", "--provision-ts"),
    ("SMSMP", "--smsmp"),
];

/// `--format json` document (schema_version 1): `intune` (the `CCMSETUPCMD="..."` line),
/// `intune_length` (characters), `intune_max_length` (1024), `ccmsetup` (the ccmsetup.exe line),
/// `params[]` `{name, value|null}`, `properties[]` `{name, value}` in emitted order, `warnings[]`
/// `{code, message}`.
#[derive(Serialize)]
struct Doc<'a> {
    intune: String,
    intune_length: usize,
    intune_max_length: usize,
    ccmsetup: String,
    params: &'a [crate::client::Param],
    properties: &'a [crate::client::Property],
    warnings: &'a [Warning],
}

pub fn run(cmd: ClientCmd, g: &Global) -> anyhow::Result<Status> {
    match cmd {
        ClientCmd::Cmdline(a) => cmdline(a, g),
    }
}

fn build(a: &CmdlineArgs) -> anyhow::Result<CommandLine> {
    let mut line = match a.from.as_deref() {
        Some("-") => CommandLine::parse(&read_stdin()?)?,
        Some(s) => CommandLine::parse(s)?,
        None => CommandLine::new(),
    };
    let props = [
        ("CCMHOSTNAME", &a.cmg),
        ("SMSSITECODE", &a.site_code),
        ("SMSMP", &a.smsmp),
        ("AADTENANTID", &a.aad_tenant_id),
        ("AADCLIENTAPPID", &a.aad_client_app_id),
        ("AADRESOURCEURI", &a.aad_resource_uri),
        ("PROVISIONTS", &a.provision_ts),
    ];
    for (name, v) in props {
        if let Some(v) = v {
            line.set_property(name, v);
        }
    }
    if let Some(mp) = &a.mp {
        line.set_param("mp", Some(mp));
    }
    if a.no_crl_check {
        line.set_param("NoCRLCheck", None);
    }
    if a.upgrade_to_latest {
        line.set_param("UpgradeToLatest", None);
    }
    for p in &a.property {
        let Some((name, value)) = p.split_once('=') else {
            return Err(report::hinted(
                format!("--property {p:?} has no ="),
                "write it as NAME=VALUE (NAME= to remove a property)",
            ));
        };
        let name = name.trim();
        if value.is_empty() {
            if !line.remove_property(name) {
                return Err(report::hinted(
                    format!("--property {name}= removes {name}, which the line does not have"),
                    "check the property name (see the line with --format json)",
                ));
            }
            continue;
        }
        if let Some((n, flag)) = DEDICATED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(report::hinted(
                format!("--property {p:?} sets {n}, which has its own flag"),
                format!("use {flag} {value}"),
            ));
        }
        if line.property(name).is_some_and(|_| a.from.is_none()) {
            return Err(report::hinted(
                format!("--property {name} is given twice"),
                "keep one",
            ));
        }
        line.set_property(name, value);
    }
    Ok(line)
}

/// Reads the pasted line from stdin, bounded by the parser's input limit.
fn read_stdin() -> anyhow::Result<String> {
    use std::io::Read;
    let limit = crate::client::MAX_INPUT_LEN;
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut buf)?;
    if buf.len() > limit {
        return Err(report::hinted(
            format!("stdin holds more than {limit} bytes"),
            "give only the CCMSETUPCMD=\"...\" line",
        ));
    }
    let not_text = || {
        report::hinted(
            "stdin is not UTF-8 or UTF-16 text",
            "paste the line as plain text (save as UTF-8)",
        )
    };
    // Notepad's "Unicode" is UTF-16LE with a byte order mark.
    let text = match buf.strip_prefix(&[0xff, 0xfe]) {
        Some(rest) if rest.len() % 2 == 0 => {
            crate::text::decode_utf16le(rest).ok_or_else(not_text)?
        }
        _ => String::from_utf8(buf).map_err(|_| not_text())?,
    };
    // A pasted line usually ends with a newline; more than one line is a mistake.
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.lines().count() > 1 {
        return Err(report::hinted(
            "stdin holds more than one line",
            "give the one CCMSETUPCMD=\"...\" line",
        ));
    }
    Ok(text.to_string())
}

fn cmdline(a: CmdlineArgs, g: &Global) -> anyhow::Result<Status> {
    let mut line = build(&a)?;
    let warnings = line.validate()?;
    if !g.quiet && a.format != Format::Json {
        for w in &warnings {
            eprintln!("warning: {}", w.message);
        }
    }
    match a.format {
        Format::Intune => output::line(line.to_intune()?)?,
        Format::Ccmsetup => {
            if line.property("PROVISIONTS").is_some() && !g.quiet {
                eprintln!(
                    "warning: the docs list PROVISIONTS as a ccmsetup.msi property; use the intune form (CCMSETUPCMD=\"...\") with ccmsetup.msi"
                );
            }
            output::line(line.to_ccmsetup())?;
        }
        Format::Json => {
            let intune = line.to_intune()?;
            output::print_json(&Doc {
                intune_length: intune.chars().count(),
                intune,
                intune_max_length: INTUNE_MAX_LEN,
                ccmsetup: line.to_ccmsetup(),
                params: &line.params,
                properties: &line.properties,
                warnings: &warnings,
            })?;
        }
    }
    Ok(Status::Success)
}
