//! ConfigMgr client installation command lines for cloud clients (`shared/specs/task-sequence.md`
//! §10, with §6 for `CCMHOSTNAME` and §11 for Autopilot into co-management).
//!
//! A [`CommandLine`] is an ordered list of ccmsetup parameters (`/mp:<url>`, `/NoCRLCheck`, ...)
//! and client properties (`CCMHOSTNAME=...`, `SMSSITECODE=...`, ...). It is built from flags or
//! parsed from a line copied from the console (Cloud attach → Properties → Enablement tab:
//! `CCMSETUPCMD="CCMHOSTNAME=... SMSSITECODE=..."`), validated ([`CommandLine::validate`]), and
//! emitted in the two forms the docs use:
//!
//! - [`CommandLine::to_intune`]: `CCMSETUPCMD="..."`, what the Intune co-management settings policy
//!   takes (at most [`INTUNE_MAX_LEN`] characters; inner quotes doubled as msiexec expects);
//! - [`CommandLine::to_ccmsetup`]: `ccmsetup.exe /params PROPERTIES`, parameters first.
//!
//! ```
//! use peforge::client::CommandLine;
//! let mut line = CommandLine::parse(
//!     r#"CCMSETUPCMD="CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC""#,
//! ).unwrap();
//! line.set_property("PROVISIONTS", "ABC20001");
//! line.validate().unwrap();
//! assert_eq!(
//!     line.to_intune().unwrap(),
//!     r#"CCMSETUPCMD="CCMHOSTNAME=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500 SMSSITECODE=ABC PROVISIONTS=ABC20001""#,
//! );
//! ```

use serde::Serialize;

/// Longest command line the Intune co-management settings policy accepts (§10: longer fails).
pub const INTUNE_MAX_LEN: usize = 1024;

/// Longest input [`CommandLine::parse`] reads; far above anything a console shows.
pub const MAX_INPUT_LEN: usize = 32_768;

/// The property names peforge knows, in the order a fresh line lists them.
pub const KNOWN_PROPERTIES: &[&str] = &[
    "CCMHOSTNAME",
    "SMSSITECODE",
    "SMSMP",
    "AADTENANTID",
    "AADCLIENTAPPID",
    "AADRESOURCEURI",
    "PROVISIONTS",
    "CCMALWAYSINF",
    "SMSCACHESIZE",
];

/// ccmsetup parameters peforge knows, spelled as the docs spell them (§10).
const KNOWN_PARAMS: &[&str] = &[
    "mp",
    "NoCRLCheck",
    "UpgradeToLatest",
    "UsePKICert",
    "regtoken",
];

/// The path segment of a CMG address (§6, §10).
const CMG_SEGMENT: &str = "CCM_Proxy_MutualAuth";

