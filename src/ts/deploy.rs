//! Deployment settings (`deploy.toml`) and the `SMS_Advertisement` flags they imply
//! (`shared/specs/task-sequence.md` §8).
//!
//! Each flag bit carries its basis: **documented** (Microsoft docs or SDK reference),
//! **inferred** (peforge's reading of the wizard-to-bit mapping) or **unconfirmed** (not
//! computed; see [`UNCONFIRMED`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// Deployment purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Available in Software Center / to media.
    Available,
    /// Required (assigned).
    Required,
}

/// "Make available to the following".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Configuration Manager clients only.
    Clients,
    /// Clients, media and PXE.
    ClientsMediaPxe,
    /// Only media and PXE.
    MediaPxe,
    /// Only media and PXE (hidden).
    MediaPxeHidden,
}

impl Availability {
    /// Whether boot media can run the deployment.
    pub fn includes_media(self) -> bool {
        self != Availability::Clients
    }
    /// The `New-CMTaskSequenceDeployment -Availability` value.
    pub fn cmdlet(self) -> &'static str {
        match self {
            Availability::Clients => "Clients",
            Availability::ClientsMediaPxe => "ClientsMediaAndPxe",
            Availability::MediaPxe => "MediaAndPxe",
            Availability::MediaPxeHidden => "MediaAndPxeHidden",
        }
    }
}

/// Deployment option on the Distribution Points page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentOption {
    /// Download content locally when needed by the running task sequence.
    DownloadWhenNeeded,
    /// Download all content locally before starting the task sequence.
    DownloadAllFirst,
    /// Access content directly from a distribution point.
    AccessDirectly,
}

impl DeploymentOption {
    /// The `-DeploymentOption` value.
    pub fn cmdlet(self) -> &'static str {
        match self {
            DeploymentOption::DownloadWhenNeeded => {
                "DownloadContentLocallyWhenNeededByRunningTaskSequence"
            }
            DeploymentOption::DownloadAllFirst => {
                "DownloadAllContentLocallyBeforeStartingTaskSequence"
            }
            DeploymentOption::AccessDirectly => "RunFromDistributionPoint",
        }
    }
}

/// Rerun behavior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rerun {
    /// Always rerun.
    Always,
    /// Never rerun.
    Never,
    /// Rerun if the previous attempt failed.
    IfFailed,
    /// Rerun if the previous attempt succeeded.
    IfSucceeded,
}

impl Rerun {
    /// The `-RerunBehavior` value.
    pub fn cmdlet(self) -> &'static str {
        match self {
            Rerun::Always => "AlwaysRerunProgram",
            Rerun::Never => "NeverRerunDeployedProgram",
            Rerun::IfFailed => "RerunIfFailedPreviousAttempt",
            Rerun::IfSucceeded => "RerunIfSucceededOnPreviousAttempt",
        }
    }
}

/// How internet clients authenticate (decides rules D4 and `/UsePKICert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// Microsoft Entra joined devices.
    Entra,
    /// Bulk-registration / token-based authentication (also every boot-media-over-CMG client).
    Token,
    /// PKI client authentication certificates.
    Pki,
    /// Not stated.
    #[default]
    Unknown,
}

/// User-experience options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserExperience {
    /// Show task sequence progress.
    #[serde(default = "yes")]
    pub show_progress: bool,
    /// Software installation outside maintenance windows.
    #[serde(default)]
    pub software_installation_outside_maintenance_window: bool,
    /// System restart outside maintenance windows.
    #[serde(default)]
    pub system_restart_outside_maintenance_window: bool,
    /// Allow users to run the program independently of assignments (required deployments).
    #[serde(default)]
    pub allow_user_run_independently: bool,
    /// Commit changes at deadline on write-filter devices.
    #[serde(default)]
    pub commit_on_write_filter: bool,
}

fn yes() -> bool {
    true
}

