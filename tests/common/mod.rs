//! Shared test helpers: an isolated work directory, running the real `peforge` binary, running
//! independent tools (a missing tool fails the test, it never skips), and sample inputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An isolated temporary work directory.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }
    /// Runs peforge with `args` in this directory.
    pub fn peforge(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_peforge"))
            .args(args)
            .current_dir(self.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .expect("run peforge");
        Run::from(out, format!("peforge {}", args.join(" ")))
    }
    /// Runs an independent tool; panics with a clear message if it is not installed.
    pub fn tool(&self, prog: &str, args: &[&str]) -> Run {
        let out = Command::new(prog)
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|e| {
                panic!("{prog} is required for this test (run scripts/setup.sh): {e}")
            });
        Run::from(out, format!("{prog} {}", args.join(" ")))
    }
    /// Builds the synthetic WinPE boot image (ConfigMgr flavour if asked) at `name`.
    pub fn sample_wim(&self, name: &str, configmgr: bool) -> PathBuf {
        let path = self.join(name);
        let opts = peforge::sample::SampleOptions {
            configmgr,
            filler_bytes: 1 << 20,
            ..Default::default()
        };
        peforge::sample::build_boot_wim(&path, &opts).expect("sample wim");
        path
    }
    /// Extracts one file of a WIM with wimextract (not peforge) and returns its local path.
    pub fn wimextract(&self, wim: &Path, index: u32, inner: &str) -> PathBuf {
        let dest = tempfile::tempdir_in(self.path()).expect("tempdir").keep();
        self.tool(
            "wimextract",
            &[
                wim.to_str().unwrap(),
                &index.to_string(),
                inner,
                &format!("--dest-dir={}", dest.display()),
                "--no-acls",
            ],
        )
        .ok();
        dest.join(Path::new(inner).file_name().unwrap())
    }
}

/// The result of a command.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Run {
    fn from(o: Output, what: String) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            what,
        }
    }
    /// Asserts exit 0 and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "{} failed:\nstdout:\n{}\nstderr:\n{}",
            self.what, self.stdout, self.stderr
        );
        self
    }
    /// Asserts the given exit code and exactly one `error:` line on stderr; returns self.
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "{}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.what, self.stdout, self.stderr
        );
        let errors = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(
            errors, 1,
            "{}: expected one error line, got:\n{}",
            self.what, self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{} panicked:\n{}",
            self.what,
            self.stderr
        );
        self
    }
    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e}):\n{}", self.what, self.stdout))
    }
}

/// SHA-256 of a file, computed with `sha256sum` (not peforge).
pub fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The shared vectors folder (`../shared/vectors` next to the repository).
pub fn vectors() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    assert!(p.is_dir(), "test vectors not found at {}", p.display());
    p
}

impl Dir {
    /// Runs peforge with extra environment variables (e.g. `SOURCE_DATE_EPOCH`,
    /// `PEFORGE_MEDIA_PASSWORD`); everything else as [`Dir::peforge`].
    pub fn peforge_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_peforge"))
            .args(args)
            .current_dir(self.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("PEFORGE_MEDIA_PASSWORD")
            .envs(env.iter().copied())
            .output()
            .expect("run peforge");
        Run::from(out, format!("peforge {}", args.join(" ")))
    }
}

/// The bytes of the `Blob` value of `key` in a hive file, read with hivexregedit (Perl
/// Win::Hivex, an independent reader); `None` when the key or value is absent.
pub fn hivex_blob(d: &Dir, hive: &Path, key: &str) -> Option<Vec<u8>> {
    let out = Command::new("hivexregedit")
        .args(["--export", hive.to_str().unwrap(), key])
        .current_dir(d.path())
        .output()
        .expect("hivexregedit is required (run scripts/setup.sh)");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("\"Blob\"=hex(3):") || l.starts_with("\"Blob\"=hex:"))?;
    let hexs: String = line
        .split_once(':')?
        .1
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    Some(hex::decode(hexs).expect("hex"))
}

/// Subkey names of `key` in a hive file, listed by hivexsh (independent reader).
pub fn hivexsh_ls(d: &Dir, hive: &Path, key: &str) -> Vec<String> {
    let script = format!("cd \\{}\nls\n", key.trim_start_matches('\\'));
    let out = Command::new("hivexsh")
        .arg(hive)
        .current_dir(d.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .expect("hivexsh is required (run scripts/setup.sh)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Files in a directory (names), to check that a failed command left nothing behind.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
