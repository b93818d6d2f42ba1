//! The deployable package of a task sequence (`shared/specs/task-sequence.md` §1, §8, §9 D5):
//!
//! | file | content |
//! |---|---|
//! | `sequence.xml` | the `<sequence version="3.10">` for `SMS_TaskSequencePackage.ImportSequence` |
//! | `deployment.json` | the deployment settings and the computed `SMS_Advertisement` flags |
//! | `Deploy.ps1` | creates or updates the task sequence and its deployment with the ConfigMgr cmdlets; idempotent, `-WhatIf` aware |
//! | `content.json` | every referenced package/application to distribute to the content-enabled CMG |
//! | `lint.json`, `lint.txt` | the lint report |
//! | `SHA256SUMS` | `sha256sum -c` format over the files above |
//!
//! The output is a directory or a `.zip` (deterministic: fixed timestamps, sorted names).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use sha2::Digest;

use super::deploy::{Deployment, Purpose};
use super::lint::Report;
use super::source::Loaded;
use super::{Error, Result};

/// One referenced content item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContentItem {
    /// Package ID or application CI unique ID.
    pub id: String,
    /// `package`, `application`, `task_sequence` or `boot_image`.
    pub kind: &'static str,
    /// Where it is referenced (`referenceList`, step paths, `deployment`).
    pub referenced_by: Vec<String>,
}

/// Step variables whose value is a package ID (§5).
const PACKAGE_VARS: &[&str] = &[
    "PackageID",
    "ImagePackageID",
    "InstallPackageID",
    "ConfigFilePackage",
    "_SMSClientPackageID",
    "OSDApplyDriverDriverPackageID",
    "OSDRunPowerShellScriptPackageID",
    "OSDUpgradeInstallPackageID",
    "OSDSubTasksequencePackageID",
    "_OSDMigrateUsmtPackageID",
];

/// Every package and application the sequence references, sorted by id.
pub fn content(l: &Loaded, dep: &Deployment) -> Vec<ContentItem> {
    let mut map: BTreeMap<String, ContentItem> = BTreeMap::new();
    let mut add = |id: &str, kind: &'static str, by: String| {
        let id = id.trim();
        if id.is_empty() || id.contains('%') {
            return;
        }
        let e = map.entry(id.to_string()).or_insert_with(|| ContentItem {
            id: id.to_string(),
            kind,
            referenced_by: Vec::new(),
        });
        if !e.referenced_by.contains(&by) {
            e.referenced_by.push(by);
        }
    };
    for r in l.sequence.references.iter().flatten() {
        if let Some(id) = r.id() {
            let kind = if r.is_application() {
                "application"
            } else if r.program() == Some("*") {
                "task_sequence"
            } else {
                "package"
            };
            add(id, kind, "referenceList".into());
        }
    }
    for (groups, s) in l.sequence.walk() {
        let mut loc = String::new();
        for g in &groups {
            loc.push('/');
            loc.push_str(g.name());
        }
        loc.push('/');
        loc.push_str(s.name());
        for v in s.vars.iter().flatten() {
            let n = v.name();
            if PACKAGE_VARS.iter().any(|p| p.eq_ignore_ascii_case(n)) {
                let kind = if n.eq_ignore_ascii_case("OSDSubTasksequencePackageID") {
                    "task_sequence"
                } else {
                    "package"
                };
                add(&v.value, kind, loc.clone());
            } else if n.eq_ignore_ascii_case("OSDDownloadDownloadPackages") {
                for id in v.value.split(',') {
                    add(id, "package", loc.clone());
                }
            } else if n.eq_ignore_ascii_case("ApplicationName")
                && s.short_type() == "InstallApplicationAction"
            {
                for id in v.value.split(':').collect::<Vec<_>>().chunks(1) {
                    if let Some(id) = id.first() {
                        add(id, "application", loc.clone());
                    }
                }
            }
        }
    }
    let boot = dep
        .boot_image_id
        .clone()
        .or_else(|| l.package.boot_image_id.clone())
        .unwrap_or_default();
    add(&boot, "boot_image", "deployment".into());
    map.into_values().collect()
}