impl Default for UserExperience {
    fn default() -> Self {
        UserExperience {
            show_progress: true,
            software_installation_outside_maintenance_window: false,
            system_restart_outside_maintenance_window: false,
            allow_user_run_independently: false,
            commit_on_write_filter: false,
        }
    }
}

/// Scheduling.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Available from (ISO 8601, UTC `Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<String>,
    /// Expires at (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Assignment for required deployments: `asap`, `logon`, `logoff` or an ISO 8601 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<String>,
}

/// `deploy.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Task sequence name in the console (default: the package name, else the file stem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Task sequence description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Boot image package ID for the task sequence (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_image_id: Option<String>,
    /// Purpose.
    pub purpose: Purpose,
    /// Target collection name.
    pub collection: String,
    /// Make available to.
    pub availability: Availability,
    /// Allow task sequence to run for client on the Internet.
    pub allow_internet: bool,
    /// Deployment option.
    pub deployment_option: DeploymentOption,
    /// Pre-download content (General tab).
    #[serde(default)]
    pub pre_download: bool,
    /// Use distribution points from the neighbor boundary group.
    #[serde(default)]
    pub allow_shared_content: bool,
    /// Use distribution points from the default site boundary group.
    #[serde(default)]
    pub allow_fallback: bool,
    /// Allow clients on a metered connection to download content.
    #[serde(default)]
    pub metered_network: bool,
    /// Send wake-up packets.
    #[serde(default)]
    pub send_wake_up: bool,
    /// Rerun behavior.
    #[serde(default = "rerun_default")]
    pub rerun: Rerun,
    /// How internet clients authenticate.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Whether the CMG is content-enabled ("Allow CMG to function as a cloud distribution point").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_enabled_cmg: Option<bool>,
    /// Distribution point name of the content-enabled CMG (for Deploy.ps1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmg_distribution_point: Option<String>,
    /// The sequence is run by `PROVISIONTS` after Autopilot (enrollment status page).
    #[serde(default)]
    pub provisioning: bool,
    /// User experience.
    #[serde(default)]
    pub user_experience: UserExperience,
    /// Schedule.
    #[serde(default)]
    pub schedule: Schedule,
}

/// Whether `s` is a date-time `Deploy.ps1` can hand to `[datetime]`: RFC 3339
/// (`2026-12-01T08:00:00Z`, with an offset) or a local `YYYY-MM-DDTHH:MM:SS`.
fn is_date_time(s: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::parse(s, &Rfc3339).is_ok()
        || time::PrimitiveDateTime::parse(s, &local).is_ok()
}

impl Schedule {
    /// Refuses values `Deploy.ps1` would only reject at the site (`[datetime]` cast) or that
    /// would silently set no assignment flag (`ASAP`, `at logon`), naming the line.
    fn check(&self, text: &str, path: &Path) -> Result<()> {
        let fields = [
            ("available", &self.available, false),
            ("expires", &self.expires, false),
            ("assignment", &self.assignment, true),
        ];
        for (key, value, events) in fields {
            let Some(v) = value else { continue };
            if (events && ["asap", "logon", "logoff"].contains(&v.as_str())) || is_date_time(v) {
                continue;
            }
            let (line, column) = toml_edit::ImDocument::parse(text)
                .ok()
                .and_then(|doc| doc.get("schedule")?.get(key)?.span())
                .map(|s| super::line_col(text, s.start))
                .unwrap_or((0, 0));
            let (expect, fix) = if events {
                (
                    "asap, logon, logoff or a date-time",
                    "use asap, logon, logoff or an RFC 3339 time such as 2026-12-01T08:00:00Z",
                )
            } else {
                (
                    "a date-time",
                    "write an RFC 3339 time such as 2026-12-01T08:00:00Z",
                )
            };
            return Err(Error::Invalid {
                path: path.into(),
                line,
                column,
                location: format!("schedule.{key}"),
                message: format!("{v:?} is not {expect}"),
                fix: Some(fix.into()),
            });
        }
        Ok(())
    }
}