/// Errors of parsing or validating a client command line. Each carries the value the user gave
/// and offers a [`Error::hint`] saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pasted line cannot be split into parameters and properties.
    #[error("command line, column {column}: {cause}")]
    Syntax {
        /// 1-based column (in characters) where the problem is.
        column: usize,
        /// What is wrong.
        cause: String,
    },
    /// The pasted line is longer than [`MAX_INPUT_LEN`].
    #[error("command line is {len} characters, more than the {MAX_INPUT_LEN} peforge reads")]
    InputTooLong {
        /// Its length.
        len: usize,
    },
    /// A token is neither `/param[:value]` nor `NAME=value`.
    #[error(
        "{token:?} is neither a ccmsetup parameter (/name[:value]) nor a property (NAME=value)"
    )]
    BadToken {
        /// The token.
        token: String,
    },
    /// A property name is not a valid MSI public property name.
    #[error("property name {name:?} is not valid")]
    BadPropertyName {
        /// The name.
        name: String,
    },
    /// A property or parameter appears twice.
    #[error("{name} is given twice ({first:?} and {second:?})")]
    Duplicate {
        /// The name.
        name: String,
        /// The first value.
        first: String,
        /// The second value.
        second: String,
    },
    /// A required property is missing.
    #[error("{name} is missing")]
    Missing {
        /// The property.
        name: &'static str,
        /// The `client cmdline` flag that sets it.
        flag: &'static str,
    },
    /// A value cannot be carried by the command line (quote, control character, empty).
    #[error("{name}={value:?}: {cause}")]
    BadValue {
        /// Property or parameter name.
        name: String,
        /// The value.
        value: String,
        /// What is wrong.
        cause: &'static str,
    },
    /// `CCMHOSTNAME` starts with a URL scheme.
    #[error("CCMHOSTNAME={value:?} starts with {scheme}")]
    HostnameScheme {
        /// The value.
        value: String,
        /// The scheme found (`https://`).
        scheme: String,
    },
    /// `CCMHOSTNAME` is not `<host>` or `<host>/CCM_Proxy_MutualAuth/<id>`.
    #[error("CCMHOSTNAME={value:?}: {cause}")]
    BadHostname {
        /// The value.
        value: String,
        /// What is wrong.
        cause: String,
    },
    /// `/mp` is not an `https://` URL.
    #[error("/mp:{value}: the initial management point must be an https:// URL")]
    MpNotHttps {
        /// The value.
        value: String,
    },
    /// A URL-valued property or parameter is malformed.
    #[error("{name}={value:?}: {cause}")]
    BadUrl {
        /// Property or parameter name.
        name: String,
        /// The value.
        value: String,
        /// What is wrong.
        cause: String,
    },
    /// An Entra ID property is not a GUID.
    #[error("{name}={value:?} is not a GUID")]
    BadGuid {
        /// The property.
        name: String,
        /// The value.
        value: String,
    },
    /// `SMSSITECODE` is not three letters or digits (or `AUTO`).
    #[error("SMSSITECODE={value:?} is not a site code (three letters or digits)")]
    BadSiteCode {
        /// The value.
        value: String,
    },
    /// `SMSSITECODE=AUTO` together with `CCMHOSTNAME`.
    #[error("SMSSITECODE=AUTO cannot be combined with CCMHOSTNAME")]
    AutoWithHostname,
    /// `PROVISIONTS` is not a deployment ID.
    #[error(
        "PROVISIONTS={value:?} is not a deployment ID (site code + 5 hex digits, e.g. PRI20001)"
    )]
    BadDeploymentId {
        /// The value.
        value: String,
    },
    /// The Intune form is longer than [`INTUNE_MAX_LEN`].
    #[error(
        "the Intune command line is {len} characters, more than the {INTUNE_MAX_LEN} the co-management settings policy accepts"
    )]
    TooLong {
        /// Its length.
        len: usize,
    },
}

impl Error {
    /// What to change so that the line is accepted.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Syntax { .. } => {
                "paste the line exactly as the Enablement tab shows it, in single quotes: --from 'CCMSETUPCMD=\"...\"'".into()
            }
            Error::InputTooLong { .. } => "give only the CCMSETUPCMD=\"...\" line".into(),
            Error::BadToken { .. } => {
                "separate items with spaces and quote values that contain spaces: NAME=\"a b\"".into()
            }
            Error::BadPropertyName { name } if is_wrapper(name) => {
                "CCMSETUPCMD is the Intune wrapper around the ccmsetup line, not one of its properties: give the line inside it once".into()
            }
            Error::BadPropertyName { .. } => {
                "property names are letters, digits and _ and start with a letter, e.g. SMSCACHESIZE".into()
            }
            Error::Duplicate { name, .. } => format!("keep one {name}"),
            Error::Missing { name, flag } => format!("add {flag} (sets {name})"),
            Error::BadValue { .. } => {
                "ccmsetup cannot pass double quotes or control characters inside a value; remove them (to drop a property give --property NAME=)".into()
            }
            Error::HostnameScheme { value, scheme } => format!(
                "CCMHOSTNAME takes the CMG address without the scheme: {}",
                value.get(scheme.len()..).unwrap_or_default()
            ),
            Error::BadHostname { .. } => format!(
                "give the CMG address as the console shows it (SMS_ActiveMPCandidate, Type=Internet), e.g. contoso.cloudapp.net/{CMG_SEGMENT}/72186325152220500"
            ),
            Error::MpNotHttps { value } => format!(
                "write it as https://{}",
                value
                    .strip_prefix("http://")
                    .unwrap_or(value)
                    .trim_start_matches('/')
            ),
            Error::BadUrl { .. } => "give a full URL such as https://host/path".into(),
            Error::BadGuid { .. } => {
                "give the ID as 8-4-4-4-12 hex digits, e.g. 7506ee10-f7ec-415a-b415-cd3d58790d97 (dsregcmd /status shows the TenantId)".into()
            }
            Error::BadSiteCode { .. } => "give the three-character site code, e.g. ABC".into(),
            Error::AutoWithHostname => {
                "give the real site code with --site-code (AUTO needs an intranet lookup the CMG cannot do)".into()
            }
            Error::BadDeploymentId { .. } => {
                "give the deployment ID of the task sequence deployment to All Provisioning Devices (Deployments node, Deployment ID column)".into()
            }
            Error::TooLong { .. } => {
                "drop optional properties: the CMG publishes the Entra details, so AADRESOURCEURI/AADCLIENTAPPID are normally not needed".into()
            }
        })
    }
}