/// Quotes a value for PowerShell as a single-quoted string (`'` doubled; no expansion).
pub fn ps_quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        // PowerShell also treats the typographic single quotes as quote characters.
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn ps_bool(b: bool) -> &'static str {
    if b { "$true" } else { "$false" }
}

/// Generates `Deploy.ps1`.
pub fn deploy_ps1(name: &str, dep: &Deployment, items: &[ContentItem], seq_sha256: &str) -> String {
    let mut s = String::new();
    ps1_prelude(&mut s, name, dep, seq_sha256);
    ps1_deployment(&mut s, dep);
    ps1_content(&mut s, items);
    s
}

/// Deploy.ps1, part 1: parameters, the package hash check and the site connection.
fn ps1_prelude(s: &mut String, name: &str, dep: &Deployment, seq_sha256: &str) {
    let q = ps_quote;
    s.push_str("<#\n.SYNOPSIS\n    Creates or updates the task sequence and its deployment (generated by peforge ts package).\n");
    s.push_str(".DESCRIPTION\n    Idempotent: an existing task sequence with the same name is updated only when its XML differs,\n    an existing deployment to the collection is updated in place. Supports -WhatIf and -Confirm.\n    Run on a machine with the Configuration Manager console installed.\n#>\n");
    s.push_str(
        "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]\nparam(\n",
    );
    s.push_str("    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9]{3}$')][string]$SiteCode,\n");
    s.push_str("    [Parameter(Mandatory = $true)][string]$ProviderMachineName,\n");
    s.push_str(&format!(
        "    [string]$DistributionPointName = {}\n)\n\n",
        q(dep.cmg_distribution_point.as_deref().unwrap_or(""))
    ));
    s.push_str("$ErrorActionPreference = 'Stop'\n\n");
    s.push_str(&format!("$TaskSequenceName = {}\n", q(name)));
    s.push_str(&format!(
        "$Description = {}\n",
        q(dep.description.as_deref().unwrap_or(""))
    ));
    s.push_str(&format!(
        "$BootImageId = {}\n",
        q(dep.boot_image_id.as_deref().unwrap_or(""))
    ));
    s.push_str(&format!("$CollectionName = {}\n", q(&dep.collection)));
    s.push_str(&format!("$ExpectedSha256 = {}\n", q(seq_sha256)));
    s.push_str("$SequencePath = Join-Path $PSScriptRoot 'sequence.xml'\n\n");
    s.push_str("# Check the package is intact before touching the site.\n");
    s.push_str("$actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $SequencePath).Hash.ToLowerInvariant()\n");
    s.push_str("if ($actual -ne $ExpectedSha256) { throw \"sequence.xml does not match its SHA-256 ($actual)\" }\n");
    s.push_str("$SequenceXml = [System.IO.File]::ReadAllText($SequencePath)\n\n");
    s.push_str("# Connect to the site.\n");
    s.push_str("if (-not (Get-Module ConfigurationManager)) {\n    Import-Module (Join-Path (Split-Path $env:SMS_ADMIN_UI_PATH -Parent) 'ConfigurationManager.psd1')\n}\n");
    s.push_str("if (-not (Get-PSDrive -Name $SiteCode -PSProvider CMSite -ErrorAction SilentlyContinue)) {\n    New-PSDrive -Name $SiteCode -PSProvider CMSite -Root $ProviderMachineName -WhatIf:$false | Out-Null\n}\n");
    s.push_str(
        "Push-Location \"$($SiteCode):\\\"\n$Namespace = \"root\\SMS\\site_$SiteCode\"\ntry {\n",
    );
    s.push_str("    # 1. The task sequence: create it if missing, then set its sequence when it differs.\n");
    s.push_str("    $ts = Get-CMTaskSequence -Name $TaskSequenceName -Fast\n");
    s.push_str("    if (-not $ts) {\n        if ($PSCmdlet.ShouldProcess($TaskSequenceName, 'New-CMTaskSequence')) {\n");
    s.push_str("            $new = @{ CustomTaskSequence = $true; Name = $TaskSequenceName; Description = $Description }\n");
    s.push_str("            if ($BootImageId) { $new.BootImagePackageId = $BootImageId }\n");
    s.push_str("            $ts = New-CMTaskSequence @new\n        }\n    }\n");
    s.push_str("    if ($ts) {\n");
    s.push_str("        $pkg = Get-CimInstance -ComputerName $ProviderMachineName -Namespace $Namespace -ClassName SMS_TaskSequencePackage -Filter \"PackageID='$($ts.PackageID)'\" | Get-CimInstance\n");
    s.push_str("        if ($pkg.Sequence -ne $SequenceXml) {\n            if ($PSCmdlet.ShouldProcess($TaskSequenceName, 'SetSequence from sequence.xml')) {\n");
    s.push_str("                $imported = Invoke-CimMethod -ComputerName $ProviderMachineName -Namespace $Namespace -ClassName SMS_TaskSequencePackage -MethodName ImportSequence -Arguments @{ SequenceXml = $SequenceXml }\n");
    s.push_str("                Invoke-CimMethod -ComputerName $ProviderMachineName -Namespace $Namespace -ClassName SMS_TaskSequencePackage -MethodName SetSequence -Arguments @{ TaskSequencePackage = $pkg; TaskSequence = $imported.TaskSequence } | Out-Null\n");
    s.push_str("            }\n        } else {\n            Write-Verbose 'Task sequence XML already up to date'\n        }\n    }\n\n");
}

