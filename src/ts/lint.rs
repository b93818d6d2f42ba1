//! Lint rules for task sequences that run over the internet through a CMG
//! (`shared/specs/task-sequence.md` §6, §7, §9, §10, §11; seeds 001 and 002).
//!
//! Every rule has an id, a severity, a basis (**documented**: stated by Microsoft; **inferred**:
//! peforge's reading, to be confirmed), a location (the group/step path) and a fix hint.
//! Disabled steps and steps inside disabled groups never run and are not checked. Findings are
//! sorted, so the same input always gives byte-identical output.

use serde::Serialize;

use super::deploy::{Availability, ClientAuth, Deployment, DeploymentOption, Purpose};
use super::model::PackageInfo;
use super::model::{Group, Sequence, Step};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The deployment will not work over the internet (exit 1).
    Error,
    /// Likely to fail or needs checking.
    Warning,
    /// Information.
    Note,
}

impl Severity {
    /// The word used in text and SARIF output: `error`, `warning`, `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Stated in Microsoft documentation.
    Documented,
    /// peforge's reading of the documentation; to be confirmed.
    Inferred,
}

/// A rule of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    /// Stable id (`TS001`…).
    pub id: &'static str,
    /// Short name.
    pub name: &'static str,
    /// Documented or inferred.
    pub basis: Basis,
    /// Spec section.
    pub spec: &'static str,
}

/// Every rule peforge checks.
pub const RULES: &[Rule] = &[
    Rule {
        id: "TS001",
        name: "internet-option",
        basis: Basis::Documented,
        spec: "§9 D1",
    },
    Rule {
        id: "TS002",
        name: "run-another-program-first",
        basis: Basis::Documented,
        spec: "§9 D2",
    },
    Rule {
        id: "TS003",
        name: "last-network-settings-workgroup",
        basis: Basis::Documented,
        spec: "§7, §9 D3",
    },
    Rule {
        id: "TS004",
        name: "ccmhostname-required",
        basis: Basis::Documented,
        spec: "§6, §9 D4",
    },
    Rule {
        id: "TS005",
        name: "ccmhostname-form",
        basis: Basis::Documented,
        spec: "§10",
    },
    Rule {
        id: "TS006",
        name: "usepkicert-hides-cmg",
        basis: Basis::Documented,
        spec: "§6, §10",
    },
    Rule {
        id: "TS007",
        name: "sitecode-auto-with-ccmhostname",
        basis: Basis::Documented,
        spec: "§10",
    },
    Rule {
        id: "TS008",
        name: "setup-windows-continue-on-error",
        basis: Basis::Documented,
        spec: "§6",
    },
    Rule {
        id: "TS009",
        name: "content-on-cmg",
        basis: Basis::Documented,
        spec: "§9 D5",
    },
    Rule {
        id: "TS010",
        name: "unc-path",
        basis: Basis::Inferred,
        spec: "§9 I2",
    },
    Rule {
        id: "TS011",
        name: "connect-network-folder",
        basis: Basis::Inferred,
        spec: "§9 I2",
    },
    Rule {
        id: "TS012",
        name: "domain-join",
        basis: Basis::Inferred,
        spec: "§9 I3",
    },
    Rule {
        id: "TS013",
        name: "state-migration-point",
        basis: Basis::Inferred,
        spec: "§9 I1",
    },
    Rule {
        id: "TS014",
        name: "access-content-directly",
        basis: Basis::Inferred,
        spec: "§8, §9 I4",
    },
    Rule {
        id: "TS015",
        name: "boot-media-deployment-option",
        basis: Basis::Documented,
        spec: "§8, §9 D6",
    },
    Rule {
        id: "TS016",
        name: "pxe-over-cmg",
        basis: Basis::Documented,
        spec: "§9 D8",
    },
    Rule {
        id: "TS017",
        name: "winpe-wired-network",
        basis: Basis::Documented,
        spec: "§9 D7",
    },
    Rule {
        id: "TS018",
        name: "bitlocker-escrow-ad",
        basis: Basis::Documented,
        spec: "§9 D11",
    },
    Rule {
        id: "TS019",
        name: "provisionts-pki-certificate",
        basis: Basis::Documented,
        spec: "§9 D12",
    },
    Rule {
        id: "TS020",
        name: "provisionts-esp-timeout",
        basis: Basis::Documented,
        spec: "§11, seed 001",
    },
    Rule {
        id: "TS021",
        name: "run-as-account",
        basis: Basis::Inferred,
        spec: "§9 I5",
    },
    Rule {
        id: "TS022",
        name: "auto-apply-drivers",
        basis: Basis::Inferred,
        spec: "§9 I6",
    },
    Rule {
        id: "TS023",
        name: "boot-media-availability",
        basis: Basis::Documented,
        spec: "§9 D6, D8",
    },
    Rule {
        id: "TS024",
        name: "high-risk-deployment",
        basis: Basis::Documented,
        spec: "§8",
    },
    Rule {
        id: "TS025",
        name: "name-length",
        basis: Basis::Documented,
        spec: "§2",
    },
    Rule {
        id: "TS026",
        name: "upgrade-from-software-center",
        basis: Basis::Documented,
        spec: "§9 D8, seed 002",
    },
    Rule {
        id: "TS027",
        name: "password-in-file",
        basis: Basis::Inferred,
        spec: "§1 (exports omit passwords)",
    },
    Rule {
        id: "TS028",
        name: "boot-media-prerequisites",
        basis: Basis::Documented,
        spec: "§9 D6, D9, D10",
    },
];

