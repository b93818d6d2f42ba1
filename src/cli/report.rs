//! The only place errors are rendered: one `error:` line with the cause chain joined by `: `,
//! then at most one `hint:` line.

/// Whether the error is a broken pipe (stdout closed early, e.g. `| head`), which exits 0.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The hint a library error offers, if it is one peforge knows. Each domain error type with a
/// `hint()` is listed here once.
fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(x) = cause.downcast_ref::<crate::wim::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::wim::offline::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::registry::hive::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::ts::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::media::ContainerError>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::media::pipeline::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::media::site::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::registry::edit::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::registry::value::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::registry::reg::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::cert::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::client::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::driver::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::diag::Error>() {
        return x.hint();
    }
    if let Some(x) = cause.downcast_ref::<crate::ade::Error>() {
        return x.hint();
    }
    cause.downcast_ref::<Hinted>().map(|x| x.hint.clone())
}

/// Finds the first hint any error in the chain offers.
fn hint(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(hint_of)
}

/// An error raised by the CLI itself, with the fix to suggest.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// Builds a CLI error with a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Prints the error (and hint) to stderr.
pub fn print_error(e: &anyhow::Error, verbose: bool) {
    let mut line = String::new();
    let mut last = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        // thiserror's `transparent` and contexts often repeat the inner message; skip repeats.
        if !last.is_empty() && last.contains(&s) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&s);
        last = s;
    }
    eprintln!("error: {line}");
    if let Some(h) = hint(e) {
        eprintln!("hint: {h}");
    }
    if verbose {
        eprintln!("{e:?}");
    }
}