/// Deploy.ps1, part 2: import the sequence and deploy it with the computed settings.
fn ps1_deployment(s: &mut String, dep: &Deployment) {
    let q = ps_quote;
    s.push_str("    # 2. The deployment (settings from deploy.toml; flags in deployment.json).\n");
    s.push_str("    $params = @{\n");
    let purpose = match dep.purpose {
        Purpose::Available => "Available",
        Purpose::Required => "Required",
    };
    let mut p = |k: &str, v: String| s.push_str(&format!("        {k} = {v}\n"));
    p("DeployPurpose", q(purpose));
    p("Availability", q(dep.availability.cmdlet()));
    p("InternetOption", ps_bool(dep.allow_internet).into());
    p("DeploymentOption", q(dep.deployment_option.cmdlet()));
    p(
        "ShowTaskSequenceProgress",
        ps_bool(dep.user_experience.show_progress).into(),
    );
    p(
        "SoftwareInstallation",
        ps_bool(
            dep.user_experience
                .software_installation_outside_maintenance_window,
        )
        .into(),
    );
    p(
        "SystemRestart",
        ps_bool(
            dep.user_experience
                .system_restart_outside_maintenance_window,
        )
        .into(),
    );
    p("SendWakeupPacket", ps_bool(dep.send_wake_up).into());
    p(
        "AllowSharedContent",
        ps_bool(dep.allow_shared_content).into(),
    );
    p("AllowFallback", ps_bool(dep.allow_fallback).into());
    p("UseMeteredNetwork", ps_bool(dep.metered_network).into());
    p("RerunBehavior", q(dep.rerun.cmdlet()));
    if dep.purpose == Purpose::Required {
        p(
            "RunFromSoftwareCenter",
            ps_bool(dep.user_experience.allow_user_run_independently).into(),
        );
        p(
            "PersistOnWriteFilterDevice",
            ps_bool(dep.user_experience.commit_on_write_filter).into(),
        );
    }
    if let Some(a) = &dep.schedule.available {
        p("AvailableDateTime", format!("[datetime]{}", q(a)));
    }
    if let Some(e) = &dep.schedule.expires {
        p("DeadlineDateTime", format!("[datetime]{}", q(e)));
    }
    s.push_str("    }\n");
    if dep.purpose == Purpose::Required {
        match dep.schedule.assignment.as_deref() {
            Some("asap") => s.push_str("    $params.ScheduleEvent = 'AsSoonAsPossible'\n"),
            Some("logon") => s.push_str("    $params.ScheduleEvent = 'LogOn'\n"),
            Some("logoff") => s.push_str("    $params.ScheduleEvent = 'LogOff'\n"),
            Some(t) => s.push_str(&format!(
                "    $params.Schedule = New-CMSchedule -Start ([datetime]{}) -Nonrecurring\n",
                q(t)
            )),
            None => {}
        }
    }
    s.push_str("    $collection = Get-CMCollection -Name $CollectionName\n");
    s.push_str("    if (-not $collection) { throw \"collection '$CollectionName' not found\" }\n");
    s.push_str("    if ($ts) {\n");
    s.push_str("        $existing = Get-CMTaskSequenceDeployment -TaskSequenceId $ts.PackageID | Where-Object { $_.CollectionID -eq $collection.CollectionID }\n");
    s.push_str("        if ($existing) {\n            if ($PSCmdlet.ShouldProcess(\"$TaskSequenceName -> $CollectionName\", 'Set-CMTaskSequenceDeployment')) {\n");
    s.push_str("                Set-CMTaskSequenceDeployment -InputObject $existing @params\n            }\n");
    s.push_str("        } elseif ($PSCmdlet.ShouldProcess(\"$TaskSequenceName -> $CollectionName\", 'New-CMTaskSequenceDeployment')) {\n");
    s.push_str("            $existing = New-CMTaskSequenceDeployment -TaskSequencePackageId $ts.PackageID -CollectionId $collection.CollectionID @params\n        }\n");
    if dep.pre_download {
        s.push_str("        # Pre-download content (General tab) has no cmdlet parameter: set AdvertFlags bit 0x1000\n        # OPTIONALPREDOWNLOAD on the SMS_Advertisement (inferred mapping, see deployment.json).\n");
        s.push_str("        if ($existing) {\n            $adv = Get-CimInstance -ComputerName $ProviderMachineName -Namespace $Namespace -ClassName SMS_Advertisement -Filter \"AdvertisementID='$($existing.AdvertisementID)'\"\n");
        s.push_str("            if ((($adv.AdvertFlags -band 0x1000) -eq 0) -and $PSCmdlet.ShouldProcess($adv.AdvertisementID, 'Set AdvertFlags OPTIONALPREDOWNLOAD')) {\n");
        s.push_str("                Set-CimInstance -InputObject $adv -Property @{ AdvertFlags = ($adv.AdvertFlags -bor 0x1000) }\n            }\n        }\n");
    }
    s.push_str("    }\n\n");
}

