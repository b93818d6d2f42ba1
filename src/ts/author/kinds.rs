//! Friendly step kinds: typed options mapped to the documented step variables
//! (`shared/specs/task-sequence.md` §5–§7).

use std::path::Path;

use super::{Ctx, KINDS};
use crate::ts::model::Variable;
use crate::ts::{Error, Result};

pub(super) struct Friendly {
    pub(super) class: &'static str,
    pub(super) run_in: &'static str,
    pub(super) success: &'static [i64],
    pub(super) retry: Option<u32>,
    pub(super) action: String,
    pub(super) vars: Vec<Variable>,
}

/// Typed access to a kind's options, remembering which were used.
struct Opts<'a> {
    t: &'a toml::Table,
    used: Vec<&'static str>,
    loc: &'a str,
    path: &'a Path,
}

impl Opts<'_> {
    fn err(&self, msg: String, fix: Option<&str>) -> Error {
        Error::invalid(self.path, self.loc, msg, fix)
    }
    fn str(&mut self, k: &'static str) -> Result<Option<String>> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(toml::Value::Integer(i)) => Ok(Some(i.to_string())),
            Some(other) => Err(self.err(
                format!("option `{k}` must be a string, not {}", other.type_str()),
                None,
            )),
        }
    }
    fn req(&mut self, k: &'static str) -> Result<String> {
        self.str(k)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(format!("option `{k}` is required"), None))
    }
    fn bool(&mut self, k: &'static str, default: bool) -> Result<bool> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.err(
                format!(
                    "option `{k}` must be true or false, not {}",
                    other.type_str()
                ),
                None,
            )),
        }
    }
    fn int(&mut self, k: &'static str, default: i64) -> Result<i64> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) => Ok(*i),
            Some(other) => Err(self.err(
                format!("option `{k}` must be a number, not {}", other.type_str()),
                None,
            )),
        }
    }
    fn list(&mut self, k: &'static str) -> Result<Vec<String>> {
        self.used.push(k);
        match self.t.get(k) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(self.err(
                        format!("option `{k}` must list strings, found {}", other.type_str()),
                        None,
                    )),
                })
                .collect(),
            Some(toml::Value::String(s)) => Ok(vec![s.clone()]),
            Some(other) => Err(self.err(
                format!(
                    "option `{k}` must be a list of strings, not {}",
                    other.type_str()
                ),
                None,
            )),
        }
    }
    fn finish(&self, kind: &str) -> Result<()> {
        for k in self.t.keys() {
            if !self.used.contains(&k.as_str()) {
                let mut allowed = self.used.clone();
                allowed.sort();
                allowed.dedup();
                return Err(self.err(
                    format!("unknown option `{k}` for kind {kind}"),
                    Some(&format!("options of {kind}: {}", allowed.join(", "))),
                ));
            }
        }
        Ok(())
    }
}

fn v(name: &str, prop: &str, hidden: bool, value: impl Into<String>) -> Variable {
    Variable::new(name, Some(prop), hidden, &value.into())
}