/// Application installs above which a `PROVISIONTS` sequence risks the 60-minute ESP timeout.
/// The number is peforge's choice; the docs only say "don't include many".
pub const ESP_APP_LIMIT: usize = 5;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Rule name.
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// documented | inferred.
    pub basis: Basis,
    /// Group/step path (`/Group/Step`), `deployment` or `package`.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// The lint report (`--format json` prints it with `schema_version`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The checked file.
    pub source: String,
    /// Whether deployment settings were checked too.
    pub deployment_checked: bool,
    /// Error count.
    pub errors: usize,
    /// Warning count.
    pub warnings: usize,
    /// Note count.
    pub notes: usize,
    /// Findings, sorted by severity, rule, location, message.
    pub findings: Vec<Finding>,
}

struct Lint {
    out: Vec<Finding>,
}

impl Lint {
    fn add(&mut self, id: &'static str, sev: Severity, loc: &str, msg: String, fix: &str) {
        let rule = RULES.iter().find(|r| r.id == id);
        let (name, basis) = rule
            .map(|r| (r.name, r.basis))
            .unwrap_or(("", Basis::Inferred));
        let label = match basis {
            Basis::Documented => "documented",
            Basis::Inferred => "inferred",
        };
        self.out.push(Finding {
            rule: id,
            name,
            severity: sev,
            basis,
            location: loc.to_string(),
            message: format!("{msg} [{label}]"),
            fix: fix.to_string(),
        });
    }
}

fn location(groups: &[&Group], step: &Step) -> String {
    let mut s = String::new();
    for g in groups {
        s.push('/');
        s.push_str(g.name());
    }
    s.push('/');
    s.push_str(step.name());
    s
}

fn is(step: &Step, short: &str) -> bool {
    step.short_type() == short
}

/// Finds `KEY=value` in a space-separated property string (case-insensitive key).
pub fn property<'a>(props: &'a str, key: &str) -> Option<&'a str> {
    props.split_whitespace().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case(key).then_some(v.trim_matches('"'))
    })
}

/// Whether `s` contains a `\\server\share` path.
pub fn has_unc(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(pos) = s.get(i..).and_then(|r| r.find("\\\\")) {
        let at = i + pos;
        let before = if at == 0 {
            None
        } else {
            bytes.get(at - 1).copied()
        };
        let token_start = before.is_none_or(|b| b.is_ascii_whitespace() || b"\"'=,;(".contains(&b));
        let rest = s.get(at + 2..).unwrap_or("");
        let server: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.%".contains(*c))
            .collect();
        let after = rest.get(server.len()..).unwrap_or("");
        if token_start && !server.is_empty() && server != "." && after.starts_with('\\') {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            return Some(format!("\\\\{}", rest.get(..end).unwrap_or(rest)));
        }
        i = at + 2;
    }
    None
}

