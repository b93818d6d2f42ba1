//! The start-up files of a WinPE image: `Windows\System32\winpeshl.ini`, `startnet.cmd`, and
//! peforge's own `peforge\start.cmd`.
//!
//! Follows `shared/specs/winpe-customize.md` §1–3 and §6: winpeshl.exe runs the apps of
//! `[LaunchApps]` in order (one per line, options after a comma, at most 250 characters, no
//! scripting) and falls back to `cmd /k startnet.cmd` when there is no winpeshl.ini. peforge adds
//! one line and keeps every other line, byte for byte:
//! - a ConfigMgr (or any) winpeshl.ini: [`LAUNCH_LINE`] as the first app of `[LaunchApps]`, so it
//!   runs before `TsBootShell.exe` (a `[LaunchApps]` section is added above a lone `[LaunchApp]`);
//! - a plain WinPE's startnet.cmd: [`STARTNET_LINE`] just before `wpeinit`.
//!
//! A file it cannot fully understand is refused, never rewritten.

/// Image path of the script peforge generates.
pub const START_CMD: &str = "peforge\\start.cmd";
/// The `[LaunchApps]` line that runs it (≤ 250 characters; cmd.exe because winpeshl.ini itself
/// runs no scripts).
pub const LAUNCH_LINE: &str =
    "%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\peforge\\start.cmd";
/// The startnet.cmd line that runs it.
pub const STARTNET_LINE: &str = "call %SYSTEMDRIVE%\\peforge\\start.cmd";
/// Longest command winpeshl.ini allows (MS-winpeshl).
pub const MAX_LAUNCH_LINE: usize = 250;
/// Image path of the log the start-up step writes, as WinPE sees it.
pub const LOG_PATH: &str = "%SYSTEMROOT%\\Temp\\peforge-start.log";

/// Why a start-up file is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Not text peforge can edit without changing other bytes.
    #[error("not a text file peforge can edit ({0})")]
    Encoding(String),
    /// A section winpeshl.ini does not have.
    #[error(
        "line {line}: section [{name}] is not one winpeshl.ini has ([LaunchApp], [LaunchApps])"
    )]
    UnknownSection {
        /// 1-based line.
        line: usize,
        /// The section.
        name: String,
    },
    /// Content outside any section.
    #[error("line {line}: text outside [LaunchApp] / [LaunchApps]")]
    OutsideSection {
        /// 1-based line.
        line: usize,
    },
    /// A `[LaunchApp]` line that is not `AppPath = ...`.
    #[error("line {line}: [LaunchApp] holds only AppPath = <program>")]
    BadLaunchApp {
        /// 1-based line.
        line: usize,
    },
    /// A command longer than winpeshl allows.
    #[error("line {line}: {len} characters, more than the {MAX_LAUNCH_LINE} winpeshl.ini allows")]
    TooLong {
        /// 1-based line.
        line: usize,
        /// Its length.
        len: usize,
    },
    /// No section with apps.
    #[error("no [LaunchApp] or [LaunchApps] section")]
    NoApps,
    /// startnet.cmd without wpeinit.
    #[error("no wpeinit line (peforge inserts its step just before wpeinit)")]
    NoWpeinit,
}

/// Lines with their original line ends, so untouched lines stay byte-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lines {
    /// Leading BOM bytes, kept.
    bom: Vec<u8>,
    /// Each line's text and its end (`\r\n`, `\n` or nothing for the last).
    lines: Vec<(String, String)>,
    /// Line end for lines peforge adds.
    eol: String,
}

impl Lines {
    fn parse(bytes: &[u8]) -> Result<Lines, StartupError> {
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            return Err(StartupError::Encoding(
                "UTF-16; save it as ASCII with CRLF line ends".into(),
            ));
        }
        let (bom, body) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            Some(rest) => (vec![0xEF, 0xBB, 0xBF], rest),
            None => (Vec::new(), bytes),
        };
        if body.contains(&0) {
            return Err(StartupError::Encoding("it contains NUL bytes".into()));
        }
        let text = std::str::from_utf8(body).map_err(|_| {
            StartupError::Encoding("bytes that are not ASCII or UTF-8 (an OEM code page?)".into())
        })?;
        let mut lines = Vec::new();
        for piece in text.split_inclusive('\n') {
            let (t, e) = if let Some(t) = piece.strip_suffix("\r\n") {
                (t, "\r\n")
            } else if let Some(t) = piece.strip_suffix('\n') {
                (t, "\n")
            } else {
                (piece, "")
            };
            lines.push((t.to_string(), e.to_string()));
        }
        let eol = if lines.iter().any(|(_, e)| e == "\n") && !lines.iter().any(|(_, e)| e == "\r\n")
        {
            "\n"
        } else {
            "\r\n"
        };
        Ok(Lines {
            bom,
            lines,
            eol: eol.to_string(),
        })
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.bom.clone();
        for (t, e) in &self.lines {
            out.extend_from_slice(t.as_bytes());
            out.extend_from_slice(e.as_bytes());
        }
        out
    }

    /// Inserts `text` as a new line before line `at`.
    fn insert(&mut self, at: usize, text: &str) {
        // A last line without an end gets one before anything follows it.
        if at > 0
            && let Some((_, e)) = self.lines.get_mut(at - 1)
            && e.is_empty()
        {
            *e = self.eol.clone();
        }
        let end = self.eol.clone();
        self.lines
            .insert(at.min(self.lines.len()), (text.to_string(), end));
    }

    fn find(&self, text: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|(t, _)| t.trim().eq_ignore_ascii_case(text))
    }
}

