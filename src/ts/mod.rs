//! Task sequences as code: the ConfigMgr task sequence XML (`SMS_TaskSequencePackage.Sequence`,
//! `shared/specs/task-sequence.md` §1–§5), a TOML authoring format, lint rules for running over a
//! Cloud Management Gateway (§6, §7, §9, §11), deployment settings with the computed
//! `SMS_Advertisement` flags (§8) and packaging for a build server.
//!
//! - [`xml`]: a small element tree over quick-xml that refuses DTDs and unknown entities, and
//!   writes the compact form ConfigMgr itself produces.
//! - [`model`]: the sequence model (groups, steps, conditions, variables) that keeps unknown
//!   elements and attributes verbatim.
//! - [`source`]: reads the four real forms (raw `<sequence>`, console export `object.xml`, MDT
//!   `ts.xml`, console export `.zip`).
//! - [`author`]: the TOML authoring format with friendly step kinds.
//! - [`lint`]: rules with ids, severity, location and fix hints.
//! - [`deploy`]: `deploy.toml` and the `SMS_Advertisement` flag computation.
//! - [`package`]: the deployable package (`sequence.xml`, `deployment.json`, `Deploy.ps1`, …).
//! - [`plan`]: `ts import`, `ts build` and `ts package` as plans the library executes.
//!
//! ```
//! let seq = peforge::ts::source::parse_sequence_str(
//!     r#"<sequence version="3.10"><step type="SMS_TaskSequence_RebootAction" name="Restart"
//!        description=""><action>smsboot.exe /target:WinPE</action></step></sequence>"#,
//!     std::path::Path::new("inline.xml"),
//! )
//! .unwrap();
//! assert_eq!(seq.steps().count(), 1);
//! ```

use std::path::PathBuf;

pub mod author;
pub mod deploy;
pub mod lint;
pub mod model;
pub mod package;
pub mod plan;
pub mod source;
pub mod xml;

/// Errors of the task sequence domain. Each carries the file and, where known, the line and
/// column or the group/step path, so the user can find the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The XML is not well formed.
    #[error("{}:{line}:{column}: malformed XML: {message}", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column (characters).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The XML declares a DTD; peforge never expands entities nor fetches anything.
    #[error("{}:{line}:{column}: DOCTYPE declaration refused (task sequence XML has no DTD; entities are never expanded and nothing is fetched)", path.display())]
    Dtd {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// The XML references an entity other than the five predefined ones or a character reference.
    #[error("{}:{line}:{column}: entity reference &{name}; refused (only &amp; &lt; &gt; &quot; &apos; and character references are allowed)", path.display())]
    Entity {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// The entity name as written.
        name: String,
    },
    /// An explicit limit (size, depth, element count) was exceeded.
    #[error("{}: {what} exceeds the limit of {limit}", path.display())]
    Limit {
        /// The file.
        path: PathBuf,
        /// Which limit.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The TOML is malformed or does not match the authoring format.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The file is not one of the task sequence forms peforge reads.
    #[error("{}: {message}", path.display())]
    Form {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        message: String,
    },
    /// The content is structurally wrong (a step without a name, an unknown step kind, …).
    #[error("{}{}: {location}: {message}", path.display(), position(*line, *column))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the TOML entry at fault (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// Group/step path or element position.
        location: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: Option<String>,
    },
    /// A ZIP archive could not be read or written.
    #[error("{}: {message}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The output is the input.
    #[error("{}: output would overwrite the input", path.display())]
    SameFile {
        /// The output.
        path: PathBuf,
    },
    /// Writing an output file failed.
    #[error("writing {}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file operation failed (the message names the file when it can).
    #[error(transparent)]
    File(std::io::Error),
    /// The authoring TOML cannot be rendered.
    #[error("rendering TOML: {message}")]
    Render {
        /// The cause.
        message: String,
    },
    /// What was written does not read back as planned.
    #[error("{message}")]
    Check {
        /// What differs.
        message: String,
    },
    /// `ts package` refused: lint found errors.
    #[error("{}: lint found {errors} error(s), first: {first}", path.display())]
    LintErrors {
        /// The task sequence.
        path: PathBuf,
        /// How many errors.
        errors: usize,
        /// The first, as `rule location: message`.
        first: String,
    },
}

impl Error {
    /// The fix to suggest for this error, if there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Dtd { .. } | Error::Entity { .. } => Some(
                "remove the <!DOCTYPE …> block and custom entities; ConfigMgr never writes them".into(),
            ),
            Error::Form { .. } => Some(
                "give a raw <sequence> XML, a console export object.xml or .zip, or an MDT ts.xml"
                    .into(),
            ),
            Error::Limit { .. } => Some("task sequences are small; check that this is the right file".into()),
            Error::Invalid { fix, .. } => fix.clone(),
            Error::SameFile { .. } => Some("write to another file".into()),
            Error::LintErrors { .. } => Some(
                "fix them (peforge ts lint shows all), or pass --allow-lint-errors".into(),
            ),
            Error::Toml { .. } => Some(
                "see templates/ts/*.toml for the authoring format (`peforge ts import` writes it too)"
                    .into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        path: impl Into<PathBuf>,
        location: impl Into<String>,
        message: impl Into<String>,
        fix: Option<&str>,
    ) -> Error {
        Error::Invalid {
            path: path.into(),
            line: 0,
            column: 0,
            location: location.into(),
            message: message.into(),
            fix: fix.map(str::to_string),
        }
    }
}

/// `:line:column` for an error message, or nothing when the position is unknown (0).
fn position(line: u64, column: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`, for TOML error
/// positions (authoring format and deploy.toml).
pub(crate) fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() as u64 + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before.get(start..).map(|s| s.chars().count()).unwrap_or(0) as u64 + 1;
    (line, col)
}

/// Result alias of the task sequence domain.
pub type Result<T> = std::result::Result<T, Error>;
