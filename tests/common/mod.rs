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
/// Serial-console marker printed by the stand-in BIOS El Torito boot image.
pub const BIOS_MARKER: &str = "PEFORGE-BIOS-OK";
/// Serial-console marker printed by the stand-in UEFI boot application.
pub const UEFI_MARKER: &str = "PEFORGE-UEFI-OK";

/// A 4096-byte no-emulation El Torito boot image (the size of `etfsboot.com`) that writes
/// `BIOS_MARKER` to COM1 and halts. Hand-assembled 16-bit code, position independent:
/// `mov dx,0x3F8`, then `mov al,c; out dx,al` per character, then `cli; hlt; jmp $-2`.
pub fn bios_standin_bytes() -> Vec<u8> {
    let mut code = vec![0xBA, 0xF8, 0x03];
    for c in format!("{BIOS_MARKER}\r\n").bytes() {
        code.extend_from_slice(&[0xB0, c, 0xEE]);
    }
    code.extend_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]);
    code.resize(4096, 0);
    code
}

impl Dir {
    /// Builds bootable stand-ins for the boot files a WinPE image carries, laid out as in the
    /// image (usable as `SampleOptions.overlay`), and returns the overlay root:
    /// - `Windows/Boot/DVD/PCAT/etfsboot.com`: [`bios_standin_bytes`];
    /// - `Windows/Boot/EFI/bootmgfw.efi` (and `bootmgr.efi`): a GRUB x86_64-efi image
    ///   (grub-mkimage, embedded config) printing `UEFI_MARKER` on the serial console;
    /// - `Windows/Boot/DVD/EFI/en-US/efisys.bin` and `efisys_noprompt.bin`: 1.44 MB FAT
    ///   images (mkfs.fat + mtools) holding it as `EFI/BOOT/BOOTX64.EFI`.
    pub fn bootable_standins(&self) -> PathBuf {
        let root = self.join("standins");
        if root.join("Windows/Boot/DVD/EFI/en-US/efisys.bin").is_file() {
            return root;
        }
        let pcat = root.join("Windows/Boot/DVD/PCAT");
        let efi = root.join("Windows/Boot/EFI");
        let dvd_efi = root.join("Windows/Boot/DVD/EFI/en-US");
        for d in [&pcat, &efi, &dvd_efi] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(pcat.join("etfsboot.com"), bios_standin_bytes()).unwrap();
        let cfg = self.join("standin-grub.cfg");
        std::fs::write(
            &cfg,
            format!(
                "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\necho {UEFI_MARKER}\nhalt\n"
            ),
        )
        .unwrap();
        let efi_app = efi.join("bootmgfw.efi");
        self.tool(
            "grub-mkimage",
            &[
                "-O",
                "x86_64-efi",
                "-p",
                "/efi/boot",
                "-c",
                cfg.to_str().unwrap(),
                "-o",
                efi_app.to_str().unwrap(),
                "serial",
                "terminal",
                "echo",
                "halt",
            ],
        )
        .ok();
        std::fs::copy(&efi_app, efi.join("bootmgr.efi")).unwrap();
        for name in ["efisys.bin", "efisys_noprompt.bin"] {
            let img = dvd_efi.join(name);
            let img_s = img.to_str().unwrap();
            self.tool("mkfs.fat", &["-C", "-i", "5045464f", img_s, "1440"])
                .ok();
            self.tool("mmd", &["-i", img_s, "::/EFI", "::/EFI/BOOT"])
                .ok();
            self.tool(
                "mcopy",
                &[
                    "-i",
                    img_s,
                    efi_app.to_str().unwrap(),
                    "::/EFI/BOOT/BOOTX64.EFI",
                ],
            )
            .ok();
        }
        root
    }