/// Checks a sequence, with its export properties and optionally its deployment.
pub fn lint(seq: &Sequence, pkg: &PackageInfo, dep: Option<&Deployment>, source: &str) -> Report {
    let mut l = Lint { out: Vec::new() };
    // Steps that run: not disabled, not inside a disabled group.
    let steps: Vec<(String, &Step)> = seq
        .walk()
        .into_iter()
        .filter(|(gs, s)| !s.disabled() && !gs.iter().any(|g| g.disabled()))
        .map(|(gs, s)| (location(&gs, s), s))
        .collect();
    let auth = dep.map(|d| d.client_auth).unwrap_or_default();
    let media = dep.is_some_and(|d| d.availability.includes_media());
    let winpe = steps.iter().any(|(_, s)| {
        s.attr("runIn") == Some("WinPE")
            || [
                "PartitionDiskAction",
                "ApplyOperatingSystemAction",
                "SetupWindowsAndSMSAction",
            ]
            .contains(&s.short_type())
    });

    package_rules(&mut l, pkg);
    network_rules(&mut l, &steps);
    for (loc, s) in &steps {
        step_rules(&mut l, loc, s, auth);
    }

    // Deployment rules.
    if let Some(d) = dep {
        deployment_rules(&mut l, d, &steps, media, winpe);
    } else {
        l.add(
            "TS001",
            Severity::Note,
            "deployment",
            "no deployment settings given; deployment rules (internet option, availability, deployment option, content) were not checked".into(),
            "pass --deployment deploy.toml",
        );
    }

    let mut findings = l.out;
    findings.sort_by(|a, b| {
        (a.severity, a.rule, &a.location, &a.message).cmp(&(
            b.severity,
            b.rule,
            &b.location,
            &b.message,
        ))
    });
    findings.dedup();
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    Report {
        source: source.to_string(),
        deployment_checked: dep.is_some(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        notes: count(Severity::Note),
        findings,
    }
}

/// TS002: the export properties.
fn package_rules(l: &mut Lint, pkg: &PackageInfo) {
    // TS002: Run another program first.
    if let Some(dp) = pkg
        .dependent_program
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        l.add(
            "TS002",
            Severity::Error,
            "package",
            format!("\"Run another program first\" is set ({dp}); it uses the package's UNC path, unreachable through a CMG"),
            "clear the task sequence's Advanced setting \"Run another program first\" and run that program as a step",
        );
    }
}

/// TS003 / TS012: Apply Network Settings, last instance wins (conditions ignored).
fn network_rules(l: &mut Lint, steps: &[(String, &Step)]) {
    // TS003 / TS012: Apply Network Settings, last instance wins (conditions ignored).
    let nets: Vec<&(String, &Step)> = steps
        .iter()
        .filter(|(_, s)| is(s, "ApplyNetworkSettingsAction"))
        .collect();
    for (i, (loc, s)) in nets.iter().enumerate() {
        let join = s.var("OSDNetworkJoinType");
        let last = i + 1 == nets.len();
        match (join, last) {
            (Some("0"), true) => l.add(
                "TS003",
                Severity::Error,
                loc,
                format!(
                    "the last Apply Network Settings instance joins domain {:?}; the last instance wins whatever the conditions, and a device on the internet has no domain controller",
                    s.var("OSDDomainName").unwrap_or("")
                ),
                "set this step to join a workgroup (NetworkJoinType 1, OSDWorkgroupName), join the domain later (hybrid join / Autopilot)",
            ),
            (Some("0"), false) => l.add(
                "TS012",
                Severity::Warning,
                loc,
                "Apply Network Settings joins a domain; a later instance overrides it, but the step still needs a domain over the internet".into(),
                "make every instance join a workgroup",
            ),
            (Some("1"), true)
                if s.var("OSDWorkgroupName").is_none_or(|w| w.trim().is_empty())
                    && s.var("OSDDomainName").is_none_or(|d| d.trim().is_empty()) =>
            {
                l.add(
                    "TS003",
                    Severity::Error,
                    loc,
                    "the last Apply Network Settings instance joins a workgroup but names none; WorkgroupName is required when DomainName is empty".into(),
                    "set OSDWorkgroupName (1–32 characters), e.g. WORKGROUP",
                )
            }
            (None, true) => l.add(
                "TS003",
                Severity::Note,
                loc,
                "the last Apply Network Settings instance sets no join type (no join change)".into(),
                "set NetworkJoinType 1 and a workgroup to be explicit",
            ),
            _ => {}
        }
    }
}

