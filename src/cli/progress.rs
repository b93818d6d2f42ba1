//! Draws library progress with indicatif, only when stderr is a terminal and neither `--json`
//! nor `--quiet` was given.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress sink for the library.
#[derive(Debug)]
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar that draws only if `enabled` and stderr is a TTY.
    pub fn new(enabled: bool) -> Bar {
        let bar = (enabled && std::io::stderr().is_terminal()).then(ProgressBar::no_length);
        Bar { bar }
    }
}

impl crate::progress::Progress for Bar {
    fn start(&self, what: &str, total: Option<u64>) {
        if let Some(b) = &self.bar {
            b.reset();
            match total {
                Some(t) => {
                    b.set_length(t);
                    b.set_style(
                        ProgressStyle::with_template(
                            "{msg:24} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                }
                None => b.set_style(ProgressStyle::default_spinner()),
            }
            b.set_message(what.to_string());
        }
    }
    fn advance(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