    /// Boots QEMU (x86_64, TCG) with `args`, the serial console going to a file, until
    /// `marker` appears on it or `timeout` passes; the VM is killed either way. Panics with
    /// the console log if the marker never showed. Returns the log.
    pub fn qemu_boot(&self, args: &[&str], marker: &str, timeout: std::time::Duration) -> String {
        let log = tempfile::NamedTempFile::new_in(self.path()).unwrap();
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-nodefaults",
                "-no-reboot",
                "-display",
                "none",
                "-monitor",
                "none",
                "-m",
                "256",
                "-vga",
                "none",
                "-serial",
            ])
            .arg(format!("file:{}", log.path().display()))
            .args(args)
            .current_dir(self.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("qemu-system-x86_64 is required for this test (run scripts/setup.sh): {e}")
            });
        let start = std::time::Instant::now();
        let mut seen = String::new();
        let mut exited = None;
        while start.elapsed() < timeout {
            seen = String::from_utf8_lossy(&std::fs::read(log.path()).unwrap_or_default())
                .into_owned();
            if seen.contains(marker) {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                seen = String::from_utf8_lossy(&std::fs::read(log.path()).unwrap_or_default())
                    .into_owned();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if exited.is_none() {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            seen.contains(marker),
            "QEMU {args:?} did not print {marker} within {timeout:?} (exit {exited:?})\nserial console:\n{seen}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen
    }
}

/// OVMF firmware image for QEMU `-bios` (Debian package ovmf).
pub fn ovmf() -> &'static str {
    for p in ["/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF.fd"] {
        if Path::new(p).is_file() {
            return p;
        }
    }
    panic!("OVMF is required for this test (run scripts/setup.sh: Debian package ovmf)");
}

impl Dir {
    /// A representative media tree built from [`Dir::bootable_standins`] and the sample WIM:
    /// the boot files at their media paths (boot-media.md §1), site media files, a Unicode
    /// name, an empty file, a deep path and a directory large enough to span several sectors.
    /// Boot entries: `boot/etfsboot.com` (BIOS) and `efi/microsoft/boot/efisys.bin` (UEFI).
    pub fn media_tree(&self) -> peforge::media::MediaTree {
        use peforge::media::{FileSource, MediaTree};
        let s = self.bootable_standins();
        let wim = self.join("boot.wim");
        if !wim.is_file() {
            let opts = peforge::sample::SampleOptions {
                configmgr: true,
                filler_bytes: 3 << 20,
                overlay: Some(s.clone()),
                ..Default::default()
            };
            peforge::sample::build_boot_wim(&wim, &opts).expect("sample wim");
        }
        let local = |p: &str| FileSource::Local(s.join(p));
        let text = |t: &str| FileSource::Bytes(t.as_bytes().to_vec());
        let mut t = MediaTree {
            label: "Configuration Manager".into(),
            mtime: 1_700_000_000,
            ..Default::default()
        };
        t.insert("bootmgr", text("stand-in bootmgr\r\n"));
        t.insert("bootmgr.efi", local("Windows/Boot/EFI/bootmgr.efi"));
        t.insert("boot/BCD", text("stand-in BIOS BCD\r\n"));
        t.insert(
            "boot/boot.sdi",
            FileSource::Bytes(vec![0x5A; 3 * 1024 * 1024 + 7]),
        );
        t.insert(
            "boot/etfsboot.com",
            local("Windows/Boot/DVD/PCAT/etfsboot.com"),
        );
        t.insert("boot/fonts/wgl4_boot.ttf", text("font"));
        t.insert(
            "efi/boot/bootx64.efi",
            local("Windows/Boot/EFI/bootmgfw.efi"),
        );
        t.insert("efi/microsoft/boot/BCD", text("stand-in UEFI BCD\r\n"));
        t.insert(
            "efi/microsoft/boot/efisys.bin",
            local("Windows/Boot/DVD/EFI/en-US/efisys.bin"),
        );
        t.insert(
            "efi/microsoft/boot/efisys_noprompt.bin",
            local("Windows/Boot/DVD/EFI/en-US/efisys_noprompt.bin"),
        );
        t.insert(
            "efi/microsoft/boot/fonts/segoe_slboot_long_file_name.ttf",
            text("font 2"),
        );
        t.insert("sources/boot.wim", FileSource::Local(wim));
        t.insert(
            "SMS/data/TsmBootstrap.ini",
            text("[MediaInfo]\r\nMediaType=BootMedia\r\n"),
        );
        t.insert(
            "SMS/data/Variables.dat",
            FileSource::Bytes((0..=255u8).cycle().take(5000).collect()),
        );
        t.insert("MediaLabel.txt", text("label=Configuration Manager\r\n"));
        t.insert("Ünïcödé name with spaces.txt", text("unicode"));
        t.insert("empty.txt", FileSource::Bytes(Vec::new()));
        t.insert("deep/a/b/c/d/e/file.txt", text("deep"));
        for i in 0..120 {
            t.insert(
                &format!("many/file-{i:03}-with-a-rather-long-name.txt"),
                FileSource::Bytes(format!("file {i}\n").into_bytes()),
            );
        }
        t.boot.bios = Some("boot/etfsboot.com".into());
        t.boot.uefi = Some("efi/microsoft/boot/efisys.bin".into());
        t
    }
}

