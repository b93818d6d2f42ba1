//! Progress reporting for long operations. The library reports; the CLI decides whether and how
//! to draw (a bar on a TTY, nothing with `--json` or `--quiet`).

/// Receives progress of one long operation.
pub trait Progress {
    /// A new phase starts; `total` is its size in bytes when known.
    fn start(&self, _what: &str, _total: Option<u64>) {}
    /// `bytes` more bytes are done in the current phase.
    fn advance(&self, _bytes: u64) {}
    /// The current phase is finished.
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