/// The rules of one step that runs.
fn step_rules(l: &mut Lint, loc: &str, s: &Step, auth: ClientAuth) {
    let t = s.short_type();
    // TS004–TS008: Setup Windows and ConfigMgr.
    if t == "SetupWindowsAndSMSAction" {
        setup_windows_rules(l, loc, s, auth);
    }
    unc_rules(l, loc, s);
    match t {
        "ConnectNetworkFolderAction" => l.add(
            "TS011",
            Severity::Warning,
            loc,
            "Connect To Network Folder needs SMB access, not available through a CMG".into(),
            "remove the step; use package content instead",
        ),
        "JoinDomainWorkgroupAction" if s.var("OSDJoinType") != Some("1") => l.add(
            "TS012",
            Severity::Warning,
            loc,
            "Join Domain or Workgroup joins a domain; no domain controller is reachable over the internet".into(),
            "join a workgroup (OSDJoinType 1) or remove the step",
        ),
        "RequestStateStoreAction" | "ReleaseStateStoreAction" | "CaptureUserStateAction" | "RestoreUserStateAction" => l.add(
            "TS013",
            Severity::Warning,
            loc,
            "state migration point steps cannot reach an SMP through a CMG".into(),
            "store user state locally (hard links) or migrate with OneDrive/Enterprise State Roaming",
        ),
        "EnableBitLockerAction" | "OfflineEnableBitLockerAction"
            if s.var("OSDBitLockerCreateRecoveryPassword").is_some_and(|v| v.eq_ignore_ascii_case("AD")) =>
        {
            l.add(
                "TS018",
                Severity::Warning,
                loc,
                "recovery key escrow \"In Active Directory\" needs AD; the step fails by default if escrow fails".into(),
                "escrow to the site database (2203+) or to Entra ID",
            )
        }
        "AutoApplyAction" => l.add(
            "TS022",
            Severity::Warning,
            loc,
            "Auto Apply Drivers works over a CMG only if the driver content is on the CMG (unconfirmed)".into(),
            "prefer Apply Driver Package with packages distributed to the CMG",
        ),
        _ => {}
    }
    account_and_limit_rules(l, loc, s, t);
}

/// TS004–TS008: Setup Windows and ConfigMgr.
fn setup_windows_rules(l: &mut Lint, loc: &str, s: &Step, auth: ClientAuth) {
    let props = s.var("SMSClientInstallProperties").unwrap_or("");
    match property(props, "CCMHOSTNAME") {
        None => {
            let sev = match auth {
                ClientAuth::Entra | ClientAuth::Token => Severity::Error,
                ClientAuth::Pki => Severity::Note,
                ClientAuth::Unknown => Severity::Warning,
            };
            l.add(
                "TS004",
                sev,
                loc,
                "installation properties have no CCMHOSTNAME; Entra-joined and token-authenticated internet clients need it".into(),
                "add CCMHOSTNAME=<CMG host>/CCM_Proxy_MutualAuth/<id> (Cloud attach → CMG properties, or SMS_ActiveMPCandidate Type=Internet)",
            );
        }
        Some(v) => check_ccmhostname(l, loc, v),
    }
    if props
        .split_whitespace()
        .any(|p| p.eq_ignore_ascii_case("/UsePKICert"))
        && auth != ClientAuth::Pki
    {
        l.add(
            "TS006",
            Severity::Warning,
            loc,
            "/UsePKICert: without a valid PKI client certificate every HTTPS management point, the CMG included, is filtered out".into(),
            "remove /UsePKICert for Entra or token-authenticated clients (set client_auth = \"pki\" in deploy.toml if clients have certificates)",
        );
    }
    if property(props, "CCMHOSTNAME").is_some()
        && property(props, "SMSSITECODE").is_some_and(|c| c.eq_ignore_ascii_case("AUTO"))
    {
        l.add(
            "TS007",
            Severity::Error,
            loc,
            "SMSSITECODE=AUTO together with CCMHOSTNAME".into(),
            "give the three-character site code: SMSSITECODE=ABC",
        );
    }
    if s.attr("continueOnError") == Some("true") {
        l.add(
            "TS008",
            Severity::Warning,
            loc,
            "Continue on error is enabled on Setup Windows and ConfigMgr".into(),
            "clear continueOnError on this step",
        );
    }
}