/// The bytes a media tree entry holds.
pub fn source_bytes(src: &peforge::media::FileSource) -> Vec<u8> {
    match src {
        peforge::media::FileSource::Bytes(b) => b.clone(),
        peforge::media::FileSource::Local(p) => std::fs::read(p).unwrap(),
    }
}

/// Every regular file under `root`, as `/`-separated relative paths, sorted.
pub fn list_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut v = Vec::new();
    walk(root, root, &mut v);
    v.sort();
    v
}

/// Asserts that the folder `root` holds exactly the files of `tree` with equal contents
/// (`what` names the tool that produced the folder).
pub fn assert_tree_equals_dir(tree: &peforge::media::MediaTree, root: &Path, what: &str) {
    let mut want: Vec<String> = tree.files.keys().cloned().collect();
    want.sort();
    assert_eq!(list_files(root), want, "{what}: file list differs");
    for (path, src) in &tree.files {
        let got = std::fs::read(root.join(path)).unwrap();
        assert!(
            got == source_bytes(src),
            "{what}: content of {path} differs"
        );
    }
}

/// Independent reader/writer of Variables.dat (spec §6) and the media PFX (§9), with python3
/// `cryptography`. `read FILE PASSWORD` prints a JSON object: alg_id, trailer (hex), vars (list
/// of [name, value]), and for a media PFX the certificate subject and public-key modulus.
/// `write FILE PASSWORD ALGID TRAILERHEX NAME=VALUE...` writes a file.
pub const VARS_PY: &str = r#"
import sys, struct, hashlib, re, json, binascii
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.serialization import pkcs12

def key(pw, alg):
    h = hashlib.sha1(pw.encode('utf-16-le')).digest()
    a = hashlib.sha1(bytes(x ^ y for x, y in zip(b'\x36' * 64, h + b'\0' * 44))).digest()
    b = hashlib.sha1(bytes(x ^ y for x, y in zip(b'\x5c' * 64, h + b'\0' * 44))).digest()
    return (a + b)[:{0x660e: 16, 0x6610: 32}[alg]]

cmd, path, pw = sys.argv[1], sys.argv[2], sys.argv[3]
if cmd == 'read':
    data = open(path, 'rb').read()
    magic, blk, plen, clen, alg, zero = struct.unpack('<4sIIIII', data[:24])
    assert magic == b'\x00\x00\xed\xec' and blk == 0x14 and zero == 0
    assert clen % 16 == 0 and 1 <= clen - plen <= 16, (plen, clen)
    d = Cipher(algorithms.AES(key(pw, alg)), modes.CBC(b'\0' * 16)).decryptor()
    pt = d.update(data[24:24 + clen]) + d.finalize()
    u = padding.PKCS7(128).unpadder()
    pt = u.update(pt) + u.finalize()
    assert len(pt) == plen
    xml = pt.decode('utf-16-le')
    assert xml.startswith('<?xml ') and xml.endswith('</MediaVarList>\0'), xml[-40:]
    vs = re.findall(r'<var name="([^"]+)"><!\[CDATA\[(.*?)\]\]></var>', xml, re.S)
    out = {'alg_id': alg, 'trailer': data[24 + clen:].hex(), 'vars': vs}
    d = dict(vs)
    if '_SMSTSMediaPFX' in d:
        k, c, extra = pkcs12.load_key_and_certificates(binascii.unhexlify(d['_SMSTSMediaPFX']), d['_SMSMediaGuid'][:31].encode())
        out['pfx_subject'] = c.subject.rfc4514_string()
        out['pfx_modulus'] = format(k.public_key().public_numbers().n, 'x')
    print(json.dumps(out))