fn rerun_default() -> Rerun {
    Rerun::IfFailed
}

/// One bit of an `SMS_Advertisement` flags field.
#[derive(Debug, Clone, Serialize)]
pub struct Bit {
    /// `AdvertFlags` or `RemoteClientFlags`.
    pub field: &'static str,
    /// Bit name.
    pub name: &'static str,
    /// Bit value.
    pub value: u32,
    /// The wizard setting it reflects.
    pub setting: &'static str,
    /// documented | inferred.
    pub basis: &'static str,
    /// The spec asks for this mapping to be confirmed on a real site before relying on it.
    pub confirm: bool,
}

/// Bits whose wizard mapping the spec marks "confirm" (§8).
pub const TO_CONFIRM: &[&str] = &["TARGETTOWINPE", "HIDDENINWINPE", "APTSINTRANETONLY"];

/// `SMS_Advertisement.AdvertFlags`.
const A: &str = "AdvertFlags";
/// `SMS_Advertisement.RemoteClientFlags`.
const R: &str = "RemoteClientFlags";

/// The bits set so far, in order.
struct Bits(Vec<Bit>);

impl Bits {
    fn add(
        &mut self,
        field: &'static str,
        name: &'static str,
        value: u32,
        setting: &'static str,
        basis: &'static str,
    ) {
        self.0.push(Bit {
            field,
            name,
            value,
            setting,
            basis,
            confirm: TO_CONFIRM.contains(&name),
        });
    }
}

/// The computed `SMS_Advertisement` properties.
#[derive(Debug, Clone, Serialize)]
pub struct Advertisement {
    /// `OfferType` (0 required, 2 available).
    #[serde(rename = "OfferType")]
    pub offer_type: u32,
    /// `AdvertFlags`.
    #[serde(rename = "AdvertFlags")]
    pub advert_flags: u32,
    /// `AdvertFlags` as hex.
    #[serde(rename = "AdvertFlagsHex")]
    pub advert_flags_hex: String,
    /// `RemoteClientFlags`.
    #[serde(rename = "RemoteClientFlags")]
    pub remote_client_flags: u32,
    /// `RemoteClientFlags` as hex.
    #[serde(rename = "RemoteClientFlagsHex")]
    pub remote_client_flags_hex: String,
    /// `ProgramName` of a task sequence deployment (inferred).
    #[serde(rename = "ProgramName")]
    pub program_name: &'static str,
    /// Every set bit with its basis.
    pub bits_set: Vec<Bit>,
    /// Settings whose bit is not computed because the mapping is unconfirmed.
    pub unconfirmed: Vec<&'static str>,
}

/// Settings whose flag bit is not publicly confirmed, so peforge does not compute it.
pub const UNCONFIRMED: &[&str] = &[
    "allow_fallback: bit 0x20000 (DONOT_FALLBACK) is documented for both AdvertFlags and RemoteClientFlags; which one the wizard sets is unconfirmed, so it is not computed (Deploy.ps1 passes -AllowFallback to the cmdlet instead)",
];

impl Deployment {
    /// Reads and checks `deploy.toml`.
    pub fn load(path: &Path) -> Result<Deployment> {
        let bytes = super::source::read_limited(path)?;
        let text = super::xml::decode(&bytes, path)?;
        Deployment::parse(&text, path)
    }