/// A ccmsetup parameter: `/name` or `/name:value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Param {
    /// The name without the slash, spelled canonically when peforge knows it (`NoCRLCheck`).
    pub name: String,
    /// The value after `:`, if any.
    pub value: Option<String>,
}

/// A client property: `NAME=value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// The name (upper case when peforge knows it).
    pub name: String,
    /// The value, unquoted.
    pub value: String,
}

/// Something valid but worth a second look; printed as a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable identifier for pipelines.
    pub code: &'static str,
    /// What to look at.
    pub message: String,
}

/// A client installation command line: parameters, then properties, each in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommandLine {
    /// ccmsetup parameters, in order.
    pub params: Vec<Param>,
    /// Client properties, in order.
    pub properties: Vec<Property>,
}

/// Splits `s` into whitespace-separated tokens. A `"` opens or closes quoting; inside quotes
/// `""` is a literal quote (the msiexec rule, which is how a quote reaches the inner level of
/// `CCMSETUPCMD="..."`). `base` is added to columns in errors.
fn tokenize(s: &str, base: usize) -> Result<Vec<(usize, String)>, Error> {
    let mut out = Vec::new();
    let mut chars = s.chars().enumerate().peekable();
    let mut cur: Option<(usize, String)> = None;
    let mut quoted_at: Option<usize> = None;
    while let Some((i, c)) = chars.next() {
        let col = base + i + 1;
        if c == '\u{201c}' || c == '\u{201d}' || c == '\u{201e}' {
            return Err(Error::Syntax {
                column: col,
                cause: format!("typographic quote {c:?} (the line went through a word processor)"),
            });
        }
        if quoted_at.is_some() {
            if c == '"' {
                if chars.peek().is_some_and(|&(_, n)| n == '"') {
                    chars.next();
                    cur.get_or_insert((col, String::new())).1.push('"');
                } else {
                    quoted_at = None;
                }
            } else {
                cur.get_or_insert((col, String::new())).1.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quoted_at = Some(col);
                cur.get_or_insert((col, String::new()));
            }
            c if c.is_whitespace() => {
                if let Some(t) = cur.take() {
                    out.push(t);
                }
            }
            c => cur.get_or_insert((col, String::new())).1.push(c),
        }
    }
    if let Some(column) = quoted_at {
        return Err(Error::Syntax {
            column,
            cause: "quote opened here is never closed".into(),
        });
    }
    if let Some(t) = cur.take() {
        out.push(t);
    }
    Ok(out)
}

fn canonical_property(name: &str) -> String {
    KNOWN_PROPERTIES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |k| (*k).to_string())
}

fn canonical_param(name: &str) -> String {
    KNOWN_PARAMS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |k| (*k).to_string())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// `CCMSETUPCMD`: the ccmsetup.msi property that wraps the whole line. Nested inside the line it
/// would be emitted as a property that the parser then reads as the wrapper again.
fn is_wrapper(name: &str) -> bool {
    name.eq_ignore_ascii_case("CCMSETUPCMD")
}

/// Whether a token is the program itself (`ccmsetup.exe`, `C:\x\ccmsetup.msi`, `msiexec`).
/// A property (`NAME=...`) or parameter (`/name...`) never is, whatever its value ends with.
fn is_program(token: &str) -> bool {
    if token.starts_with('/') || token.contains('=') {
        return false;
    }
    let base = token
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(token)
        .to_ascii_lowercase();
    base == "msiexec" || base.ends_with(".exe") || base.ends_with(".msi")
}