/// TS010: UNC paths in the command line, variables or inline script.
fn unc_rules(l: &mut Lint, loc: &str, s: &Step) {
    let mut texts: Vec<&str> = Vec::new();
    if let Some(a) = &s.action {
        texts.push(a);
    }
    for v in s.vars.iter().flatten() {
        texts.push(&v.value);
    }
    let script = s
        .var("OSDRunPowerShellScriptSourceScript")
        .and_then(super::author::decode_script);
    let found = texts
        .iter()
        .find_map(|t| has_unc(t))
        .map(|u| (u, ""))
        .or_else(|| {
            script
                .as_deref()
                .and_then(has_unc)
                .map(|u| (u, " (in the inline script)"))
        });
    if let Some((unc, where_)) = found {
        l.add(
            "TS010",
            Severity::Warning,
            loc,
            format!("UNC path {unc}{where_} is unreachable from the internet"),
            "put the files in a package distributed to the content-enabled CMG and reference it",
        );
    }
}

/// TS021, TS027, TS025: run-as accounts, stored passwords, editor limits.
fn account_and_limit_rules(l: &mut Lint, loc: &str, s: &Step, t: &str) {
    // TS021: run-as accounts.
    let runas = [
        "_SMSTSRunCommandLineAsUser",
        "_SMSTSRunPowerShellAsUser",
        "RunAsUser",
    ]
    .iter()
    .any(|n| s.var(n).is_some_and(|v| v.eq_ignore_ascii_case("true")))
        || s.var("SMSTSRunCommandLineUserName")
            .is_some_and(|v| !v.is_empty());
    if runas && (t == "RunCommandLineAction" || t == "RunPowerShellScriptAction") {
        l.add(
            "TS021",
            Severity::Warning,
            loc,
            "runs as another account; domain credentials do not work without a domain, and run-as always fails in WinPE".into(),
            "run as the local system account",
        );
    }
    // TS027: a password stored in the sequence (console exports leave them out).
    if let Some(v) = s.vars.iter().flatten().find(|v| {
        let p = v.property().unwrap_or(v.name());
        p.to_ascii_lowercase().contains("password") && !v.value.is_empty()
    }) {
        l.add(
            "TS027",
            Severity::Warning,
            loc,
            format!("{} holds a password in the task sequence file", v.name()),
            "leave it empty in source control and set it in the console or as a hidden collection variable",
        );
    }
    // TS025: editor limits.
    if s.attr("description")
        .is_some_and(|d| d.chars().count() > 256)
    {
        l.add(
            "TS025",
            Severity::Note,
            loc,
            "description longer than the editor's 256 characters".into(),
            "shorten the description",
        );
    }
    if s.name().chars().count() > 50 {
        l.add(
            "TS025",
            Severity::Note,
            loc,
            "step name longer than the editor's 50 characters".into(),
            "shorten the name",
        );
    }
}

/// The deployment rules (internet option, content, deployment option, availability).
fn deployment_rules(
    l: &mut Lint,
    d: &Deployment,
    steps: &[(String, &Step)],
    media: bool,
    winpe: bool,
) {
    if !d.allow_internet {
        l.add(
            "TS001",
            Severity::Error,
            "deployment",
            "\"Allow task sequence to run for client on the Internet\" is off; it is required for every internet scenario".into(),
            "set allow_internet = true",
        );
    }
    if d.content_enabled_cmg == Some(false) {
        l.add(
            "TS009",
            Severity::Error,
            "deployment",
            "the CMG is not content-enabled; internet clients cannot get the referenced content".into(),
            "enable \"Allow CMG to function as a cloud distribution point and serve content from Azure storage\" and distribute content.json's items to it",
        );
    } else if d.content_enabled_cmg.is_none() {
        l.add(
            "TS009",
            Severity::Note,
            "deployment",
            "all referenced content must be on a content-enabled CMG (see content.json)".into(),
            "set content_enabled_cmg = true once distributed",
        );
    }
    if d.deployment_option == DeploymentOption::AccessDirectly {
        l.add(
            "TS014",
            Severity::Warning,
            "deployment",
            "\"Access content directly from a distribution point\" needs an SMB package share, which a CMG does not offer".into(),
            "use deployment_option = \"download_when_needed\"",
        );
    }
    if media && d.deployment_option != DeploymentOption::DownloadWhenNeeded {
        l.add(
            "TS015",
            Severity::Error,
            "deployment",
            "a deployment available to media/PXE must use \"Download content locally when needed by the running task sequence\"".into(),
            "set deployment_option = \"download_when_needed\"",
        );
    }
    if matches!(
        d.availability,
        Availability::ClientsMediaPxe | Availability::MediaPxe | Availability::MediaPxeHidden
    ) && d.allow_internet
    {
        l.add(
            "TS016",
            Severity::Note,
            "deployment",
            "PXE and multicast are not supported through a CMG; only boot media works over the internet".into(),
            "boot internet devices from site-based media whose management point is the CMG",
        );
    }
    if media && d.allow_internet {
        l.add(
            "TS028",
            Severity::Note,
            "deployment",
            "boot media over a CMG also needs: client settings \"Allow access to cloud distribution point\" and \"Enable clients to use a CMG\"; site-based media with a strong password and the CMG as management point; the management point set to intranet and internet (2010/2103); with a PKI CMG certificate, its trusted root in the boot image".into(),
            "peforge media build --mp https://<CMG>/CCM_Proxy_MutualAuth/<id> --root-cert <root> builds such media; peforge cert inject adds the root to a boot image",
        );
    }
    winpe_media_rules(l, d, steps, media, winpe);
    provisioning_rules(l, d, steps);
}

