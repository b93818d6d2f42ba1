//! The Setup Assistant screens (skip keys) of iOS/iPadOS, carried in the binary: an installed
//! peforge has no copy of Apple's list. Versions are Apple's (`other/skipkeys.yaml` of
//! apple/device-management, seed branch of 2024-10-24); the seed line and the seed's own minimum
//! come from the French ADE page (spec §3.3). A test compares this table with Apple's file key by
//! key, version by version.

use serde::Serialize;

/// One Setup Assistant screen that an enrollment profile can skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkipKey {
    /// Apple's skip key (the string in `skip_setup_items` and Graph `enabledSkipKeys`).
    pub key: &'static str,
    /// The screen's name in the English Intune wizard (peforge's rendering, *inferred*: the seeds
    /// are French; `wizard_fr` is the documented label).
    pub wizard: &'static str,
    /// The screen's name in the French seed page, when it lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wizard_fr: Option<&'static str>,
    /// The Graph `depIOSEnrollmentProfile` boolean that hides it, when one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<&'static str>,
    /// First iOS version with the key (Apple).
    pub introduced: &'static str,
    /// iOS version that deprecated the key (Apple), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<&'static str>,
    /// Apple's `always-skippable` (false: only skipped on first setup, not after an update).
    pub always_skippable: bool,
    /// The seed's line (S1) for the screen, if the seed lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_line: Option<u32>,
    /// The minimum version the seed gives, when it differs from Apple's (spec conflict 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_minimum: Option<&'static str>,
}

const fn k(
    key: &'static str,
    wizard: &'static str,
    wizard_fr: Option<&'static str>,
    graph: Option<&'static str>,
    introduced: &'static str,
    deprecated: Option<&'static str>,
    seed_line: Option<u32>,
) -> SkipKey {
    SkipKey {
        key,
        wizard,
        wizard_fr,
        graph,
        introduced,
        deprecated,
        always_skippable: true,
        seed_line,
        seed_minimum: None,
    }
}