fn tf(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn title(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(A.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64 (RFC 4648, padding optional, whitespace ignored); `None` if invalid.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

/// Decodes an inline PowerShell script as ConfigMgr stores it (base64 of UTF-16LE, BOM optional).
pub fn decode_script(s: &str) -> Option<String> {
    let b = base64_decode(s)?;
    let b = b.strip_prefix(&[0xFF, 0xFE]).unwrap_or(&b);
    crate::text::decode_utf16le(b)
}

/// Encodes an inline PowerShell script as ConfigMgr stores it: base64 of UTF-16LE with BOM (§4).
pub fn encode_script(script: &str) -> String {
    let mut b = vec![0xFF, 0xFE];
    for u in script.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    base64(&b)
}

pub(super) fn friendly(
    kind: &str,
    t: &toml::Table,
    loc: &str,
    ctx: &mut Ctx<'_>,
) -> Result<Friendly> {
    let mut o = Opts {
        t,
        used: Vec::new(),
        loc,
        path: ctx.path,
    };
    let class = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            ctx.err(
                loc,
                format!("unknown step kind {kind:?}"),
                Some(&format!(
                    "kinds: {}; or give `type` for a raw step",
                    names.join(", ")
                )),
            )
        })?;
    let mut f = Friendly {
        class,
        run_in: "WinPEandFullOS",
        success: &[0],
        retry: None,
        action: String::new(),
        vars: Vec::new(),
    };
    match kind {
        "apply_os" => apply_os(&mut o, &mut f, ctx)?,
        "apply_network_settings" => apply_network_settings(&mut o, &mut f, ctx)?,
        "setup_windows_and_configmgr" => setup_windows_and_configmgr(&mut o, &mut f, ctx)?,
        "run_command_line" => run_command_line(&mut o, &mut f, ctx)?,
        "run_powershell" => run_powershell(&mut o, &mut f, ctx)?,
        "install_application" => install_application(&mut o, &mut f, ctx)?,
        "install_package" => install_package(&mut o, &mut f, ctx)?,
        "apply_driver_package" => apply_driver_package(&mut o, &mut f, ctx)?,
        "format_and_partition_disk" => format_and_partition_disk(&mut o, &mut f, ctx)?,
        "restart" => restart(&mut o, &mut f, ctx)?,
        "set_variable" => set_variable(&mut o, &mut f, ctx)?,
        "download_package_content" => download_package_content(&mut o, &mut f, ctx)?,
        "upgrade_os" => upgrade_os(&mut o, &mut f, ctx)?,
        _ => {}
    }
    o.finish(kind)?;
    Ok(f)
}
/// The `apply_os` kind.
fn apply_os(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkg = o.req("image_package")?;
    let idx = o.int("image_index", 1)?;
    let upkg = o.str("unattend_package")?;
    let ufile = o.str("unattend_file")?;
    f.run_in = "WinPE";
    f.action = format!("OSDApplyOS.exe /image:{pkg},%OSDImageIndex%");
    if let (Some(up), Some(uf)) = (&upkg, &ufile) {
        f.action
            .push_str(&format!(" \"/config:{up},%OSDConfigFileName%\""));
        f.vars
            .push(v("OSDConfigFileName", "ConfigFileName", false, uf.clone()));
        f.vars.push(v(
            "ConfigFilePackage",
            "ConfigFilePackage",
            true,
            up.clone(),
        ));
        ctx.add_package(up, None);
    } else if upkg.is_some() != ufile.is_some() {
        return Err(o.err(
            "give unattend_package and unattend_file together".into(),
            None,
        ));
    }
    f.action.push_str(" /runfromnet:False");
    f.vars
        .push(v("OSDImageIndex", "ImageIndex", false, idx.to_string()));
    f.vars
        .push(v("ImagePackageID", "ImagePackageID", true, pkg.clone()));
    f.vars.push(v("RunFromNet", "RunFromNet", true, "false"));
    ctx.add_package(&pkg, None);
    Ok(())
}

/// The `apply_network_settings` kind.
fn apply_network_settings(o: &mut Opts<'_>, f: &mut Friendly, _ctx: &mut Ctx<'_>) -> Result<()> {
    let wg = o.str("workgroup")?;
    let dom = o.str("domain")?;
    let ou = o.str("domain_ou")?;
    let acct = o.str("domain_account")?;
    f.run_in = "WinPE";
    f.action = "osdnetsettings.exe configure".into();
    f.vars.push(v(
        "OSDEnableTCPIPFiltering",
        "EnableTCPIPFiltering",
        true,
        "false",
    ));
    match (wg, dom) {
        (Some(w), None) => {
            if w.is_empty() || w.chars().count() > 32 {
                return Err(o.err("workgroup names are 1–32 characters".into(), None));
            }
            f.vars
                .push(v("OSDNetworkJoinType", "NetworkJoinType", false, "1"));
            f.vars.push(v("OSDAdapterCount", "NumAdapters", true, "0"));
            f.vars
                .push(v("OSDWorkgroupName", "WorkgroupName", false, w));
        }
        (None, Some(d)) => {
            f.vars
                .push(v("OSDNetworkJoinType", "NetworkJoinType", false, "0"));
            f.vars.push(v("OSDAdapterCount", "NumAdapters", true, "0"));
            f.vars.push(v("OSDDomainName", "DomainName", false, d));
            f.vars.push(v(
                "OSDDomainOUName",
                "DomainOUName",
                false,
                ou.unwrap_or_default(),
            ));
            f.vars.push(v(
                "OSDJoinAccount",
                "DomainUsername",
                false,
                acct.unwrap_or_default(),
            ));
            // The password is never stored in files (exports omit it too).
            f.vars
                .push(v("OSDJoinPassword", "DomainPassword", false, ""));
        }
        _ => {
            return Err(o.err(
                "give either `workgroup` or `domain`".into(),
                Some("over a CMG join a workgroup: workgroup = \"WORKGROUP\""),
            ));
        }
    }
    Ok(())
}

/// The `setup_windows_and_configmgr` kind.
fn setup_windows_and_configmgr(
    o: &mut Opts<'_>,
    f: &mut Friendly,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    let pkg = o.req("client_package")?;
    let host = o.str("ccmhostname")?;
    let site = o.str("site_code")?;
    let extra = o.str("install_properties")?;
    let mut props: Vec<String> = Vec::new();
    if let Some(h) = host {
        props.push(format!("CCMHOSTNAME={h}"));
    }
    if let Some(s) = site {
        props.push(format!("SMSSITECODE={s}"));
    }
    if let Some(e) = extra.filter(|e| !e.is_empty()) {
        props.push(e);
    }
    f.action = "OSDSetupWindows.exe".into();
    f.vars.push(v(
        "SMSClientInstallProperties",
        "ClientInstallProperties",
        false,
        props.join(" "),
    ));
    f.vars.push(v(
        "_SMSClientPackageID",
        "ClientPackageID",
        false,
        pkg.clone(),
    ));
    ctx.add_package(&pkg, None);
    Ok(())
}

/// The `run_command_line` kind.
fn run_command_line(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let cmd = o.req("command")?;
    let pkg = o.str("package")?;
    let wd = o.str("working_directory")?;
    let wow = o.bool("disable_wow64_redirection", false)?;
    let outv = o.str("output_variable")?;
    f.success = &[0, 3010];
    f.action = format!("smsswd.exe /run:{} {cmd}", pkg.clone().unwrap_or_default());
    f.vars.push(v("CommandLine", "CommandLine", true, cmd));
    if let Some(p) = &pkg {
        f.vars.push(v("PackageID", "PackageID", true, p.clone()));
        ctx.add_package(p, None);
    }
    if let Some(w) = wd {
        f.vars
            .push(v("WorkingDirectory", "WorkingDirectory", false, w));
    }
    f.vars.push(v(
        "SMSTSDisableWow64Redirection",
        "DisableWow64Redirection",
        false,
        tf(wow),
    ));
    if let Some(ov) = outv {
        f.vars.push(v(
            "SMSTSRunCommandLineOutputVariableName",
            "OutputVariableName",
            false,
            ov,
        ));
    }
    f.vars
        .push(v("_SMSTSRunCommandLineAsUser", "RunAsUser", false, "false"));
    Ok(())
}

/// The `run_powershell` kind.
fn run_powershell(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkg = o.str("package")?;
    let name = o.str("script_name")?;
    let script = o.str("script")?;
    let params = o.str("parameters")?;
    let policy = o
        .str("execution_policy")?
        .unwrap_or_else(|| "Bypass".into());
    let outv = o.str("output_variable")?;
    if !["Bypass", "AllSigned", "Undefined"].contains(&policy.as_str()) {
        return Err(o.err(
            format!("execution_policy {policy:?} is not Bypass, AllSigned or Undefined"),
            None,
        ));
    }
    f.success = &[0, 3010];
    f.action = "OSDRunPowerShellScript.exe".into();
    f.vars.push(v(
        "OSDRunPowerShellScriptExecutionPolicy",
        "ExecutionPolicy",
        false,
        policy,
    ));
    match (pkg, name, script) {
        (Some(p), Some(n), None) => {
            f.vars.push(v(
                "OSDRunPowerShellScriptPackageID",
                "PackageID",
                false,
                p.clone(),
            ));
            f.vars.push(v(
                "OSDRunPowerShellScriptScriptName",
                "ScriptName",
                false,
                n,
            ));
            ctx.add_package(&p, None);
        }
        (None, None, Some(s)) => {
            f.vars.push(v(
                "OSDRunPowerShellScriptSourceScript",
                "SourceScript",
                false,
                encode_script(&s),
            ));
        }
        _ => {
            return Err(o.err(
                "give `package` and `script_name`, or an inline `script`".into(),
                None,
            ));
        }
    }
    f.vars.push(v(
        "OSDRunPowerShellScriptParameters",
        "Parameters",
        false,
        params.unwrap_or_default(),
    ));
    f.vars.push(v(
        "OSDRunPowerShellScriptOutputVariableName",
        "OutputVariableName",
        false,
        outv.unwrap_or_default(),
    ));
    f.vars
        .push(v("_SMSTSRunPowerShellAsUser", "RunAsUser", false, "false"));
    f.vars.push(v(
        "OSDRunPowerShellScriptSuccessCodes",
        "SuccessCodes",
        true,
        "0 3010",
    ));
    Ok(())
}

/// The `install_application` kind.
fn install_application(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let apps = o.list("applications")?;
    let coe = o.bool("continue_on_install_error", false)?;
    if apps.is_empty() {
        return Err(o.err(
            "option `applications` needs at least one application CI unique ID".into(),
            Some("applications = [\"ScopeId_…/Application_…\"]"),
        ));
    }
    f.run_in = "FullOS";
    f.retry = Some(2);
    let joined = apps.join(":");
    f.action = format!(
        "smsappinstall.exe /app:{joined} /basevar: /continueOnError:{}",
        title(coe)
    );
    f.vars
        .push(v("ApplicationName", "ApplicationName", true, joined));
    f.vars.push(v(
        "ContinueOnInstallError",
        "ContinueOnInstallError",
        true,
        tf(coe),
    ));
    f.vars
        .push(v("OSDAppCount", "NumApps", false, apps.len().to_string()));
    f.vars.push(v("RetryCount", "RetryCount", true, "2"));
    for a in &apps {
        ctx.add_application(a);
    }
    Ok(())
}

/// The `install_package` kind.
fn install_package(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkg = o.req("package")?;
    let prog = o.req("program")?;
    f.run_in = "FullOS";
    f.action = format!("smsswd.exe /pkg:{pkg} /install /program:\"{prog}\"");
    f.vars.push(v("PackageID", "PackageID", true, pkg.clone()));
    f.vars
        .push(v("_SMSSWDProgramName", "ProgramName", true, prog.clone()));
    ctx.add_package(&pkg, Some(&prog));
    Ok(())
}

/// The `apply_driver_package` kind.
fn apply_driver_package(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkg = o.req("package")?;
    let unsigned = o.bool("unsigned", false)?;
    let recurse = o.bool("recurse", false)?;
    f.run_in = "WinPE";
    f.action = format!(
        "osddriverclient.exe /install:{pkg} /unsigned:%OSDAllowUnsignedDriver% /recurse:%OSDRecurse%"
    );
    f.vars.push(v(
        "OSDApplyDriverDriverPackageID",
        "DriverPackageID",
        true,
        pkg.clone(),
    ));
    f.vars.push(v("OSDRecurse", "Recurse", false, tf(recurse)));
    f.vars.push(v(
        "OSDAllowUnsignedDriver",
        "UnsignedDriver",
        false,
        tf(unsigned),
    ));
    ctx.add_package(&pkg, None);
    Ok(())
}

/// The `format_and_partition_disk` kind.
fn format_and_partition_disk(o: &mut Opts<'_>, f: &mut Friendly, _ctx: &mut Ctx<'_>) -> Result<()> {
    let disk = o.int("disk_index", 0)?;
    let layout = o.str("layout")?.unwrap_or_else(|| "uefi".into());
    f.run_in = "WinPE";
    f.action = "osddiskpart.exe".into();
    // (type, file system, bootable, volume name, size, units, letter variable)
    let parts: &[(&str, &str, bool, &str, &str, &str, &str)] = match layout.as_str() {
        "uefi" => &[
            ("EFI", "FAT32", false, "EFI", "500", "MB", ""),
            ("MSR", "", false, "", "16", "MB", ""),
            (
                "PRIMARY", "NTFS", false, "Windows", "100", "Percent", "OSDisk",
            ),
        ],
        "bios" => &[
            ("PRIMARY", "NTFS", true, "System Reserved", "500", "MB", ""),
            (
                "PRIMARY", "NTFS", false, "Windows", "100", "Percent", "OSDisk",
            ),
        ],
        other => return Err(o.err(format!("layout {other:?} is not uefi or bios"), None)),
    };
    let gpt = layout == "uefi";
    f.vars
        .push(v("OSDDiskIndex", "DiskIndex", false, disk.to_string()));
    f.vars.push(v("OSDDiskType", "DiskType", false, "Basic"));
    f.vars
        .push(v("OSDGPTBootDisk", "GPTBootDisk", false, tf(gpt)));
    f.vars.push(v(
        "OSDPartitionStyle",
        "PartitionStyle",
        false,
        if gpt { "GPT" } else { "MBR" },
    ));
    f.vars.push(v(
        "OSDPartitions",
        "Partitions",
        true,
        parts.len().to_string(),
    ));
    for (i, (ty, fs, boot, vol, size, units, letter)) in parts.iter().enumerate() {
        let n = |f: &str| (format!("OSDPartitions{i}{f}"), format!("Partitions{i}{f}"));
        let mut put = |field: &str, val: &str| {
            let (a, b) = n(field);
            f.vars.push(v(&a, &b, false, val));
        };
        put("Type", ty);
        put("FileSystem", fs);
        put("Bootable", tf(*boot));
        put("QuickFormat", "true");
        put("VolumeName", vol);
        put("Size", size);
        put("SizeUnits", units);
        if !letter.is_empty() {
            put("AssignVolumeLetter", "true");
            put("VolumeLetterVariable", letter);
        }
    }
    Ok(())
}

/// The `restart` kind.
fn restart(o: &mut Opts<'_>, f: &mut Friendly, _ctx: &mut Ctx<'_>) -> Result<()> {
    let target = o.str("target")?.unwrap_or_else(|| "os".into());
    let msg = o.str("message")?.unwrap_or_default();
    let timeout = o.int("message_timeout", 60)?;
    let t = match target.as_str() {
        "winpe" => "WinPE",
        "os" => "HD",
        other => return Err(o.err(format!("target {other:?} is not winpe or os"), None)),
    };
    f.action = format!("smsboot.exe /target:{t}");
    f.vars.push(v("SMSRebootMessage", "Message", false, msg));
    f.vars.push(v(
        "SMSRebootTimeout",
        "MessageTimeout",
        false,
        timeout.to_string(),
    ));
    f.vars.push(v("SMSRebootTarget", "Target", true, t));
    Ok(())
}

/// The `set_variable` kind.
fn set_variable(o: &mut Opts<'_>, f: &mut Friendly, _ctx: &mut Ctx<'_>) -> Result<()> {
    let name = o.req("variable")?;
    let value = o.str("value")?.unwrap_or_default();
    let hide = o.bool("hide_value", false)?;
    f.action = format!("tsenv.exe \"{name}={value}\" /hiddenflag:{}", title(hide));
    f.vars.push(v(
        "DoNotShowVariableValue",
        "DoNotShowVariableValue",
        true,
        tf(hide),
    ));
    f.vars.push(v("VariableName", "VariableName", true, name));
    f.vars
        .push(v("VariableValue", "VariableValue", true, value));
    Ok(())
}

/// The `download_package_content` kind.
fn download_package_content(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkgs = o.list("packages")?;
    let dest = o.str("destination")?.unwrap_or_else(|| "ccmcache".into());
    let custom = o.str("custom_path")?;
    let var = o.str("destination_variable")?;
    let coe = o.bool("continue_on_download_error", false)?;
    if pkgs.is_empty() {
        return Err(o.err(
            "option `packages` needs at least one package ID".into(),
            None,
        ));
    }
    let loc_type = match dest.as_str() {
        "ccmcache" => "CCMCache",
        "working_directory" => "TSCache",
        "custom" => "Custom",
        other => {
            return Err(o.err(
                format!("destination {other:?} is not ccmcache, working_directory or custom"),
                None,
            ));
        }
    };
    f.action = "OsdDownloadContent.exe".into();
    f.vars.push(v(
        "OSDDownloadContinueDownloadOnError",
        "ContinueDownloadOnError",
        false,
        tf(coe),
    ));
    f.vars.push(v(
        "OSDDownloadDestinationLocationType",
        "DestinationLocationType",
        false,
        loc_type,
    ));
    if loc_type == "Custom" {
        let p =
            custom.ok_or_else(|| o.err("destination custom needs `custom_path`".into(), None))?;
        f.vars
            .push(v("OSDDownloadDestinationPath", "DestinationPath", false, p));
    }
    f.vars.push(v(
        "OSDDownloadDestinationVariable",
        "DestinationVariable",
        false,
        var.unwrap_or_default(),
    ));
    f.vars.push(v(
        "OSDDownloadDownloadPackages",
        "DownloadPackages",
        false,
        pkgs.join(","),
    ));
    for p in &pkgs {
        ctx.add_package(p, None);
    }
    Ok(())
}

/// The `upgrade_os` kind.
fn upgrade_os(o: &mut Opts<'_>, f: &mut Friendly, ctx: &mut Ctx<'_>) -> Result<()> {
    let pkg = o.req("package")?;
    let idx = o.int("edition_index", 1)?;
    let dyn_update = o.str("dynamic_update")?.unwrap_or_else(|| "Disable".into());
    let ignore = o.bool("ignore_messages", false)?;
    f.run_in = "FullOS";
    f.action = format!("OSDUpgradeOS.exe /install:{pkg},%OSDUpgradeInstallEditionIndex%");
    f.vars.push(v(
        "OSDUpgradeDynamicUpdateSettings",
        "DynamicUpdateSettings",
        false,
        dyn_update,
    ));
    f.vars.push(v(
        "OSDUpgradeIgnoreMessages",
        "IgnoreMessages",
        false,
        tf(ignore),
    ));
    f.vars.push(v(
        "OSDUpgradeInstallEditionIndex",
        "InstallEditionIndex",
        false,
        idx.to_string(),
    ));
    f.vars.push(v(
        "OSDUpgradeInstallPackageID",
        "InstallPackageID",
        true,
        pkg.clone(),
    ));
    f.vars.push(v(
        "OSDUpgradePreserveSettings",
        "PreserveSettings",
        false,
        "Upgrade",
    ));
    f.vars
        .push(v("OSDUpgradeScanOnly", "ScanOnly", false, "false"));
    ctx.add_package(&pkg, None);
    Ok(())
}