impl CommandLine {
    /// An empty line.
    pub fn new() -> CommandLine {
        CommandLine::default()
    }

    /// Parses a line as the console shows it (`CCMSETUPCMD="..."`, optionally after
    /// `ccmsetup.msi` or `msiexec /i ccmsetup.msi`, optionally followed by more ccmsetup.msi
    /// properties such as `PROVISIONTS=...`), or a plain ccmsetup line (`ccmsetup.exe /mp:...
    /// CCMHOSTNAME=...`, the program name optional). Switches of msiexec itself (`/i`, `/q`)
    /// outside `CCMSETUPCMD` are dropped. Only the syntax is checked here; see
    /// [`CommandLine::validate`].
    pub fn parse(line: &str) -> Result<CommandLine, Error> {
        let len = line.chars().count();
        if len > MAX_INPUT_LEN {
            return Err(Error::InputTooLong { len });
        }
        let outer = tokenize(line, 0)?;
        let has_wrapper = outer.iter().any(|(_, t)| {
            t.split_once('=')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case("CCMSETUPCMD"))
        });
        let mut cmd = CommandLine::new();
        let mut skipping_program = true;
        for (col, tok) in &outer {
            if skipping_program && is_program(tok) {
                continue;
            }
            if let Some((name, value)) = tok.split_once('=')
                && name.eq_ignore_ascii_case("CCMSETUPCMD")
            {
                skipping_program = false;
                // Column of the value: after "CCMSETUPCMD=" and its opening quote.
                let inner = tokenize(value, col + name.len() + 1)?;
                for (c, t) in inner {
                    cmd.push_token(c, &t)?;
                }
                continue;
            }
            if has_wrapper && tok.starts_with('/') {
                // msiexec's own switches (/i, /q, /l*v file...): not part of the client line.
                continue;
            }
            if skipping_program && has_wrapper && !tok.contains('=') {
                // The msi path after `/i`.
                continue;
            }
            skipping_program = false;
            cmd.push_token(*col, tok)?;
        }
        Ok(cmd)
    }

    fn push_token(&mut self, column: usize, tok: &str) -> Result<(), Error> {
        if let Some(p) = tok.strip_prefix('/') {
            let (name, value) = match p.split_once(':') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (p, None),
            };
            if !valid_name(name) {
                return Err(Error::BadToken { token: tok.into() });
            }
            let name = canonical_param(name);
            if let Some(old) = self.param(&name) {
                return Err(Error::Duplicate {
                    name: format!("/{name}"),
                    first: old.value.clone().unwrap_or_default(),
                    second: value.unwrap_or_default(),
                });
            }
            self.params.push(Param { name, value });
            return Ok(());
        }
        let Some((name, value)) = tok.split_once('=') else {
            return Err(Error::BadToken {
                token: tok.to_string(),
            });
        };
        if name.is_empty() {
            return Err(Error::Syntax {
                column,
                cause: format!("{tok:?} has no property name before ="),
            });
        }
        if !valid_name(name) || is_wrapper(name) {
            return Err(Error::BadPropertyName { name: name.into() });
        }
        if let Some(old) = self.property(name) {
            return Err(Error::Duplicate {
                name: old.name.clone(),
                first: old.value.clone(),
                second: value.into(),
            });
        }
        self.properties.push(Property {
            name: canonical_property(name),
            value: value.into(),
        });
        Ok(())
    }

    /// The property `name` (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The parameter `name` without its slash (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Sets a property, replacing it in place (so a re-emitted console line keeps its order) or
    /// appending it. Known names are stored in their canonical spelling.
    pub fn set_property(&mut self, name: &str, value: &str) {
        match self
            .properties
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value.into(),
            None => self.properties.push(Property {
                name: canonical_property(name),
                value: value.into(),
            }),
        }
    }

    /// Removes a property; returns whether it was there.
    pub fn remove_property(&mut self, name: &str) -> bool {
        let before = self.properties.len();
        self.properties
            .retain(|p| !p.name.eq_ignore_ascii_case(name));
        before != self.properties.len()
    }

    /// Sets a parameter (`value` `None` for a switch like `/NoCRLCheck`), in place or appended.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        match self
            .params
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value.map(str::to_string),
            None => self.params.push(Param {
                name: canonical_param(name),
                value: value.map(str::to_string),
            }),
        }
    }

    /// Checks every rule of §10 (and §6 for `CCMHOSTNAME`); returns the first error, or the
    /// warnings of a valid line. Entra ID GUIDs are normalized to the hyphenated lower-case form.
    pub fn validate(&mut self) -> Result<Vec<Warning>, Error> {
        let mut warnings = Vec::new();
        for p in &self.params {
            if let Some(v) = &p.value {
                check_chars(&format!("/{}", p.name), v)?;
            }
        }
        for p in &self.properties {
            if !valid_name(&p.name) || is_wrapper(&p.name) {
                return Err(Error::BadPropertyName {
                    name: p.name.clone(),
                });
            }
            check_chars(&p.name, &p.value)?;
        }
        let host = self.property("CCMHOSTNAME").ok_or(Error::Missing {
            name: "CCMHOSTNAME",
            flag: "--cmg",
        })?;
        let host_is_cmg = check_hostname(&host.value)?;
        let site = self.property("SMSSITECODE").ok_or(Error::Missing {
            name: "SMSSITECODE",
            flag: "--site-code",
        })?;
        check_site_code(&site.value)?;
        if let Some(mp) = self.param("mp") {
            let v = mp.value.clone().unwrap_or_default();
            if !v.to_ascii_lowercase().starts_with("https://") {
                return Err(Error::MpNotHttps { value: v });
            }
            check_url("/mp", &v)?;
            if host_is_cmg && !v.contains(CMG_SEGMENT) {
                warnings.push(Warning {
                    code: "mp-not-cmg",
                    message: format!(
                        "/mp:{v} is not a CMG address although CCMHOSTNAME is one; a device on the internet finds its download source through /mp"
                    ),
                });
            }
        }
        if let Some(p) = self.property("SMSMP") {
            let v = p.value.clone();
            if v.contains("://") {
                check_url("SMSMP", &v)?;
            } else {
                check_host("SMSMP", &v, &v)?;
            }
        }
        for name in ["AADTENANTID", "AADCLIENTAPPID"] {
            if let Some(p) = self.properties.iter_mut().find(|p| p.name == name) {
                p.value = normalize_guid(name, &p.value)?;
            }
        }
        if let Some(p) = self.property("AADRESOURCEURI") {
            check_url("AADRESOURCEURI", &p.value)?;
        }
        if let Some(p) = self.property("PROVISIONTS") {
            check_deployment_id(&p.value)?;
        }
        if self.param("UsePKICert").is_some() {
            warnings.push(Warning {
                code: "use-pki-cert",
                message: "/UsePKICert: Autopilot into co-management does not support PKI-authenticated clients, and without a valid client certificate every HTTPS management point including the CMG is filtered out".into(),
            });
        }
        if self.param("regtoken").is_some() {
            warnings.push(Warning {
                code: "regtoken",
                message: "/regtoken carries a bulk registration token (a credential valid up to 7 days): keep this line out of logs and tickets".into(),
            });
        }
        Ok(warnings)
    }

    /// The ccmsetup arguments: parameters first, then properties, values with spaces quoted.
    fn arguments(&self) -> String {
        let mut parts = Vec::new();
        for p in &self.params {
            parts.push(match &p.value {
                Some(v) => format!("/{}:{}", p.name, quote(v)),
                None => format!("/{}", p.name),
            });
        }
        for p in &self.properties {
            parts.push(format!("{}={}", p.name, quote(&p.value)));
        }
        parts.join(" ")
    }

    /// `CCMSETUPCMD="..."` for the Intune co-management settings policy; fails when longer than
    /// [`INTUNE_MAX_LEN`].
    pub fn to_intune(&self) -> Result<String, Error> {
        let line = format!("CCMSETUPCMD=\"{}\"", self.arguments().replace('"', "\"\""));
        let len = line.chars().count();
        if len > INTUNE_MAX_LEN {
            return Err(Error::TooLong { len });
        }
        Ok(line)
    }

    /// `ccmsetup.exe ...` (no length limit of its own).
    pub fn to_ccmsetup(&self) -> String {
        let args = self.arguments();
        if args.is_empty() {
            "ccmsetup.exe".into()
        } else {
            format!("ccmsetup.exe {args}")
        }
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.chars().any(char::is_whitespace) {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

fn check_chars(name: &str, value: &str) -> Result<(), Error> {
    let bad = |cause| {
        Err(Error::BadValue {
            name: name.into(),
            value: value.into(),
            cause,
        })
    };
    if value.is_empty() {
        return bad("the value is empty");
    }
    if value.contains('"') {
        return bad("a double quote cannot be passed inside a value");
    }
    if value.chars().any(char::is_control) {
        return bad("the value contains a control character (tab, line break)");
    }
    Ok(())
}

/// A DNS host name: dot-separated labels of letters, digits and hyphens.
fn host_problem(host: &str, fqdn: bool) -> Option<String> {
    if host.is_empty() {
        return Some("the host name is empty".into());
    }
    if host.len() > 253 {
        return Some("the host name is longer than 253 characters".into());
    }
    if let Some((_, port)) = host.split_once(':') {
        return Some(format!("remove the port :{port} (the CMG listens on 443)"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    if fqdn && labels.len() < 2 {
        return Some(format!("{host:?} is not a fully qualified name"));
    }
    for l in labels {
        if l.is_empty() || l.len() > 63 {
            return Some(format!("{host:?} has an empty or over-long label"));
        }
        if let Some(c) = l
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!("{host:?} contains {c:?}"));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Some(format!("label {l:?} starts or ends with a hyphen"));
        }
    }
    None
}

fn check_host(name: &str, value: &str, host: &str) -> Result<(), Error> {
    match host_problem(host, false) {
        Some(cause) => Err(Error::BadUrl {
            name: name.into(),
            value: value.into(),
            cause,
        }),
        None => Ok(()),
    }
}

/// Checks `CCMHOSTNAME`; returns whether it is a CMG address (has the `CCM_Proxy_MutualAuth` part).
fn check_hostname(value: &str) -> Result<bool, Error> {
    if let Some(i) = value.find("://") {
        return Err(Error::HostnameScheme {
            value: value.into(),
            scheme: value.get(..i + 3).unwrap_or_default().into(),
        });
    }
    let bad = |cause: String| Error::BadHostname {
        value: value.into(),
        cause,
    };
    let mut parts = value.split('/');
    let host = parts.next().unwrap_or_default();
    if let Some(cause) = host_problem(host, true) {
        return Err(bad(cause));
    }
    let rest: Vec<&str> = parts.collect();
    match rest.as_slice() {
        [] => Ok(false),
        [seg, id] if seg.eq_ignore_ascii_case(CMG_SEGMENT) => {
            if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(format!(
                    "the CMG ID after {CMG_SEGMENT}/ must be digits, got {id:?}"
                )));
            }
            if *seg != CMG_SEGMENT {
                return Err(bad(format!("write {CMG_SEGMENT} with this exact case")));
            }
            Ok(true)
        }
        [seg, id, ..] if seg.eq_ignore_ascii_case(CMG_SEGMENT) && !id.is_empty() => {
            Err(bad("remove what follows the CMG ID (no trailing /)".into()))
        }
        [""] => Err(bad("remove the trailing /".into())),
        _ => Err(bad(format!(
            "expected <host> or <host>/{CMG_SEGMENT}/<digits>"
        ))),
    }
}

fn check_site_code(value: &str) -> Result<(), Error> {
    if value.eq_ignore_ascii_case("AUTO") {
        // CCMHOSTNAME is required, so AUTO is always combined with it here.
        return Err(Error::AutoWithHostname);
    }
    if value.len() == 3 && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::BadSiteCode {
            value: value.into(),
        })
    }
}