/// What a winpeshl.ini line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Header(Sect),
    Entry(Sect),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sect {
    LaunchApp,
    LaunchApps,
}

/// A winpeshl.ini peforge understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Winpeshl {
    lines: Lines,
    kinds: Vec<Kind>,
}

impl Winpeshl {
    /// Parses and checks the file (sections, line lengths).
    pub fn parse(bytes: &[u8]) -> Result<Winpeshl, StartupError> {
        let lines = Lines::parse(bytes)?;
        let mut kinds = Vec::new();
        let mut cur: Option<Sect> = None;
        let mut any = false;
        for (n, (t, _)) in lines.lines.iter().enumerate() {
            let line = n + 1;
            let s = t.trim();
            if s.is_empty() || s.starts_with(';') {
                kinds.push(Kind::Blank);
                continue;
            }
            if let Some(rest) = s.strip_prefix('[') {
                let name = rest.strip_suffix(']').unwrap_or(rest).trim();
                let sect = if name.eq_ignore_ascii_case("LaunchApps") {
                    Sect::LaunchApps
                } else if name.eq_ignore_ascii_case("LaunchApp") {
                    Sect::LaunchApp
                } else {
                    return Err(StartupError::UnknownSection {
                        line,
                        name: name.to_string(),
                    });
                };
                cur = Some(sect);
                any = true;
                kinds.push(Kind::Header(sect));
                continue;
            }
            let Some(sect) = cur else {
                return Err(StartupError::OutsideSection { line });
            };
            let len = s.chars().count();
            if len > MAX_LAUNCH_LINE {
                return Err(StartupError::TooLong { line, len });
            }
            if sect == Sect::LaunchApp {
                let ok = s.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("AppPath") && !v.trim().is_empty()
                });
                if !ok {
                    return Err(StartupError::BadLaunchApp { line });
                }
            }
            kinds.push(Kind::Entry(sect));
        }
        if !any {
            return Err(StartupError::NoApps);
        }
        Ok(Winpeshl { lines, kinds })
    }

    /// The apps in the order winpeshl runs them (`[LaunchApps]` lines; `AppPath` values).
    pub fn apps(&self) -> Vec<String> {
        self.lines
            .lines
            .iter()
            .zip(&self.kinds)
            .filter_map(|((t, _), k)| match k {
                Kind::Entry(Sect::LaunchApps) => Some(t.trim().to_string()),
                Kind::Entry(Sect::LaunchApp) => {
                    t.split_once('=').map(|(_, v)| v.trim().to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Whether peforge's line is there.
    pub fn has_hook(&self) -> bool {
        self.lines.find(LAUNCH_LINE).is_some()
    }

    /// Adds [`LAUNCH_LINE`] as the first `[LaunchApps]` app (a `[LaunchApps]` section is added
    /// above the first section when there is none); `false` when it is already there.
    pub fn add_hook(&mut self) -> bool {
        if self.has_hook() {
            return false;
        }
        match self
            .kinds
            .iter()
            .position(|k| *k == Kind::Header(Sect::LaunchApps))
        {
            Some(h) => {
                self.lines.insert(h + 1, LAUNCH_LINE);
                self.kinds.insert(h + 1, Kind::Entry(Sect::LaunchApps));
            }
            None => {
                let first = self
                    .kinds
                    .iter()
                    .position(|k| matches!(k, Kind::Header(_)))
                    .unwrap_or(0);
                self.lines.insert(first, "[LaunchApps]");
                self.lines.insert(first + 1, LAUNCH_LINE);
                self.kinds.insert(first, Kind::Header(Sect::LaunchApps));
                self.kinds.insert(first + 1, Kind::Entry(Sect::LaunchApps));
            }
        }
        true
    }

    /// Removes peforge's line (and the `[LaunchApps]` header when that leaves it empty while a
    /// `[LaunchApp]` remains, i.e. the section peforge added); `false` when it was not there.
    pub fn remove_hook(&mut self) -> bool {
        let Some(i) = self.lines.find(LAUNCH_LINE) else {
            return false;
        };
        self.lines.lines.remove(i);
        self.kinds.remove(i);
        let apps_left = self.kinds.contains(&Kind::Entry(Sect::LaunchApps));
        let has_single = self.kinds.contains(&Kind::Header(Sect::LaunchApp));
        if !apps_left
            && has_single
            && let Some(h) = self
                .kinds
                .iter()
                .position(|k| *k == Kind::Header(Sect::LaunchApps))
        {
            self.lines.lines.remove(h);
            self.kinds.remove(h);
        }
        true
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.to_bytes()
    }
}

/// A startnet.cmd peforge understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Startnet {
    lines: Lines,
}

/// Whether a batch line runs wpeinit (`wpeinit`, `@wpeinit -unattend:x`, `wpeinit.exe`, a full
/// path to it, or `start /wait wpeinit`).
fn is_wpeinit(line: &str) -> bool {
    let s = line.trim().trim_start_matches('@').trim();
    let lower = s.to_ascii_lowercase();
    let lower = lower
        .strip_prefix("start /wait ")
        .map_or(lower.as_str(), str::trim_start);
    let cmd = lower.split_whitespace().next().unwrap_or_default();
    let cmd = cmd.trim_matches('"');
    let base = cmd.rsplit(['\\', '/']).next().unwrap_or(cmd);
    base == "wpeinit" || base == "wpeinit.exe"
}

impl Startnet {
    /// Parses the file; it must be ASCII/UTF-8 text.
    pub fn parse(bytes: &[u8]) -> Result<Startnet, StartupError> {
        Ok(Startnet {
            lines: Lines::parse(bytes)?,
        })
    }

    /// The stock ADK content (`wpeinit`), for an image without a startnet.cmd.
    pub fn stock() -> Startnet {
        Startnet {
            lines: Lines {
                bom: Vec::new(),
                lines: vec![("wpeinit".into(), "\r\n".into())],
                eol: "\r\n".into(),
            },
        }
    }

    /// Whether peforge's line is there.
    pub fn has_hook(&self) -> bool {
        self.lines.find(STARTNET_LINE).is_some()
    }

    /// The lines, as text.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lines.iter().map(|(t, _)| t.clone()).collect()
    }

    /// Adds [`STARTNET_LINE`] just before the first wpeinit line; `false` when already there.
    pub fn add_hook(&mut self) -> Result<bool, StartupError> {
        if self.has_hook() {
            return Ok(false);
        }
        let at = self
            .lines
            .lines
            .iter()
            .position(|(t, _)| is_wpeinit(t))
            .ok_or(StartupError::NoWpeinit)?;
        self.lines.insert(at, STARTNET_LINE);
        Ok(true)
    }

    /// Removes peforge's line; `false` when it was not there.
    pub fn remove_hook(&mut self) -> bool {
        match self.lines.find(STARTNET_LINE) {
            Some(i) => {
                self.lines.lines.remove(i);
                true
            }
            None => false,
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.to_bytes()
    }
}

/// The generated `peforge\start.cmd` (ASCII, CRLF): loads each INF with drvload, logging to
/// [`LOG_PATH`] (under `X:\Windows\Temp`), then calls the user's start script if any; always
/// exits 0 so a failing driver never stops the boot. `infs` are image paths below the root
/// (`peforge\drivers\01-netkvm\netkvm.inf`); `user_script` likewise.
pub fn start_cmd(infs: &[String], user_script: Option<&str>) -> Vec<u8> {
    let mut s = String::new();
    let mut l = |t: &str| {
        s.push_str(t);
        s.push_str("\r\n");
    };
    l("@echo off");
    l("rem Written by peforge wim customize: loads the staged driver packages with drvload");
    l("rem before the shell starts. Do not edit; run peforge wim customize again.");
    l(&format!("set PEFORGE_LOG={LOG_PATH}"));
    l("echo peforge start-up step %DATE% %TIME%>> \"%PEFORGE_LOG%\"");
    for inf in infs {
        l(&format!("call :drv \"%SYSTEMDRIVE%\\{inf}\""));
    }
    if let Some(u) = user_script {
        l(&format!("echo start script {u}>> \"%PEFORGE_LOG%\""));
        l(&format!("call \"%SYSTEMDRIVE%\\{u}\""));
        l("echo start script errorlevel=%ERRORLEVEL%>> \"%PEFORGE_LOG%\"");
    }
    l("exit /b 0");
    l(":drv");
    l("drvload %1 >> \"%PEFORGE_LOG%\" 2>&1");
    l("echo %~1 errorlevel=%ERRORLEVEL%>> \"%PEFORGE_LOG%\"");
    l("exit /b 0");
    s.into_bytes()
}

/// The INF image paths and user script a [`start_cmd`] file calls, read back.
pub fn read_start_cmd(bytes: &[u8]) -> (Vec<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    let mut infs = Vec::new();
    let mut user = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("call :drv \"%SYSTEMDRIVE%\\") {
            infs.push(rest.trim_end_matches('"').to_string());
        } else if let Some(rest) = line.strip_prefix("call \"%SYSTEMDRIVE%\\") {
            user = Some(rest.trim_end_matches('"').to_string());
        }
    }
    (infs, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: &[u8] = b"[LaunchApps]\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe\r\n";

    #[test]
    fn configmgr_hook_goes_first_and_is_idempotent() {
        let mut w = Winpeshl::parse(CM).unwrap();
        assert!(w.add_hook());
        assert_eq!(
            w.apps(),
            [LAUNCH_LINE, "%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe"]
        );
        let once = w.to_bytes();
        let mut again = Winpeshl::parse(&once).unwrap();
        assert!(!again.add_hook());
        assert_eq!(again.to_bytes(), once);
        assert!(again.remove_hook());
        assert_eq!(again.to_bytes(), CM);
        assert!(LAUNCH_LINE.len() <= MAX_LAUNCH_LINE);
    }

    #[test]
    fn lone_launchapp_gets_a_launchapps_section_above() {
        let src = b"; WinRE\n[LaunchApp]\nAppPath=X:\\sources\\recovery\\recenv.exe";
        let mut w = Winpeshl::parse(src).unwrap();
        assert!(w.add_hook());
        assert_eq!(
            String::from_utf8(w.to_bytes()).unwrap(),
            format!(
                "; WinRE\n[LaunchApps]\n{LAUNCH_LINE}\n[LaunchApp]\nAppPath=X:\\sources\\recovery\\recenv.exe"
            )
        );
        assert!(w.remove_hook());
        assert_eq!(w.to_bytes(), src);
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(matches!(
            Winpeshl::parse(b"[Shell]\r\nx=1\r\n"),
            Err(StartupError::UnknownSection { line: 1, .. })
        ));
        assert_eq!(
            Winpeshl::parse(b"app.exe\r\n[LaunchApps]\r\n"),
            Err(StartupError::OutsideSection { line: 1 })
        );
        let long = format!("[LaunchApps]\r\n{}\r\n", "a".repeat(251));
        assert!(matches!(
            Winpeshl::parse(long.as_bytes()),
            Err(StartupError::TooLong { line: 2, len: 251 })
        ));
        assert!(Winpeshl::parse(b"\xff\xfe[\0").is_err());
        assert_eq!(
            Winpeshl::parse(b"[LaunchApp]\r\nfoo.exe\r\n"),
            Err(StartupError::BadLaunchApp { line: 2 })
        );
        assert_eq!(
            Startnet::parse(b"@echo off\r\n").unwrap().add_hook(),
            Err(StartupError::NoWpeinit)
        );
    }

    #[test]
    fn startnet_line_goes_before_wpeinit() {
        let src = b"@echo off\r\nrem keep\r\n@WPEINIT -unattend:x.xml\r\nnet use\r\n";
        let mut s = Startnet::parse(src).unwrap();
        assert!(s.add_hook().unwrap());
        assert_eq!(
            s.lines(),
            [
                "@echo off",
                "rem keep",
                STARTNET_LINE,
                "@WPEINIT -unattend:x.xml",
                "net use"
            ]
        );
        assert!(!s.add_hook().unwrap());
        assert!(s.remove_hook());
        assert_eq!(s.to_bytes(), src);
        let mut s = Startnet::parse(b"wpeinit").unwrap();
        s.add_hook().unwrap();
        assert_eq!(
            s.to_bytes(),
            format!("{STARTNET_LINE}\r\nwpeinit").into_bytes()
        );
        let cmd = start_cmd(
            &["peforge\\drivers\\01-a\\a.inf".into()],
            Some("peforge\\user-start.cmd"),
        );
        assert_eq!(
            read_start_cmd(&cmd),
            (
                vec!["peforge\\drivers\\01-a\\a.inf".to_string()],
                Some("peforge\\user-start.cmd".into())
            )
        );
    }
}
