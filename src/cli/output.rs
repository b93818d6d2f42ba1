//! Machine-readable output. Every `--json` document is one JSON object on stdout with a
//! `schema_version` (currently 1); object keys are sorted so reruns are byte-identical; field
//! names are stable, additions are backwards compatible, removals bump the version.

use std::io::Write;

/// The schema version of every `--json` document.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes `value` (which must serialize to an object) as pretty JSON, adding `schema_version`.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let inner = serde_json::to_value(value)?;
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), SCHEMA_VERSION.into());
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