/// Deploy.ps1, part 3: distribute the referenced content to the distribution point.
fn ps1_content(s: &mut String, items: &[ContentItem]) {
    let q = ps_quote;
    s.push_str("    # 3. Content: distribute every referenced item to the content-enabled CMG (content.json).\n");
    s.push_str("    $Packages = @(");
    let pk: Vec<String> = items
        .iter()
        .filter(|i| i.kind != "application")
        .map(|i| q(&i.id))
        .collect();
    s.push_str(&pk.join(", "));
    s.push_str(")\n    $Applications = @(");
    let ap: Vec<String> = items
        .iter()
        .filter(|i| i.kind == "application")
        .map(|i| q(&i.id))
        .collect();
    s.push_str(&ap.join(", "));
    s.push_str(")\n");
    s.push_str("    if (-not $DistributionPointName) {\n        Write-Warning 'No -DistributionPointName: content not distributed; distribute content.json to the content-enabled CMG'\n    } else {\n");
    s.push_str("        $present = @(Get-CMDeploymentPackage -DistributionPointName $DistributionPointName | ForEach-Object { $_.PackageID })\n");
    s.push_str("        foreach ($id in $Packages) {\n            if ($present -contains $id) { Write-Verbose \"$id already on $DistributionPointName\"; continue }\n");
    s.push_str("            # SMS_PackageBaseclass.PackageType decides which parameter names the content.\n");
    s.push_str("            $type = (Get-CimInstance -ComputerName $ProviderMachineName -Namespace $Namespace -ClassName SMS_PackageBaseclass -Filter \"PackageID='$id'\").PackageType\n");
    s.push_str("            $target = switch ($type) {\n                3 { @{ DriverPackageId = $id } }\n                4 { $null }\n                257 { @{ OperatingSystemImageId = $id } }\n                258 { @{ BootImageId = $id } }\n                259 { @{ OperatingSystemInstallerId = $id } }\n                default { @{ PackageId = $id } }\n            }\n");
    s.push_str("            if ($null -eq $target) { Write-Verbose \"$id is a task sequence: its own references are listed separately\"; continue }\n");
    s.push_str("            if ($PSCmdlet.ShouldProcess(\"$id -> $DistributionPointName\", 'Start-CMContentDistribution')) {\n");
    s.push_str("                Start-CMContentDistribution @target -DistributionPointName $DistributionPointName\n            }\n        }\n");
    s.push_str("        foreach ($model in $Applications) {\n            $app = Get-CMApplication -ModelName ($model -replace '/[0-9]+$', '') -Fast\n");
    s.push_str(
        "            if (-not $app) { Write-Warning \"application $model not found\"; continue }\n",
    );
    s.push_str("            if ($PSCmdlet.ShouldProcess(\"$model -> $DistributionPointName\", 'Start-CMContentDistribution')) {\n");
    s.push_str("                try {\n                    Start-CMContentDistribution -ApplicationId $app.CI_ID -DistributionPointName $DistributionPointName\n");
    s.push_str("                } catch {\n                    if ($_.Exception.Message -match 'already') { Write-Verbose \"$model already on $DistributionPointName\" } else { throw }\n                }\n            }\n        }\n    }\n");
    s.push_str("} finally {\n    Pop-Location\n}\n");
}