/// Every iOS/iPadOS skip key peforge knows, in Apple's list order.
pub const SKIP_KEYS: &[SkipKey] = &[
    k(
        "ActionButton",
        "Action Button",
        None,
        None,
        "17.0",
        None,
        None,
    ),
    k(
        "Android",
        "Android Migration",
        Some("Migration Android"),
        Some("restoreFromAndroidDisabled"),
        "9.0",
        None,
        Some(366),
    ),
    k(
        "Appearance",
        "Appearance",
        Some("Apparence"),
        Some("appearanceScreenDisabled"),
        "13.0",
        None,
        Some(373),
    ),
    k(
        "AppleID",
        "Apple ID",
        Some("ID Apple"),
        Some("appleIdDisabled"),
        "7.0",
        None,
        Some(357),
    ),
    k("AppStore", "App Store", None, None, "14.3", None, None),
    k(
        "Biometric",
        "Touch ID and Face ID",
        Some("Touch ID et Face ID"),
        Some("touchIdDisabled"),
        "8.1",
        None,
        Some(359),
    ),
    k(
        "CameraButton",
        "Camera Control",
        None,
        None,
        "18.0",
        None,
        None,
    ),
    k(
        "DeviceToDeviceMigration",
        "Device to Device Migration",
        Some("Migration des appareils vers les appareils"),
        Some("deviceToDeviceMigrationDisabled"),
        "12.4",
        None,
        Some(374),
    ),
    k(
        "Diagnostics",
        "Diagnostics Data",
        Some("Données de diagnostic"),
        Some("diagnosticsDisabled"),
        "7.0",
        None,
        Some(363),
    ),
    k(
        "DisplayTone",
        "Display Tone",
        Some("Tonalité d’affichage"),
        Some("displayToneSetupDisabled"),
        "9.3.2",
        Some("15.0"),
        Some(364),
    ),
    k(
        "EnableLockdownMode",
        "Lockdown Mode",
        None,
        None,
        "17.1",
        None,
        None,
    ),
    k(
        "HomeButtonSensitivity",
        "Home Button",
        None,
        Some("homeButtonScreenDisabled"),
        "10.0",
        Some("15.0"),
        None,
    ),
    SkipKey {
        seed_minimum: Some("9.0"),
        ..k(
            "iMessageAndFaceTime",
            "iMessage & FaceTime",
            Some("iMessage & FaceTime"),
            Some("iMessageAndFaceTimeScreenDisabled"),
            "12.0",
            None,
            Some(367),
        )
    },
    k(
        "Intelligence",
        "Apple Intelligence",
        None,
        None,
        "18.0",
        None,
        None,
    ),
    SkipKey {
        always_skippable: false,
        ..k("Keyboard", "Keyboard", None, None, "13.0", None, None)
    },
    k(
        "Location",
        "Location Services",
        Some("Services de localisation"),
        Some("locationDisabled"),
        "7.0",
        None,
        Some(355),
    ),
    k(
        "MessagingActivationUsingPhoneNumber",
        "Messaging activation using phone number",
        None,
        None,
        "10.0",
        None,
        None,
    ),
    k(
        "OnBoarding",
        "Onboarding",
        Some("Intégration"),
        Some("onBoardingScreenDisabled"),
        "11.0",
        Some("14.0"),
        Some(368),
    ),
    k(
        "Passcode",
        "Passcode",
        Some("Code secret"),
        Some("passCodeDisabled"),
        "7.0",
        None,
        Some(354),
    ),
    SkipKey {
        seed_minimum: Some("7.0"),
        ..k(
            "Payment",
            "Apple Pay",
            Some("Apple Pay"),
            Some("applePayDisabled"),
            "8.1",
            None,
            Some(360),
        )
    },
    k(
        "Privacy",
        "Privacy",
        Some("Confidentialité"),
        Some("privacyPaneDisabled"),
        "11.3",
        None,
        Some(365),
    ),
    k(
        "Restore",
        "Restore",
        Some("Restaurer"),
        Some("restoreBlocked"),
        "7.0",
        None,
        Some(356),
    ),
    k(
        "RestoreCompleted",
        "Restore Completed",
        Some("Restauration effectuée"),
        Some("restoreCompletedScreenDisabled"),
        "14.0",
        None,
        Some(375),
    ),
    k("Safety", "Safety", None, None, "16.0", None, None),
    k(
        "ScreenTime",
        "Screen Time",
        Some("Heure de l’écran"),
        Some("screenTimeScreenDisabled"),
        "12.0",
        None,
        Some(369),
    ),
    k(
        "SIMSetup",
        "SIM Setup",
        Some("Configuration de la SIM"),
        Some("simSetupScreenDisabled"),
        "12.0",
        None,
        Some(370),
    ),
    k(
        "Siri",
        "Siri",
        Some("Siri"),
        Some("siriDisabled"),
        "7.0",
        None,
        Some(362),
    ),
    k(
        "SoftwareUpdate",
        "Software Update",
        Some("Mise à jour logicielle"),
        Some("softwareUpdateScreenDisabled"),
        "12.0",
        None,
        Some(371),
    ),
    SkipKey {
        always_skippable: false,
        ..k(
            "SpokenLanguage",
            "Dictation",
            None,
            None,
            "13.0",
            None,
            None,
        )
    },
    SkipKey {
        always_skippable: false,
        ..k(
            "TermsOfAddress",
            "Terms of Address",
            Some("Forme d’adresse"),
            None,
            "16.0",
            None,
            Some(378),
        )
    },
    k(
        "TOS",
        "Terms and conditions",
        Some("Conditions générales"),
        Some("termsAndConditionsDisabled"),
        "7.0",
        None,
        Some(358),
    ),
    k(
        "UpdateCompleted",
        "Software Update Complete",
        Some("Mise à jour de logiciel effectuée"),
        Some("updateCompleteScreenDisabled"),
        "14.0",
        None,
        Some(376),
    ),
    k(
        "WatchMigration",
        "Watch Migration",
        Some("Migration Watch"),
        Some("watchMigrationScreenDisabled"),
        "11.0",
        None,
        Some(372),
    ),
    k(
        "WebContentFiltering",
        "Web Content Filtering",
        None,
        None,
        "18.2",
        None,
        None,
    ),
    k(
        "Welcome",
        "Get Started",
        Some("Prise en main"),
        Some("welcomeScreenDisabled"),
        "13.0",
        None,
        Some(377),
    ),
    k(
        "Zoom",
        "Zoom",
        Some("Zoom"),
        Some("zoomDisabled"),
        "8.3",
        Some("17.0"),
        Some(361),
    ),
];