fn check_deployment_id(value: &str) -> Result<(), Error> {
    let ok = value.len() == 8
        && value
            .get(..3)
            .is_some_and(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))
        && value
            .get(3..)
            .is_some_and(|s| s.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::BadDeploymentId {
            value: value.into(),
        })
    }
}

fn check_url(name: &str, value: &str) -> Result<(), Error> {
    let bad = |cause: String| Error::BadUrl {
        name: name.into(),
        value: value.into(),
        cause,
    };
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(bad("not a URL (scheme:// missing)".into()));
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+')
    {
        return Err(bad(format!("{scheme:?} is not a URL scheme")));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("the URL has no host".into()));
    }
    // A URL may name a port; the host name is what is checked.
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    if (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && let Some(cause) = host_problem(host, false)
    {
        return Err(bad(cause));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(bad("a URL cannot contain spaces".into()));
    }
    Ok(())
}

/// Accepts `8-4-4-4-12` hex, optionally in braces; returns the hyphenated lower-case form.
fn normalize_guid(name: &str, value: &str) -> Result<String, Error> {
    let bad = || Error::BadGuid {
        name: name.into(),
        value: value.into(),
    };
    let inner = value
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(value);
    let groups: Vec<&str> = inner.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12]
        || !groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(bad());
    }
    if inner.chars().all(|c| c == '0' || c == '-') {
        return Err(bad());
    }
    Ok(inner.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500";

    #[test]
    fn tokenizer_handles_msiexec_doubled_quotes() {
        let t = tokenize(r#"A=1 B="x y" C="say ""hi""""#, 0).unwrap();
        let v: Vec<&str> = t.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(v, ["A=1", "B=x y", "C=say \"hi\""]);
        assert!(matches!(
            tokenize("A=\"open", 0),
            Err(Error::Syntax { column: 3, .. })
        ));
    }

    #[test]
    fn parse_console_line_with_program_and_outer_property() {
        let l = CommandLine::parse(&format!(
            r#"msiexec /i ccmsetup.msi /q CCMSETUPCMD="/mp:https://{HOST} CCMHOSTNAME={HOST} SMSSiteCode=ABC SMSCACHESIZE=""20 480""" PROVISIONTS=ABC20001"#
        ))
        .unwrap();
        assert_eq!(l.params.len(), 1);
        assert_eq!(l.params[0].name, "mp");
        let names: Vec<&str> = l.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["CCMHOSTNAME", "SMSSITECODE", "SMSCACHESIZE", "PROVISIONTS"]
        );
        assert_eq!(l.property("smscachesize").unwrap().value, "20 480");
    }

    #[test]
    fn intune_form_doubles_inner_quotes_and_round_trips() {
        let mut l = CommandLine::new();
        l.set_property("CCMHOSTNAME", HOST);
        l.set_property("SMSSITECODE", "ABC");
        l.set_property("X", "a b");
        let s = l.to_intune().unwrap();
        assert_eq!(
            s,
            format!(r#"CCMSETUPCMD="CCMHOSTNAME={HOST} SMSSITECODE=ABC X=""a b""""#)
        );
        assert_eq!(CommandLine::parse(&s).unwrap(), l);
        assert_eq!(CommandLine::parse(&l.to_ccmsetup()).unwrap(), l);
    }

    /// parse(emit(line)) == line for many generated values, in both forms.
    #[test]
    fn emit_then_parse_round_trips() {
        let alphabet: Vec<char> = "aZ09 =/:.-_\\,;é€\u{3000}".chars().collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for n in 0..2000 {
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let len = 1 + (next() % 12) as usize;
            let v: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let mut l = CommandLine::new();
            l.set_param("mp", Some(&format!("https://h{n}.example")));
            l.set_param("NoCRLCheck", None);
            l.set_property("CCMHOSTNAME", HOST);
            l.set_property("SMSSITECODE", "ABC");
            l.set_property("X", &v);
            assert_eq!(
                CommandLine::parse(&l.to_intune().unwrap()).unwrap(),
                l,
                "{v:?}"
            );
            assert_eq!(CommandLine::parse(&l.to_ccmsetup()).unwrap(), l, "{v:?}");
        }
    }

    #[test]
    fn guid_forms() {
        let g = "7506EE10-f7ec-415a-b415-cd3d58790d97";
        assert_eq!(
            normalize_guid("A", &format!("{{{g}}}")).unwrap(),
            g.to_ascii_lowercase()
        );
        assert!(normalize_guid("A", "7506ee10f7ec415ab415cd3d58790d97").is_err());
        assert!(normalize_guid("A", "00000000-0000-0000-0000-000000000000").is_err());
        assert!(normalize_guid("A", "7506ee10-f7ec-415a-b415-cd3d58790d9g").is_err());
    }
}
