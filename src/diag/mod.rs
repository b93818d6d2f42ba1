//! Offline diagnosis of a device's registry: the Autopilot enrollment status page (ESP) of
//! Autopilot into co-management (`shared/specs/task-sequence.md` §11, seed 001).
//!
//! [`diagnose`] reads, from a SOFTWARE hive ([`HiveView`]) or a regedit export ([`RegView`]):
//!
//! - `InstallationState` of the ConfigMgr policy provider (client installation, *Device
//!   preparation*) and of `Provisioning_TS` (the `PROVISIONTS` task sequence, *Device setup*,
//!   Apps), explaining each state as seed 001 does and giving the next step it recommends;
//! - `ConfigInfo` under `Microsoft\DeviceManageabilityCSP\Provider\MS DM Server` (the Windows 11
//!   hybrid-join fix: REG_SZ `2` sets the management authority to Configuration Manager);
//! - the ESP timeout, if present: `SyncFailureTimeout` (minutes) under
//!   `Microsoft\Enrollments\<id>\FirstSync`. This location is **observed** (Microsoft's public
//!   Autopilot diagnostics script reads it), not stated by the spec or the seed; without it the
//!   seed's default of 60 minutes applies.
//!
//! The type of `InstallationState` is not documented (*unconfirmed*): it is read as a number from
//! REG_DWORD, REG_QWORD or a decimal REG_SZ; any other type is an error.
//!
//! ```no_run
//! use peforge::diag::{self, HiveView};
//! use peforge::registry::Hive;
//! let hive = Hive::open(std::path::Path::new("SOFTWARE")).unwrap();
//! let report = diag::diagnose(&HiveView::new(&hive)).unwrap();
//! println!("{:?}", report.status);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::registry::hive::{self, Hive, RawValue, types};
use crate::registry::reg::{self, RegFile};

/// The ESP tracking key of the ConfigMgr policy provider (client installation), relative to SOFTWARE.
pub const PROVIDER_KEY: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\DevicePreparation\\PolicyProviders\\ConfigMgr";
/// The ESP tracking key of the `PROVISIONTS` task sequence, relative to SOFTWARE.
pub const TS_KEY: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup\\Apps\\Tracking\\ConfigMgr\\Provisioning_TS";
/// Root of the ESP tracking keys.
pub const TRACKING_ROOT: &str = "Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking";
/// The key of the hybrid-join management authority value.
pub const CONFIGINFO_KEY: &str = "Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server";
/// The value name under [`CONFIGINFO_KEY`].
pub const CONFIGINFO_VALUE: &str = "ConfigInfo";
/// The tracked value name under [`PROVIDER_KEY`] and [`TS_KEY`].
pub const STATE_VALUE: &str = "InstallationState";
/// Enrollments root; each enrollment's `FirstSync` subkey may hold the ESP timeout (observed).
pub const ENROLLMENTS_KEY: &str = "Microsoft\\Enrollments";
/// The ESP timeout when the policy sets none (seed 001).
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 60;

/// Errors of the diagnosis: the input cannot be read or holds a value of the wrong type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The hive cannot be read.
    #[error(transparent)]
    Hive(#[from] hive::Error),
    /// The `.reg` file cannot be read.
    #[error(transparent)]
    Reg(#[from] reg::Error),
    /// The input has no `Microsoft` key at all: not a SOFTWARE hive (or export).
    #[error("{source_name}: no Microsoft key, this is not a SOFTWARE hive")]
    NotSoftware {
        /// The input file.
        source_name: PathBuf,
    },
    /// A tracked value has a type or content that is not a number.
    #[error(
        "{source_name}: {key}\\{value} is {found}, not a number (REG_DWORD, or REG_SZ holding digits)"
    )]
    WrongType {
        /// The input file.
        source_name: PathBuf,
        /// The key.
        key: String,
        /// The value name.
        value: String,
        /// What was found (type and data).
        found: String,
    },
}

impl Error {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Hive(e) => e.hint(),
            Error::Reg(e) => e.hint(),
            Error::NotSoftware { .. } => Some(
                "give the SOFTWARE hive (Windows\\System32\\config\\SOFTWARE), or an export of HKLM\\SOFTWARE".into(),
            ),
            Error::WrongType { .. } => Some(
                "the device wrote something unexpected here: check the value on the device with Get-ItemPropertyValue, or re-export the key".into(),
            ),
        }
    }
}