/// Screens Graph has a boolean for but Apple's list (A1) has no key for: they are written as the
/// boolean only, never into `enabledSkipKeys` (spec §2.2, *inferred*).
pub const GRAPH_ONLY: &[(&str, &str, &str)] = &[
    (
        "ExpressLanguage",
        "Express Language",
        "expressLanguageScreenDisabled",
    ),
    (
        "PreferredLanguage",
        "Preferred Language",
        "preferredLanguageScreenDisabled",
    ),
];

/// Finds a skip key by Apple key (exact, then case-insensitive) or by the wizard's English or
/// French name (case-insensitive).
pub fn find(name: &str) -> Option<&'static SkipKey> {
    let n = name.trim();
    SKIP_KEYS.iter().find(|s| s.key == n).or_else(|| {
        SKIP_KEYS.iter().find(|s| {
            s.key.eq_ignore_ascii_case(n)
                || s.wizard.eq_ignore_ascii_case(n)
                || s.wizard_fr
                    .is_some_and(|f| f.to_lowercase() == n.to_lowercase())
        })
    })
}

/// The Graph-only screen named `name` (`ExpressLanguage`, `PreferredLanguage`, or the wizard's
/// name), as `(key, graph property)`.
pub fn find_graph_only(name: &str) -> Option<(&'static str, &'static str)> {
    GRAPH_ONLY
        .iter()
        .find(|(k, w, _)| {
            k.eq_ignore_ascii_case(name.trim()) || w.eq_ignore_ascii_case(name.trim())
        })
        .map(|(k, _, g)| (*k, *g))
}

/// A dotted iOS version (`13`, `13.4`, `9.3.2`) as comparable numbers.
pub fn parse_version(s: &str) -> Option<Vec<u32>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut v = Vec::new();
    for part in s.split('.') {
        if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.push(part.parse().ok()?);
    }
    if v.len() > 3 {
        return None;
    }
    while v.len() < 3 {
        v.push(0);
    }
    Some(v)
}

/// Whether version `a` is older than `b` (both dotted; unparsable compares as not older).
pub fn older(a: &str, b: &str) -> bool {
    match (parse_version(a), parse_version(b)) {
        (Some(x), Some(y)) => x < y,
        _ => false,
    }
}

/// The keys available on `min_ios` (introduced at or before it), or all without a version.
pub fn available_on(min_ios: Option<&str>) -> Vec<&'static SkipKey> {
    SKIP_KEYS
        .iter()
        .filter(|s| min_ios.is_none_or(|m| !older(m, s.introduced)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_compare() {
        assert!(older("9.3.1", "9.3.2"));
        assert!(!older("13.0", "13"));
        assert!(older("12.4", "13.0"));
        assert_eq!(parse_version("x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }

    #[test]
    fn lookup_by_every_name() {
        assert_eq!(find("passcode").map(|s| s.key), Some("Passcode"));
        assert_eq!(find("Code secret").map(|s| s.key), Some("Passcode"));
        assert_eq!(find("Apple Pay").map(|s| s.key), Some("Payment"));
        assert_eq!(find("Nope"), None);
        let mut keys: Vec<_> = SKIP_KEYS.iter().map(|s| s.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), SKIP_KEYS.len());
    }
}