/// TS017, TS023, TS026 and the required-deployment rules of an OS deployment.
fn winpe_media_rules(
    l: &mut Lint,
    d: &Deployment,
    steps: &[(String, &Step)],
    media: bool,
    winpe: bool,
) {
    if media && winpe {
        l.add(
            "TS017",
            Severity::Warning,
            "deployment",
            "Windows PE has no wireless support: the device needs a wired internet connection for the whole run".into(),
            "tell users to plug in a network cable",
        );
    }
    if winpe && d.availability == Availability::Clients && d.allow_internet {
        l.add(
            "TS023",
            Severity::Note,
            "deployment",
            "an OS deployment available to clients only starts from Software Center over a CMG (ConfigMgr 2006+); boot media needs availability including media".into(),
            "use availability = \"clients_media_pxe\" or \"media_pxe\" for boot media over the CMG (2010+)",
        );
    }
    let upgrade = steps
        .iter()
        .find(|(_, s)| is(s, "UpgradeOperatingSystemAction"));
    if let (Some((loc, _)), true) = (upgrade, media && d.allow_internet) {
        l.add(
            "TS026",
            Severity::Error,
            loc,
            "an in-place upgrade over a CMG starts from Software Center; Windows PE, PXE and task sequence media are not supported".into(),
            "deploy the upgrade with availability = \"clients\"",
        );
    }
    if d.purpose == Purpose::Required && winpe {
        l.add(
            "TS024",
            Severity::Note,
            "deployment",
            "a required OS deployment is high-risk: ConfigMgr verifies the collection size (default threshold 100)".into(),
            "target a small collection, or make it available",
        );
    }
}

/// The rules of a PROVISIONTS sequence (Autopilot into co-management).
fn provisioning_rules(l: &mut Lint, d: &Deployment, steps: &[(String, &Step)]) {
    if d.provisioning {
        let installs: Vec<&(String, &Step)> = steps
            .iter()
            .filter(|(_, s)| {
                [
                    "InstallApplicationAction",
                    "InstallUpdateAction",
                    "InstallSoftwareAction",
                ]
                .contains(&s.short_type())
            })
            .collect();
        if let (Some((loc, _)), false) = (installs.first(), d.client_auth == ClientAuth::Pki) {
            {
                l.add(
                    "TS019",
                    Severity::Warning,
                    loc,
                    "a PROVISIONTS sequence that installs applications or updates needs a PKI client authentication certificate; token authentication alone fails".into(),
                    "deploy a client authentication certificate before the sequence runs, or move installs to separate deployments",
                );
            }
        }
        let apps: usize = installs
            .iter()
            .map(|(_, s)| match s.short_type() {
                "InstallApplicationAction" => s
                    .var("OSDAppCount")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| {
                        s.var("ApplicationName")
                            .map(|a| a.split(':').filter(|x| !x.is_empty()).count())
                            .unwrap_or(0)
                            .max(1)
                    }),
                _ => 1,
            })
            .sum();
        if apps > ESP_APP_LIMIT {
            l.add(
                "TS020",
                Severity::Warning,
                "deployment",
                format!("PROVISIONTS sequence installs {apps} applications/packages; the enrollment status page times out after 60 minutes by default (0x800705b4). peforge warns above {ESP_APP_LIMIT}"),
                "keep only critical apps in this sequence; deploy the rest separately or through self-service",
            );
        }
    }
}