/// Read-only access to a SOFTWARE registry, whatever holds it. Key paths are relative to
/// `HKLM\SOFTWARE`, backslash-separated, case-insensitive.
pub trait RegistryView {
    /// The input's name for messages (the file).
    fn source_name(&self) -> PathBuf;
    /// Whether the key exists.
    fn has_key(&self, key: &str) -> Result<bool, Error>;
    /// A value of a key; `None` if the key or the value is absent.
    fn value(&self, key: &str, name: &str) -> Result<Option<RawValue>, Error>;
    /// Names of the subkeys of a key (empty if absent).
    fn subkeys(&self, key: &str) -> Result<Vec<String>, Error>;
}

/// A [`RegistryView`] over an open hive file.
#[derive(Debug)]
pub struct HiveView<'h> {
    hive: &'h Hive,
    name: PathBuf,
}

impl<'h> HiveView<'h> {
    /// Views `hive`; messages name the hive's file.
    pub fn new(hive: &'h Hive) -> HiveView<'h> {
        HiveView {
            hive,
            name: hive.path().to_path_buf(),
        }
    }

    /// Views `hive` but names `name` in messages (e.g. `install.wim[1]:Windows\...\SOFTWARE`
    /// for a hive extracted to a temporary file).
    pub fn named(hive: &'h Hive, name: PathBuf) -> HiveView<'h> {
        HiveView { hive, name }
    }
}

impl RegistryView for HiveView<'_> {
    fn source_name(&self) -> PathBuf {
        self.name.clone()
    }
    fn has_key(&self, key: &str) -> Result<bool, Error> {
        Ok(self.hive.lookup(key)?.is_some())
    }
    fn value(&self, key: &str, name: &str) -> Result<Option<RawValue>, Error> {
        match self.hive.lookup(key)? {
            Some(n) => Ok(self.hive.value(n, name)?),
            None => Ok(None),
        }
    }
    fn subkeys(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.hive.lookup(key)? {
            Some(n) => Ok(self
                .hive
                .children(n)?
                .into_iter()
                .map(|c| self.hive.name(c))
                .collect()),
            None => Ok(Vec::new()),
        }
    }
}

/// A [`RegistryView`] over a regedit export: the file's operations applied in order (deleted
/// keys and values removed), keys under `HKEY_LOCAL_MACHINE\SOFTWARE` only.
#[derive(Debug)]
pub struct RegView {
    name: PathBuf,
    /// Lower-cased key path relative to SOFTWARE → (display name, values by lower-cased name).
    keys: BTreeMap<String, BTreeMap<String, RawValue>>,
}

impl RegView {
    /// Builds the view from a parsed file; `name` is used in messages.
    pub fn new(file: &RegFile, name: PathBuf) -> RegView {
        let mut keys: BTreeMap<String, BTreeMap<String, RawValue>> = BTreeMap::new();
        for k in &file.keys {
            let Some(rel) = reg::hive_relative(&k.path, &["SOFTWARE"]) else {
                continue;
            };
            let rel = rel.trim_matches('\\').to_ascii_lowercase();
            if k.delete {
                let prefix = format!("{rel}\\");
                keys.retain(|p, _| *p != rel && !p.starts_with(&prefix));
                continue;
            }
            // Every ancestor exists too.
            let mut acc = String::new();
            for part in rel.split('\\') {
                if !acc.is_empty() {
                    acc.push('\\');
                }
                acc.push_str(part);
                keys.entry(acc.clone()).or_default();
            }
            let values = keys.entry(rel).or_default();
            for op in &k.values {
                match op {
                    reg::RegValueOp::Set(v) => {
                        values.insert(v.name.to_ascii_lowercase(), v.clone());
                    }
                    reg::RegValueOp::Delete(n) => {
                        values.remove(&n.to_ascii_lowercase());
                    }
                }
            }
        }
        RegView { name, keys }
    }