    /// Parses `deploy.toml` text.
    pub fn parse(text: &str, path: &Path) -> Result<Deployment> {
        let d: Deployment = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| super::line_col(text, s.start))
                .unwrap_or((0, 0));
            Error::Toml {
                path: path.into(),
                line,
                column,
                message: e.message().trim().replace('\n', "; "),
            }
        })?;
        d.schedule.check(text, path)?;
        if d.collection.trim().is_empty() {
            return Err(Error::invalid(
                path,
                "collection",
                "collection is empty",
                Some("name the target collection"),
            ));
        }
        Ok(d)
    }

    /// Computes the `SMS_Advertisement` flags (§8).
    pub fn advertisement(&self) -> Advertisement {
        let mut b = Bits(Vec::new());
        self.advert_bits(&mut b);
        self.remote_bits(&mut b);
        let bits = b.0;
        let sum = |f: &str| {
            bits.iter()
                .filter(|b| b.field == f)
                .fold(0u32, |a, b| a | b.value)
        };
        let advert = sum(A);
        let remote = sum(R);
        Advertisement {
            offer_type: match self.purpose {
                Purpose::Required => 0,
                Purpose::Available => 2,
            },
            advert_flags: advert,
            advert_flags_hex: format!("0x{advert:08X}"),
            remote_client_flags: remote,
            remote_client_flags_hex: format!("0x{remote:08X}"),
            program_name: "*",
            bits_set: bits,
            unconfirmed: UNCONFIRMED.to_vec(),
        }
    }

    /// The `AdvertFlags` bits of these settings.
    fn advert_bits(&self, b: &mut Bits) {
        self.availability_bits(b);
        self.experience_bits(b);
        self.required_bits(b);
    }

    /// `AdvertFlags` bits of where the sequence is available and how content arrives.
    fn availability_bits(&self, b: &mut Bits) {
        if self.availability.includes_media() {
            b.add(
                A,
                "ENABLE_TS_FROM_CD_AND_PXE",
                0x0004_0000,
                "availability includes media and PXE",
                "documented",
            );
        }
        match self.availability {
            Availability::MediaPxe => b.add(
                A,
                "TARGETTOWINPE",
                0x1000_0000,
                "availability: only media and PXE",
                "inferred",
            ),
            Availability::MediaPxeHidden => b.add(
                A,
                "HIDDENINWINPE",
                0x2000_0000,
                "availability: only media and PXE (hidden)",
                "inferred",
            ),
            _ => {}
        }
        if !self.allow_internet {
            b.add(
                A,
                "APTSINTRANETONLY",
                0x0008_0000,
                "allow_internet = false",
                "inferred",
            );
        }
        if self.pre_download {
            b.add(
                A,
                "OPTIONALPREDOWNLOAD",
                0x0000_1000,
                "pre_download",
                "inferred",
            );
        }
    }

    /// `AdvertFlags` bits of the user experience and wake-up settings.
    fn experience_bits(&self, b: &mut Bits) {
        if self.user_experience.show_progress {
            b.add(
                A,
                "SHOW_PROGRESS",
                0x0080_0000,
                "show task sequence progress",
                "documented",
            );
        }
        if self
            .user_experience
            .software_installation_outside_maintenance_window
        {
            b.add(
                A,
                "OVERRIDE_SERVICE_WINDOWS",
                0x0010_0000,
                "software installation outside maintenance windows",
                "documented",
            );
        }
        if self
            .user_experience
            .system_restart_outside_maintenance_window
        {
            b.add(
                A,
                "REBOOT_OUTSIDE_OF_SERVICE_WINDOWS",
                0x0020_0000,
                "system restart outside maintenance windows",
                "documented",
            );
        }
        if self.send_wake_up {
            b.add(
                A,
                "WAKE_ON_LAN_ENABLED",
                0x0040_0000,
                "send wake-up packets",
                "documented",
            );
        }
    }

    /// `AdvertFlags` bits only a required deployment has: no display, the assignment.
    fn required_bits(&self, b: &mut Bits) {
        if self.purpose == Purpose::Required && !self.user_experience.allow_user_run_independently {
            b.add(
                A,
                "NO_DISPLAY",
                0x0200_0000,
                "required without allow_user_run_independently",
                "inferred",
            );
        }
        if self.purpose == Purpose::Required {
            match self.schedule.assignment.as_deref() {
                Some("asap") => b.add(A, "IMMEDIATE", 0x20, "assignment asap", "inferred"),
                Some("logon") => b.add(A, "ONUSERLOGON", 0x200, "assignment at logon", "inferred"),
                Some("logoff") => {
                    b.add(A, "ONUSERLOGOFF", 0x400, "assignment at logoff", "inferred")
                }
                _ => {}
            }
        }
    }

    /// The `RemoteClientFlags` bits of these settings.
    fn remote_bits(&self, b: &mut Bits) {
        let shared = self.allow_shared_content;
        match self.deployment_option {
            DeploymentOption::DownloadWhenNeeded => {
                b.add(
                    R,
                    "DOWNLOAD_ON_DEMAND_FROM_LOCAL_DP",
                    0x100,
                    "download when needed",
                    "inferred",
                );
                if shared {
                    b.add(
                        R,
                        "DOWNLOAD_ON_DEMAND_FROM_REMOTE_DP",
                        0x200,
                        "download when needed, neighbor DPs",
                        "inferred",
                    );
                }
            }
            DeploymentOption::DownloadAllFirst => {
                b.add(
                    R,
                    "DOWNLOAD_FROM_LOCAL_DISPPOINT",
                    0x10,
                    "download all first",
                    "inferred",
                );
                if shared {
                    b.add(
                        R,
                        "DOWNLOAD_FROM_REMOTE_DISPPOINT",
                        0x40,
                        "download all first, neighbor DPs",
                        "inferred",
                    );
                }
            }
            DeploymentOption::AccessDirectly => {
                b.add(
                    R,
                    "RUN_FROM_LOCAL_DISPPOINT",
                    0x08,
                    "access directly",
                    "inferred",
                );
                if shared {
                    b.add(
                        R,
                        "RUN_FROM_REMOTE_DISPPOINT",
                        0x80,
                        "access directly, neighbor DPs",
                        "inferred",
                    );
                }
            }
        }
        match self.rerun {
            Rerun::Always => b.add(R, "RERUN_ALWAYS", 0x800, "rerun always", "documented"),
            Rerun::Never => b.add(R, "RERUN_NEVER", 0x1000, "rerun never", "documented"),
            Rerun::IfFailed => b.add(
                R,
                "RERUN_IF_FAILED",
                0x2000,
                "rerun if failed",
                "documented",
            ),
            Rerun::IfSucceeded => b.add(
                R,
                "RERUN_IF_SUCCEEDED",
                0x4000,
                "rerun if succeeded",
                "documented",
            ),
        }
        if self.user_experience.commit_on_write_filter {
            b.add(
                R,
                "PERSIST_ON_WRITE_FILTER_DEVICES",
                0x8000,
                "commit on write-filter devices",
                "documented",
            );
        }
        if self.metered_network {
            b.add(
                R,
                "USE_METERED_NETWORK",
                0x4_0000,
                "metered network",
                "documented",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(extra: &str) -> Deployment {
        let base = "purpose = \"available\"\ncollection = \"C\"\navailability = \"clients_media_pxe\"\nallow_internet = true\ndeployment_option = \"download_when_needed\"\n";
        Deployment::parse(&format!("{base}{extra}"), Path::new("d.toml")).unwrap()
    }

    #[test]
    fn flags_follow_the_spec_table() {
        let a = d("pre_download = true\n").advertisement();
        // 0x40000 media+PXE, 0x800000 progress, 0x1000 pre-download; internet: bit 19 clear.
        assert_eq!(a.advert_flags, 0x0004_0000 | 0x0080_0000 | 0x1000);
        assert_eq!(a.advert_flags & 0x0008_0000, 0);
        assert_eq!(a.remote_client_flags, 0x100 | 0x2000);
        assert_eq!(a.offer_type, 2);
        let b = d("[user_experience]\nshow_progress = false\n").advertisement();
        assert_eq!(b.advert_flags, 0x0004_0000);
    }

    #[test]
    fn bad_value_names_line() {
        let e = Deployment::parse("purpose = \"sometimes\"\n", Path::new("d.toml")).unwrap_err();
        assert!(matches!(e, Error::Toml { line: 1, .. }), "{e:?}");
    }
}