/// What `package` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// Output path.
    pub output: String,
    /// `directory` or `zip`.
    pub kind: &'static str,
    /// Files with their SHA-256, sorted by name.
    pub files: Vec<FileEntry>,
    /// The computed advertisement flags.
    pub advertisement: super::deploy::Advertisement,
    /// Lint errors and warnings in the packaged report.
    pub lint_errors: usize,
    /// Lint warnings.
    pub lint_warnings: usize,
}

/// One packaged file.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

fn sha(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

fn json_doc<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let inner =
        serde_json::to_value(v).map_err(|e| Error::invalid("", "json", e.to_string(), None))?;
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), 1.into());
    if let serde_json::Value::Object(m) = inner {
        doc.extend(m);
    }
    let mut s = serde_json::to_vec_pretty(&serde_json::Value::Object(doc))
        .map_err(|e| Error::invalid("", "json", e.to_string(), None))?;
    s.push(b'\n');
    Ok(s)
}

/// The name the task sequence gets in the console.
pub fn ts_name(l: &Loaded, dep: &Deployment, fallback: &str) -> String {
    dep.name
        .clone()
        .or_else(|| l.package.name.clone())
        .or_else(|| {
            l.sequence
                .attrs
                .iter()
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| fallback.to_string())
}

/// Builds every file of the package in memory, sorted by name.
pub fn files(
    l: &Loaded,
    dep: &Deployment,
    report: &Report,
    fallback_name: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut seq = l.sequence.clone();
    // The package always carries the ConfigMgr form.
    seq.declaration = false;
    let xml = seq.to_xml().into_bytes();
    let xml_sha = sha(&xml);
    let items = content(l, dep);
    let name = ts_name(l, dep, fallback_name);
    let adv = dep.advertisement();
    #[derive(Serialize)]
    struct DeploymentJson<'a> {
        task_sequence: &'a str,
        settings: &'a Deployment,
        sms_advertisement: &'a super::deploy::Advertisement,
    }
    #[derive(Serialize)]
    struct ContentJson<'a> {
        note: &'a str,
        items: &'a [ContentItem],
    }
    let mut out = vec![
        ("sequence.xml".to_string(), xml),
        (
            "deployment.json".into(),
            json_doc(&DeploymentJson {
                task_sequence: &name,
                settings: dep,
                sms_advertisement: &adv,
            })?,
        ),
        (
            "content.json".into(),
            json_doc(&ContentJson {
                note: "distribute every item to the content-enabled CMG (Allow CMG to function as a cloud distribution point)",
                items: &items,
            })?,
        ),
        ("lint.json".into(), json_doc(report)?),
        (
            "lint.txt".into(),
            super::lint::render_text(report).into_bytes(),
        ),
        (
            "Deploy.ps1".into(),
            deploy_ps1(&name, dep, &items, &xml_sha).into_bytes(),
        ),
    ];
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sums = String::new();
    for (n, b) in &out {
        sums.push_str(&format!("{}  {n}\n", sha(b)));
    }
    out.push(("SHA256SUMS".into(), sums.into_bytes()));
    Ok(out)
}