    /// Reads and parses a `.reg` file.
    pub fn read(path: &std::path::Path) -> Result<RegView, Error> {
        let file = reg::read(path)?;
        Ok(RegView::new(&file, path.to_path_buf()))
    }
}

fn norm(key: &str) -> String {
    key.trim_matches('\\').to_ascii_lowercase()
}

impl RegistryView for RegView {
    fn source_name(&self) -> PathBuf {
        self.name.clone()
    }
    fn has_key(&self, key: &str) -> Result<bool, Error> {
        Ok(self.keys.contains_key(&norm(key)))
    }
    fn value(&self, key: &str, name: &str) -> Result<Option<RawValue>, Error> {
        Ok(self
            .keys
            .get(&norm(key))
            .and_then(|v| v.get(&name.to_ascii_lowercase()))
            .cloned())
    }
    fn subkeys(&self, key: &str) -> Result<Vec<String>, Error> {
        let prefix = format!("{}\\", norm(key));
        Ok(self
            .keys
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('\\'))
            .map(str::to_string)
            .collect())
    }
}

/// How a check came out; the overall exit status follows the worst level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Nothing to report (value absent, or informational).
    Info,
    /// Done or not needed.
    Ok,
    /// Not finished yet (may be the cause if the ESP timed out).
    Pending,
    /// A failure the seed tells how to investigate; makes `esp diagnose` exit 1.
    Error,
}

/// One tracked `InstallationState`.
#[derive(Debug, Clone, Serialize)]
pub struct StateCheck {
    /// `client_install` or `provisioning_ts`.
    pub id: &'static str,
    /// What is tracked, in words.
    pub title: &'static str,
    /// The ESP phase that tracks it.
    pub phase: &'static str,
    /// `HKLM\SOFTWARE\...` key.
    pub key: String,
    /// Whether the key exists.
    pub key_present: bool,
    /// The state read, if the value is set.
    pub state: Option<u64>,
    /// The documented meaning of the state (or why there is none).
    pub meaning: String,
    /// How it came out.
    pub level: Level,
    /// What seed 001 says to do next.
    pub next_steps: Vec<String>,
}

/// The hybrid-join `ConfigInfo` value.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfoCheck {
    /// `HKLM\SOFTWARE\...` key.
    pub key: String,
    /// Value name (`ConfigInfo`).
    pub value: &'static str,
    /// The type found (`sz`, `dword`, ...), if set.
    pub r#type: Option<String>,
    /// The data found as text, if set.
    pub data: Option<String>,
    /// What it means.
    pub meaning: String,
    /// How it came out.
    pub level: Level,
    /// The offline command that applies the seed's fix.
    pub fix: String,
}

/// The ESP timeout.
#[derive(Debug, Clone, Serialize)]
pub struct Timeout {
    /// Minutes before the ESP shows an error.
    pub minutes: u64,
    /// `policy` (found under an enrollment's `FirstSync`) or `default` (seed 001: 60).
    pub source: &'static str,
    /// The key it was read from, if any.
    pub key: Option<String>,
}

/// Overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every tracked item is complete or not required.
    Ok,
    /// Something is still pending (not installed yet, in progress).
    InProgress,
    /// At least one error state.
    Error,
    /// No ESP tracking keys at all.
    NoTrackingKeys,
}

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Overall result.
    pub status: Status,
    /// One line summing it up.
    pub summary: String,
    /// The two tracked states (client installation, then task sequence).
    pub checks: Vec<StateCheck>,
    /// The hybrid-join value.
    pub config_info: ConfigInfoCheck,
    /// The ESP timeout.
    pub esp_timeout: Timeout,
    /// Things to rule out first (seed: supported scenario) when something failed.
    pub notes: Vec<String>,
}

impl Report {
    /// Number of error-level results.
    pub fn errors(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.level == Level::Error)
            .count()
            + usize::from(self.config_info.level == Level::Error)
    }
}

fn type_name(ty: u32) -> String {
    match ty {
        types::NONE => "REG_NONE".into(),
        types::SZ => "REG_SZ".into(),
        types::EXPAND_SZ => "REG_EXPAND_SZ".into(),
        types::BINARY => "REG_BINARY".into(),
        types::DWORD => "REG_DWORD".into(),
        types::MULTI_SZ => "REG_MULTI_SZ".into(),
        types::QWORD => "REG_QWORD".into(),
        other => format!("type {other}"),
    }
}