fn check_ccmhostname(l: &mut Lint, loc: &str, v: &str) {
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        l.add(
            "TS005",
            Severity::Error,
            loc,
            format!(
                "CCMHOSTNAME={v} has a URL scheme; CCMHOSTNAME takes the address without https://"
            ),
            "write CCMHOSTNAME=<host>/CCM_Proxy_MutualAuth/<id> (no scheme)",
        );
        return;
    }
    let parts: Vec<&str> = v.split('/').collect();
    match parts.as_slice() {
        [host] if !host.is_empty() => l.add(
            "TS005",
            Severity::Warning,
            loc,
            format!("CCMHOSTNAME={v} names an internet management point, not a CMG (<host>/CCM_Proxy_MutualAuth/<id>)"),
            "for a CMG use the address shown in Cloud attach (SMS_ActiveMPCandidate Type=Internet)",
        ),
        [host, proxy, id]
            if !host.is_empty()
                && host.contains('.')
                && proxy.eq_ignore_ascii_case("CCM_Proxy_MutualAuth")
                && !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit()) => {}
        _ => l.add(
            "TS005",
            Severity::Error,
            loc,
            format!("CCMHOSTNAME={v} is not in the <host>/CCM_Proxy_MutualAuth/<id> form"),
            "copy the value from Cloud attach, e.g. CONTOSO.CLOUDAPP.NET/CCM_Proxy_MutualAuth/72186325152220500",
        ),
    }
}

/// Renders the report for people: one line per finding, then a summary line.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    for f in &r.findings {
        let sev = f.severity.as_str();
        s.push_str(&format!(
            "{}: {sev}[{}]: {}: {}\n    fix: {}\n",
            r.source, f.rule, f.location, f.message, f.fix
        ));
    }
    s.push_str(&format!(
        "{}: {} error(s), {} warning(s), {} note(s)\n",
        r.source, r.errors, r.warnings, r.notes
    ));
    s
}

/// The report as SARIF 2.1.0 (only the subset peforge emits).
pub fn sarif(r: &Report) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "name": x.name,
                "shortDescription": { "text": x.name },
                "properties": { "basis": x.basis, "spec": x.spec },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|x| x.id == f.rule).unwrap_or(0),
                "level": f.severity.as_str(),
                "message": { "text": format!("{} Fix: {}", f.message, f.fix) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": r.source } },
                    "logicalLocations": [{ "fullyQualifiedName": f.location }],
                }],
                "properties": { "basis": f.basis },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "peforge", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_used_is_in_the_catalogue() {
        let src = include_str!("lint.rs");
        let mut used: Vec<&str> = src
            .match_indices("\"TS0")
            .filter_map(|(i, _)| src.get(i + 1..i + 6))
            .filter(|id| {
                id.get(2..)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            })
            .collect();
        used.sort();
        used.dedup();
        assert!(used.len() >= 26);
        for id in used {
            assert!(RULES.iter().any(|r| r.id == id), "{id} missing from RULES");
        }
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.id, format!("TS{:03}", i + 1));
        }
    }

    #[test]
    fn unc_detection() {
        assert_eq!(
            has_unc(r"copy \\srv\share\x.wim c:\"),
            Some(r"\\srv\share\x.wim".into())
        );
        assert_eq!(
            has_unc(r#"/f:"\\SCCB\Source\a b""#),
            Some(r"\\SCCB\Source\a".into())
        );
        assert_eq!(has_unc(r"root\cimv2"), None);
        assert_eq!(has_unc(r"\\.\PhysicalDrive0"), None);
        assert_eq!(has_unc(r"C:\\Windows\\Temp"), None);
    }

    #[test]
    fn property_parsing() {
        let p = "CCMHOSTNAME=A.B/CCM_Proxy_MutualAuth/1 SMSSITECODE=ABC";
        assert_eq!(
            property(p, "ccmhostname"),
            Some("A.B/CCM_Proxy_MutualAuth/1")
        );
        assert_eq!(property(p, "SMSMP"), None);
    }
}