/// Writes the package to a directory or a `.zip` and verifies it by reading it back.
/// `fallback_name` names the task sequence when neither deploy.toml nor the package gives one.
pub fn write(
    l: &Loaded,
    dep: &Deployment,
    report: &Report,
    out: &Path,
    fallback_name: &str,
) -> Result<Written> {
    let files = files(l, dep, report, fallback_name)?;
    let is_zip = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let entries: Vec<FileEntry> = files
        .iter()
        .map(|(n, b)| FileEntry {
            name: n.clone(),
            bytes: b.len() as u64,
            sha256: sha(b),
        })
        .collect();
    if is_zip {
        let zerr = |e: &dyn std::fmt::Display| Error::Zip {
            path: out.into(),
            message: e.to_string(),
        };
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        for (n, b) in &files {
            z.start_file(n.as_str(), opts).map_err(|e| zerr(&e))?;
            z.write_all(b).map_err(|e| zerr(&e))?;
        }
        let bytes = z.finish().map_err(|e| zerr(&e))?.into_inner();
        crate::fsutil::write_atomic(out, &bytes).map_err(|e| Error::io(out, e))?;
        // Read back.
        let back = fs_err::read(out).map_err(|e| Error::io(out, e))?;
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(back)).map_err(|e| zerr(&e))?;
        for f in &entries {
            let mut m = a.by_name(&f.name).map_err(|e| zerr(&e))?;
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut m, &mut buf).map_err(|e| zerr(&e))?;
            if sha(&buf) != f.sha256 {
                return Err(zerr(&format!("read-back mismatch for {}", f.name)));
            }
        }
    } else {
        if out.exists() && !out.is_dir() {
            return Err(Error::invalid(
                out,
                "output",
                "exists and is not a directory",
                Some("give a directory or a path ending in .zip"),
            ));
        }
        fs_err::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        for (n, b) in &files {
            let p = out.join(n);
            crate::fsutil::write_atomic(&p, b).map_err(|e| Error::io(&p, e))?;
        }
        for f in &entries {
            let p = out.join(&f.name);
            let b = fs_err::read(&p).map_err(|e| Error::io(&p, e))?;
            if sha(&b) != f.sha256 {
                return Err(Error::invalid(
                    &p,
                    "read-back",
                    "content differs from what was written",
                    None,
                ));
            }
        }
    }
    Ok(Written {
        output: out.display().to_string(),
        kind: if is_zip { "zip" } else { "directory" },
        files: entries,
        advertisement: dep.advertisement(),
        lint_errors: report.errors,
        lint_warnings: report.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_single_quotes() {
        assert_eq!(ps_quote("O'Brien $x"), "'O''Brien $x'");
        assert_eq!(ps_quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
    }
}