/// Reads a value as a number: REG_DWORD, REG_QWORD, or REG_SZ/REG_EXPAND_SZ holding digits.
fn as_number(v: &RawValue) -> Option<u64> {
    match v.ty {
        types::DWORD => <[u8; 4]>::try_from(v.data.as_slice())
            .ok()
            .map(|b| u64::from(u32::from_le_bytes(b))),
        types::QWORD => <[u8; 8]>::try_from(v.data.as_slice())
            .ok()
            .map(u64::from_le_bytes),
        types::SZ | types::EXPAND_SZ => hive::decode_sz(&v.data).trim().parse().ok(),
        _ => None,
    }
}

fn describe(v: &RawValue) -> String {
    match v.ty {
        types::SZ | types::EXPAND_SZ => {
            format!("{} {:?}", type_name(v.ty), hive::decode_sz(&v.data))
        }
        _ => format!("{} {}", type_name(v.ty), hex::encode(&v.data)),
    }
}

fn number(view: &dyn RegistryView, key: &str, name: &str) -> Result<Option<u64>, Error> {
    let Some(v) = view.value(key, name)? else {
        return Ok(None);
    };
    match as_number(&v) {
        Some(n) => Ok(Some(n)),
        None => Err(Error::WrongType {
            source_name: view.source_name(),
            key: format!("HKLM\\SOFTWARE\\{key}"),
            value: name.into(),
            found: describe(&v),
        }),
    }
}

const LOGS_CAB: &str = "Collect logs: Shift+F10 during OOBE, then %windir%\\system32\\mdmdiagnosticstool.exe -area Autopilot;DeviceEnrollment -cab %temp%\\autopilot-logs.cab (it does not collect the ConfigMgr logs: copy %windir%\\ccmsetup\\Logs and %windir%\\CCM\\Logs by hand)";

fn provider_check(view: &dyn RegistryView, timeout: u64) -> Result<StateCheck, Error> {
    let key_present = view.has_key(PROVIDER_KEY)?;
    let state = number(view, PROVIDER_KEY, STATE_VALUE)?;
    let (meaning, level, next): (String, Level, Vec<String>) = match state {
        None if !key_present => (
            "key absent: ConfigMgr is not registered as an ESP policy provider".into(),
            Level::Info,
            vec![
                "If the device should get the client from Intune: check that the co-management settings policy (Automatically install the Configuration Manager client: Yes) and an ESP profile are assigned to the device's group".into(),
            ],
        ),
        None => (
            "InstallationState not set".into(),
            Level::Info,
            vec!["The provider is registered but reports no state yet; look again after the Device preparation phase".into()],
        ),
        Some(1) => (
            "1 = not installed: the CCMSetup.msi bootstrap did not download from the Intune service or did not start installing (the default state of a registered provider)".into(),
            Level::Pending,
            vec![
                format!("If the ESP showed 0x800705b4 during Preparing your device for mobile management, it timed out ({timeout} minutes) waiting for the client: in autopilot-logs.cab, the Shell-Core log shows CommercialOOBE_ESPDevicePreparation_PolicyProvidersInstallation_TimedOut"),
                "Make sure the device receives CCMSetup.msi from Intune and the full client content from the CMG".into(),
                "Look in %windir%\\ccmsetup for the installation and log files".into(),
                "Examine %windir%\\ccmsetup\\Logs\\ccmsetup.log for failures".into(),
            ],
        ),
        Some(2) => (
            "2 = not required".into(),
            Level::Ok,
            Vec::new(),
        ),
        Some(3) => ("3 = complete: the client is installed".into(), Level::Ok, Vec::new()),
        Some(4) => (
            "4 = error: CCMSetup failed".into(),
            Level::Error,
            vec![
                "Review the client logs to find why CCMSetup failed: %windir%\\ccmsetup\\Logs\\ccmsetup.log first, then %windir%\\CCM\\Logs".into(),
                "Make sure the device receives CCMSetup.msi from Intune and the full client content from the CMG".into(),
                LOGS_CAB.into(),
            ],
        ),
        Some(n) => (
            format!("{n} = not a documented state (1 not installed, 2 not required, 3 complete, 4 error)"),
            Level::Error,
            vec!["Examine %windir%\\ccmsetup\\Logs\\ccmsetup.log".into()],
        ),
    };
    Ok(StateCheck {
        id: "client_install",
        title: "ConfigMgr client installation (ConfigMgr policy provider)",
        phase: "Device preparation",
        key: format!("HKLM\\SOFTWARE\\{PROVIDER_KEY}"),
        key_present,
        state,
        meaning,
        level,
        next_steps: next,
    })
}