elif cmd == 'write':
    alg = int(sys.argv[4], 16); trailer = bytes.fromhex(sys.argv[5])
    body = ''.join('<var name="%s"><![CDATA[%s]]></var>' % tuple(a.split('=', 1)) for a in sys.argv[6:])
    xml = '<?xml version="1.0" ?><MediaVarList Version="5.00.9129.1000">' + body + '</MediaVarList>\0'
    pt = xml.encode('utf-16-le')
    p = padding.PKCS7(128).padder(); padded = p.update(pt) + p.finalize()
    e = Cipher(algorithms.AES(key(pw, alg)), modes.CBC(b'\0' * 16)).encryptor()
    ct = e.update(padded) + e.finalize()
    open(path, 'wb').write(struct.pack('<4sIIIII', b'\x00\x00\xed\xec', 0x14, len(pt), len(ct), alg, 0) + ct + trailer)
"#;

impl Dir {
    /// Runs peforge with `args`, feeding `input` on stdin.
    pub fn peforge_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_peforge"))
            .args(args)
            .current_dir(self.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run peforge");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait peforge");
        Run::from(out, format!("peforge {} < stdin", args.join(" ")))
    }
}

/// Text as regedit 5.00 writes it: UTF-16LE with a BOM (the line ends are the caller's).
pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// The text of a `.reg` file (UTF-16LE with BOM, else UTF-8), decoded without peforge.
pub fn reg_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    match bytes.strip_prefix(&[0xFF, 0xFE]) {
        Some(rest) => {
            let units: Vec<u16> = rest
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).unwrap()
        }
        None => String::from_utf8(bytes).unwrap(),
    }
}

/// The first key path of a `.reg` file and the bytes of its `"Blob"=hex:` value, taken with
/// plain string handling (not with peforge's reader).
pub fn reg_key_and_blob(path: &Path) -> (String, Vec<u8>) {
    let text = reg_text(path);
    let key = text
        .lines()
        .find(|l| l.starts_with('['))
        .unwrap()
        .trim()
        .trim_matches(['[', ']'])
        .to_string();
    let start = text.find("\"Blob\"=hex:").unwrap() + "\"Blob\"=hex:".len();
    let mut hexs = String::new();
    for line in text[start..].lines() {
        let l = line.trim();
        hexs.extend(l.chars().filter(|c| c.is_ascii_hexdigit()));
        if !l.ends_with('\\') {
            break;
        }
    }
    (key, hex::decode(hexs).unwrap())
}

/// A self-signed root CA made by openssl at test time: writes `<stem>.pem` and `<stem>.key` in
/// the work directory and returns the certificate's path.
pub fn openssl_root_ca(d: &Dir, stem: &str, cn: &str) -> PathBuf {
    let (pem, key) = (format!("{stem}.pem"), format!("{stem}.key"));
    let subj = format!("/CN={cn}");
    d.tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            &subj,
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    )
    .ok();
    d.join(&pem)
}

