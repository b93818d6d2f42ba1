//! Machine-readable output. Every `--json` document is one JSON object on stdout with a
//! `schema_version`, per command: 1 unless the command's schema (`schemas/`) changed since,
//! then the version that schema requires; object keys are sorted so reruns are byte-identical.

use std::io::Write;

/// The schema version of a `--json` document whose schema has not changed since the first.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes `value` (which must serialize to an object) as pretty JSON, adding `schema_version`
/// [`SCHEMA_VERSION`].
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print_json_v(value, SCHEMA_VERSION)
}

/// [`print_json`] for a command whose schema is at `version` (tests/json_schemas.rs keeps each
/// schema's history).
pub fn print_json_v<T: serde::Serialize>(value: &T, version: u32) -> anyhow::Result<()> {
    let inner = serde_json::to_value(value)?;
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), version.into());
    if let serde_json::Value::Object(m) = inner {
        doc.extend(m);
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &serde_json::Value::Object(doc))?;
    writeln!(out)?;
    Ok(())
}

/// Writes one line of human output to stdout.
pub fn line(s: impl AsRef<str>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", s.as_ref())?;
    Ok(())
}