fn ts_check(view: &dyn RegistryView, timeout: u64) -> Result<StateCheck, Error> {
    let key_present = view.has_key(TS_KEY)?;
    let state = number(view, TS_KEY, STATE_VALUE)?;
    let smsts = "%windir%\\CCM\\Logs\\SMSTS\\smsts.log";
    let (meaning, level, next): (String, Level, Vec<String>) = match state {
        None if !key_present => (
            "key absent: no PROVISIONTS task sequence is tracked (the command line has no PROVISIONTS, or Device setup was not reached)".into(),
            Level::Info,
            Vec::new(),
        ),
        None => (
            "InstallationState not set".into(),
            Level::Info,
            Vec::new(),
        ),
        Some(n @ (1 | 2)) => (
            if n == 1 {
                "1 = not installed: the task sequence has not started".into()
            } else {
                "2 = in progress: the task sequence is running".into()
            },
            Level::Pending,
            vec![
                format!("See whether the task sequence was still running when the ESP timed out ({timeout} minutes): read {smsts}"),
                "Look at the steps in smsts.log for one that took longer than anticipated; remove long-running steps or reduce the number of steps (keep few application installs)".into(),
                "Or increase the timeout in the enrollment status page policy".into(),
            ],
        ),
        Some(3) => ("3 = complete: the task sequence succeeded".into(), Level::Ok, Vec::new()),
        Some(4) => (
            "4 = error: the task sequence failed (the ESP shows an error for Apps in Device setup)".into(),
            Level::Error,
            vec![
                format!("Review the task sequence log {smsts} to find why it failed"),
                "In autopilot-logs.cab, the Shell-Core log shows CommercialOOBE_BootstrapStatusCategory_SubcategoryProcessing_Failed for DeviceSetup.AppsSubcategory".into(),
                "A PROVISIONTS sequence that installs updates or applications needs a PKI client authentication certificate and runs with Default Client Settings".into(),
                LOGS_CAB.into(),
            ],
        ),
        Some(n) => (
            format!("{n} = not a documented state (1 not installed, 2 in progress, 3 complete, 4 error)"),
            Level::Error,
            vec![format!("Read {smsts}")],
        ),
    };
    Ok(StateCheck {
        id: "provisioning_ts",
        title: "PROVISIONTS task sequence (tracked as an app)",
        phase: "Device setup",
        key: format!("HKLM\\SOFTWARE\\{TS_KEY}"),
        key_present,
        state,
        meaning,
        level,
        next_steps: next,
    })
}

/// The `peforge hive set` line that applies the seed's hybrid-join fix.
pub const CONFIGINFO_FIX: &str = "peforge hive set --hive-file SOFTWARE --key 'Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server' --value ConfigInfo --type sz --data 2";

fn config_info_check(view: &dyn RegistryView) -> Result<ConfigInfoCheck, Error> {
    let v = view.value(CONFIGINFO_KEY, CONFIGINFO_VALUE)?;
    let (ty, data, meaning, level) = match &v {
        None => (
            None,
            None,
            "not set: on a Windows 11 Microsoft Entra hybrid joined device the management authority stays Intune (Intune keeps every workload even with the client installed); set it only for hybrid join (with the client installed as a Win32 app: Autopilot into co-management itself does not support hybrid join)".to_string(),
            Level::Info,
        ),
        Some(v) => {
            let text = match v.ty {
                types::SZ | types::EXPAND_SZ => hive::decode_sz(&v.data),
                _ => as_number(v).map_or_else(|| hex::encode(&v.data), |n| n.to_string()),
            };
            let (meaning, level) = if v.ty == types::SZ && text == "2" {
                (
                    "REG_SZ 2: the management authority is Configuration Manager (the seed's hybrid-join fix)".to_string(),
                    Level::Ok,
                )
            } else if text.trim() == "2" {
                (
                    format!(
                        "{} 2: the seed's fix is REG_SZ \"2\"; this type is not what it documents",
                        type_name(v.ty)
                    ),
                    Level::Error,
                )
            } else {
                (
                    format!(
                        "{} {text:?}: the seed documents only REG_SZ \"2\" (management authority Configuration Manager)",
                        type_name(v.ty)
                    ),
                    Level::Info,
                )
            };
            (Some(type_name(v.ty)), Some(text), meaning, level)
        }
    };
    Ok(ConfigInfoCheck {
        key: format!("HKLM\\SOFTWARE\\{CONFIGINFO_KEY}"),
        value: CONFIGINFO_VALUE,
        r#type: ty,
        data,
        meaning,
        level,
        fix: CONFIGINFO_FIX.into(),
    })
}