/// The DER bytes of a PEM certificate, converted by openssl (not peforge).
pub fn openssl_der(d: &Dir, pem: &Path) -> Vec<u8> {
    let out = tempfile::NamedTempFile::new_in(d.path())
        .unwrap()
        .into_temp_path();
    d.tool(
        "openssl",
        &[
            "x509",
            "-in",
            pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    std::fs::read(&out).unwrap()
}

impl Dir {
    /// Writes a secret file (mode 0600, one line), as a careful user would.
    pub fn secret_file(&self, name: &str, secret: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.join(name);
        std::fs::write(&p, format!("{secret}\n")).expect("write secret file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
            .expect("chmod secret file");
        p
    }

    /// A test PKI made by openssl (not peforge): a self-signed root CA `root.pem`/`root.key`
    /// (CN `root_cn`), a media client certificate `media.pem` (CN "PS1 boot media", serial 7)
    /// signed by it, and `media.pfx` exported with `pfx_password`, which goes into `pfx.pass`.
    pub fn media_pki(&self, root_cn: &str, pfx_password: &str) {
        let ossl = |args: &[&str]| self.tool("openssl", args).ok();
        let subj = format!("/CN={root_cn}");
        ossl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ]);
        ossl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "media.key",
            "-out",
            "media.csr",
            "-subj",
            "/CN=PS1 boot media",
        ]);
        ossl(&[
            "x509",
            "-req",
            "-in",
            "media.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-out",
            "media.pem",
            "-days",
            "365",
            "-set_serial",
            "7",
        ]);
        let passout = format!("pass:{pfx_password}");
        ossl(&[
            "pkcs12",
            "-export",
            "-inkey",
            "media.key",
            "-in",
            "media.pem",
            "-name",
            "media",
            "-out",
            "media.pfx",
            "-passout",
            &passout,
        ]);
        self.secret_file("pfx.pass", pfx_password);
    }

    /// Reads a Variables.dat with [`VARS_PY`] (python3 `cryptography`, not peforge); the
    /// script is written into the folder on first use.
    pub fn py_vars(&self, file: &Path, password: &str) -> serde_json::Value {
        if !self.join("vars.py").exists() {
            std::fs::write(self.join("vars.py"), VARS_PY).expect("write vars.py");
        }
        let r = self
            .tool(
                "python3",
                &["vars.py", "read", file.to_str().unwrap(), password],
            )
            .ok();
        serde_json::from_str(&r.stdout).expect("vars.py output")
    }
}

/// `media build` arguments shared by the media tests: `boot.wim`, the CMG `mp`, site PS1,
/// `root.pem`, `media.pfx` with `pfx.pass`, `media.pass` (see [`Dir::media_pki`]).
pub fn media_build_args<'a>(mp: &'a str, format: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "media",
        "build",
        "--boot-wim",
        "boot.wim",
        "--mp",
        mp,
        "--site-code",
        "PS1",
        "--root-cert",
        "root.pem",
        "--media-cert",
        "media.pfx",
        "--media-cert-password-file",
        "pfx.pass",
        "--password-file",
        "media.pass",
        "--format",
        format,
        "-o",
        out,
    ]
}

/// The value of variable `name` in a [`Dir::py_vars`] result.
pub fn py_var<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    v["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

/// Validates `doc` against the JSON Schema file `schema` with Python `jsonschema` (an
/// independent validator, installed by scripts/setup.sh), with format checking; returns the
/// validator's messages (empty: valid). A missing Python or jsonschema fails the test.
pub fn jsonschema_errors(schema: &Path, doc: &serde_json::Value) -> Vec<String> {
    const PY: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
v = cls(schema, format_checker=cls.FORMAT_CHECKER)
for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
    print("/".join(str(p) for p in e.path) + ": " + e.message)
"#;
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", PY, schema.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is required (run scripts/setup.sh)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 jsonschema failed (run scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The repository's `schemas/<name>.schema.json`.
pub fn schema_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{name}.schema.json"))
}

/// Asserts that a `--json` document (text) matches `schemas/<name>.schema.json`
/// ([`jsonschema_errors`]).
pub fn assert_json_schema(name: &str, doc: &str) {
    let v: serde_json::Value = serde_json::from_str(doc).expect("JSON document");
    let errors = jsonschema_errors(&schema_file(name), &v);
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}