fn timeout(view: &dyn RegistryView) -> Result<Timeout, Error> {
    let mut ids = view.subkeys(ENROLLMENTS_KEY)?;
    ids.sort();
    for id in ids {
        let key = format!("{ENROLLMENTS_KEY}\\{id}\\FirstSync");
        // An unreadable timeout is not worth failing the diagnosis: skip it.
        if let Some(v) = view.value(&key, "SyncFailureTimeout")?
            && let Some(minutes) = as_number(&v)
        {
            return Ok(Timeout {
                minutes,
                source: "policy",
                key: Some(format!("HKLM\\SOFTWARE\\{key}")),
            });
        }
    }
    Ok(Timeout {
        minutes: u64::from(DEFAULT_TIMEOUT_MINUTES),
        source: "default",
        key: None,
    })
}

/// Diagnoses the ESP of Autopilot into co-management from a SOFTWARE registry.
pub fn diagnose(view: &dyn RegistryView) -> Result<Report, Error> {
    if !view.has_key("Microsoft")? {
        return Err(Error::NotSoftware {
            source_name: view.source_name(),
        });
    }
    let esp_timeout = timeout(view)?;
    let checks = vec![
        provider_check(view, esp_timeout.minutes)?,
        ts_check(view, esp_timeout.minutes)?,
    ];
    let config_info = config_info_check(view)?;
    let tracking = view.has_key(TRACKING_ROOT)?;
    let worst = checks
        .iter()
        .map(|c| c.level)
        .chain(std::iter::once(config_info.level))
        .max()
        .unwrap_or(Level::Info);
    let status = match worst {
        Level::Error => Status::Error,
        _ if !tracking && checks.iter().all(|c| !c.key_present) => Status::NoTrackingKeys,
        Level::Pending => Status::InProgress,
        _ => Status::Ok,
    };
    let summary = match status {
        Status::Ok => "no error state: the tracked items are complete or not required".into(),
        Status::InProgress => "no error state, but something is not finished: if the ESP timed out, this is where it waited".into(),
        Status::Error => "error state found: follow the next steps below".into(),
        Status::NoTrackingKeys => format!(
            "no ESP tracking keys (HKLM\\SOFTWARE\\{TRACKING_ROOT} is absent): this device has not run an Autopilot enrollment status page, or this is not the device's own SOFTWARE hive (a WinPE boot image or an unprovisioned install.wim has none)"
        ),
    };
    let mut notes = Vec::new();
    if matches!(status, Status::Error | Status::InProgress) {
        notes.push("First make sure the scenario is supported: ConfigMgr 2111 or later, Microsoft Entra joined, user-driven Autopilot; not pre-provisioning, hybrid join, pilot-collection workloads or PKI-authenticated clients".into());
    }
    Ok(Report {
        status,
        summary,
        checks,
        config_info,
        esp_timeout,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_dword_qword_and_sz() {
        let v = |ty, data: Vec<u8>| RawValue {
            name: "X".into(),
            ty,
            data,
        };
        assert_eq!(
            as_number(&v(types::DWORD, 4u32.to_le_bytes().to_vec())),
            Some(4)
        );
        assert_eq!(
            as_number(&v(types::QWORD, 3u64.to_le_bytes().to_vec())),
            Some(3)
        );
        assert_eq!(as_number(&v(types::SZ, hive::encode_sz(" 2 "))), Some(2));
        assert_eq!(as_number(&v(types::DWORD, vec![1, 0])), None);
        assert_eq!(as_number(&v(types::BINARY, vec![4, 0, 0, 0])), None);
        assert_eq!(as_number(&v(types::SZ, hive::encode_sz("four"))), None);
    }
}
