//! Engine tests: `wim info`, `wim ls/extract/put`, `hive get/set`, checked with wimlib-imagex
//! and hivexget (independent readers) and with bad inputs.

mod common;
use common::{Dir, sha256};

const KEY: &str = "Microsoft\\DeviceManageabilityCSP\\Provider\\MS DM Server";

#[test]
fn wim_info_reports_winpe_and_configmgr() {
    let d = Dir::new();
    let plain = d.sample_wim("plain.wim", false);
    let cm = d.sample_wim("cm.wim", true);
    let j = d
        .peforge(&["wim", "info", plain.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["image_count"], 1);
    assert_eq!(j["images"][0]["winpe"], true);
    assert_eq!(j["images"][0]["configmgr_boot_image"], false);
    assert_eq!(j["images"][0]["arch"], "x64");
    let j = d
        .peforge(&["wim", "info", cm.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(j["images"][0]["configmgr_arch"], "x64");
    // Independent: wiminfo agrees on the image count, name and boot index.
    let wi = d.tool("wiminfo", &[cm.to_str().unwrap()]).ok().stdout;
    let field = |name: &str| {
        wi.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim_start_matches(':').trim().to_string())
    };
    assert_eq!(field("Image Count").as_deref(), Some("1"), "{wi}");
    assert_eq!(field("Boot Index").as_deref(), Some("1"), "{wi}");
    assert!(
        wi.contains(j["images"][0]["name"].as_str().unwrap()),
        "{wi}"
    );
}

#[test]
fn hive_set_is_visible_to_hivexget_and_idempotent() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    let w = wim.to_str().unwrap();
    let set = [
        "hive",
        "set",
        "--wim",
        w,
        "--key",
        KEY,
        "--value",
        "ConfigInfo",
        "--type",
        "sz",
        "--data",
        "2",
        "--json",
    ];
    let j = d.peforge(&set).ok().json();
    assert_eq!(j["changed"], true);
    let hive = d.wimextract(&wim, 1, "Windows/System32/config/SOFTWARE");
    let got = d
        .tool("hivexget", &[hive.to_str().unwrap(), KEY, "ConfigInfo"])
        .ok()
        .stdout;
    assert_eq!(got.trim(), "2");
    let before = sha256(&wim);
    let j = d.peforge(&set).ok().json();
    assert_eq!(j["changed"], false);
    assert_eq!(
        sha256(&wim),
        before,
        "an idempotent set must not rewrite the WIM"
    );
    // dword through a loose hive file, read back by hivexget.
    d.peforge(&[
        "hive",
        "set",
        "--hive-file",
        hive.to_str().unwrap(),
        "--key",
        "Test",
        "--value",
        "N",
        "--type",
        "dword",
        "--data",
        "0x1a",
    ])
    .ok();
    let got = d
        .tool("hivexget", &[hive.to_str().unwrap(), "Test", "N"])
        .ok()
        .stdout;
    assert_eq!(got.trim(), "26");
}

#[test]
fn hive_set_output_leaves_input_untouched() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let before = sha256(&wim);
    d.peforge(&[
        "hive",
        "set",
        "--wim",
        wim.to_str().unwrap(),
        "--key",
        "A\\B",
        "--value",
        "V",
        "--type",
        "multi_sz",
        "--data",
        "x",
        "--data",
        "y",
        "--output",
        "new.wim",
    ])
    .ok();
    assert_eq!(sha256(&wim), before);
    let hive = d.wimextract(&d.join("new.wim"), 1, "Windows/System32/config/SOFTWARE");
    // hivexregedit (Perl, Win::Hivex) shows the raw REG_MULTI_SZ bytes: "x\0y\0\0" in UTF-16LE.
    let got = d
        .tool(
            "hivexregedit",
            &["--export", hive.to_str().unwrap(), "A\\B"],
        )
        .ok()
        .stdout;
    assert!(
        got.contains("\"V\"=hex(7):78,00,00,00,79,00,00,00,00,00"),
        "{got}"
    );
}

#[test]
fn wim_put_and_extract_round_trip_through_wimlib_imagex() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    std::fs::write(d.join("hello.txt"), b"hello from peforge\r\n").unwrap();
    d.peforge(&[
        "wim",
        "put",
        wim.to_str().unwrap(),
        "hello.txt",
        "Windows\\System32\\hello.txt",
    ])
    .ok();
    let local = d.wimextract(&wim, 1, "Windows/System32/hello.txt");
    assert_eq!(std::fs::read(local).unwrap(), b"hello from peforge\r\n");
    d.peforge(&[
        "wim",
        "extract",
        wim.to_str().unwrap(),
        "windows\\system32\\HELLO.TXT",
        "-o",
        "back.txt",
    ])
    .ok();
    assert_eq!(
        std::fs::read(d.join("back.txt")).unwrap(),
        b"hello from peforge\r\n"
    );
    let ls = d
        .peforge(&["wim", "ls", wim.to_str().unwrap(), "Windows\\System32"])
        .ok()
        .stdout;
    assert!(ls.contains("hello.txt"), "{ls}");
}

#[test]
fn bad_inputs_fail_cleanly_and_leave_input_unchanged() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let w = wim.to_str().unwrap();
    let before = sha256(&wim);
    std::fs::write(
        d.join("notawim.wim"),
        b"this is not a wim file at all, just text....",
    )
    .unwrap();
    let bytes = std::fs::read(&wim).unwrap();
    std::fs::write(d.join("trunc.wim"), &bytes[..bytes.len() / 3]).unwrap();
    let r = d.peforge(&["wim", "info", "notawim.wim"]).fails(2);
    assert!(
        r.stderr.contains("notawim.wim: not a WIM file"),
        "{}",
        r.stderr
    );
    let r = d.peforge(&["wim", "info", "trunc.wim"]).fails(2);
    assert!(r.stderr.contains("trunc.wim"), "{}", r.stderr);
    let r = d.peforge(&["wim", "info", "missing.wim"]).fails(2);
    assert!(r.stderr.contains("missing.wim"), "{}", r.stderr);
    let r = d
        .peforge(&["hive", "get", "--wim", w, "--index", "4", "--key", "X"])
        .fails(2);
    assert!(r.stderr.contains("image 4 does not exist"), "{}", r.stderr);
    let r = d
        .peforge(&[
            "hive", "set", "--wim", w, "--key", "X", "--value", "v", "--type", "dword", "--data",
            "nope",
        ])
        .fails(2);
    assert!(r.stderr.contains("not a 32-bit number"), "{}", r.stderr);
    // --output into a directory that does not exist: named, with a hint, nothing left behind.
    let listing = common::dir_listing(d.path());
    let r = d
        .peforge(&[
            "hive",
            "set",
            "--wim",
            w,
            "--key",
            "X",
            "--value",
            "v",
            "--type",
            "sz",
            "--data",
            "1",
            "--output",
            "no-such-dir/new.wim",
        ])
        .fails(2);
    assert!(
        r.stderr
            .contains("no-such-dir/new.wim: cannot write the new WIM")
            && r.stderr.contains("hint: write into an existing"),
        "{}",
        r.stderr
    );
    assert_eq!(common::dir_listing(d.path()), listing);
    // Characters other than hex digits and separators are refused, not dropped.
    let r = d
        .peforge(&[
            "hive", "set", "--wim", w, "--key", "X", "--value", "v", "--type", "binary", "--data",
            "zz",
        ])
        .fails(2);
    assert!(r.stderr.contains("\"zz\" is not hex bytes"), "{}", r.stderr);
    assert_eq!(sha256(&wim), before);

    // Read-only WIM: refused before anything is written.
    let ro = d.join("ro.wim");
    std::fs::copy(&wim, &ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    let r = d
        .peforge(&[
            "hive",
            "set",
            "--wim",
            ro.to_str().unwrap(),
            "--key",
            "X",
            "--value",
            "v",
            "--type",
            "sz",
            "--data",
            "1",
        ])
        .fails(2);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    assert_eq!(sha256(&ro), before);
}

#[test]
fn dirty_and_corrupt_hives_are_refused() {
    let d = Dir::new();
    let hive = d.join("SOFTWARE");
    peforge::sample::build_hive(&hive, &[("A", vec![])]).unwrap();
    // Make it dirty: primary sequence number != secondary (offset 4 vs 8).
    let mut bytes = std::fs::read(&hive).unwrap();
    bytes[4] = bytes[4].wrapping_add(1);
    std::fs::write(d.join("DIRTY"), &bytes).unwrap();
    let r = d
        .peforge(&[
            "hive",
            "set",
            "--hive-file",
            "DIRTY",
            "--key",
            "A",
            "--value",
            "v",
            "--type",
            "sz",
            "--data",
            "1",
        ])
        .fails(2);
    assert!(r.stderr.contains("dirty"), "{}", r.stderr);
    assert_eq!(std::fs::read(d.join("DIRTY")).unwrap(), bytes);
    std::fs::write(d.join("GARBAGE"), vec![0x41u8; 8192]).unwrap();
    let r = d
        .peforge(&["hive", "get", "--hive-file", "GARBAGE", "--key", "A"])
        .fails(2);
    assert!(
        r.stderr.contains("not a valid registry hive"),
        "{}",
        r.stderr
    );
}

/// A 2-image install.wim captured through the library: image 1 and image 2 each with real
/// SOFTWARE, SYSTEM and DEFAULT hives (image 2 has a marker value to tell them apart).
fn install_wim(d: &Dir) -> std::path::PathBuf {
    let opts = peforge::sample::SampleOptions {
        filler_bytes: 0,
        ..Default::default()
    };
    let (one, two) = (d.join("img1"), d.join("img2"));
    for dir in [&one, &two] {
        std::fs::create_dir_all(dir).unwrap();
        peforge::sample::stage_tree(dir, &opts).unwrap();
    }
    std::fs::remove_file(two.join("Windows/System32/config/SYSTEM")).unwrap();
    peforge::sample::build_hive(
        &two.join("Windows/System32/config/SYSTEM"),
        &[("Select", vec![])],
    )
    .unwrap();
    let out = d.join("install.wim");
    peforge::wim::capture(
        &[
            peforge::wim::CaptureImage {
                source: &one,
                name: "Windows 11 Education",
                properties: &[],
            },
            peforge::wim::CaptureImage {
                source: &two,
                name: "Windows 11 Pro",
                properties: &[],
            },
        ],
        &out,
    )
    .unwrap();
    out
}

#[test]
fn hive_get_and_set_on_install_wim_image_2_system_and_default_hives() {
    let d = Dir::new();
    let wim = install_wim(&d);
    let w = wim.to_str().unwrap();
    assert_eq!(image_count(&d, &wim), 2);
    let image1_system = sha256(&d.wimextract(&wim, 1, "Windows/System32/config/SYSTEM"));
    for (hive, key, value, data) in [
        ("SYSTEM", "ControlSet001\\Control\\Peforge", "Mode", "7"),
        ("DEFAULT", "Control Panel\\Desktop", "ScreenSaveActive", "0"),
    ] {
        d.peforge(&[
            "hive", "set", "--wim", w, "--index", "2", "--hive", hive, "--key", key, "--value",
            value, "--type", "dword", "--data", data,
        ])
        .ok();
        // Independent reader: wimextract + hivexget, on image 2's hive.
        let local = d.wimextract(&wim, 2, &format!("Windows/System32/config/{hive}"));
        let got = d
            .tool("hivexget", &[local.to_str().unwrap(), key, value])
            .ok()
            .stdout;
        assert_eq!(got.trim(), data, "{hive}");
        // hive get reads it back from the same image and hive.
        let j = d
            .peforge(&[
                "hive", "get", "--wim", w, "--index", "2", "--hive", hive, "--key", key, "--value",
                value, "--json",
            ])
            .ok()
            .json();
        assert_eq!(j["type"], "dword");
        assert_eq!(j["data"], data.parse::<u64>().unwrap());
        // Image 1's hive of that name does not have it.
        let r = d
            .peforge(&[
                "hive", "get", "--wim", w, "--index", "1", "--hive", hive, "--key", key, "--value",
                value,
            ])
            .fails(2);
        assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("install.wim[1]:Windows\\System32\\config\\{hive}")),
            "the error names the WIM, image and hive: {}",
            r.stderr
        );
    }
    // The edit went into image 2's own SYSTEM hive (it has no MiniNT or Session Manager).
    let system2 = d.wimextract(&wim, 2, "Windows/System32/config/SYSTEM");
    assert_eq!(
        common::hivexsh_ls(&d, &system2, "ControlSet001\\Control"),
        vec!["Peforge".to_string()]
    );
    assert_eq!(
        sha256(&d.wimextract(&wim, 1, "Windows/System32/config/SYSTEM")),
        image1_system,
        "image 1 must be untouched"
    );
    assert_eq!(image_count(&d, &wim), 2);
}

/// The image count as wiminfo (not peforge) reports it.
fn image_count(d: &Dir, wim: &std::path::Path) -> u32 {
    let out = d.tool("wiminfo", &[wim.to_str().unwrap()]).ok().stdout;
    out.lines()
        .find_map(|l| l.strip_prefix("Image Count:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no image count in {out}"))
}

/// What `wimlib-imagex dir --detailed` (not peforge) says about one file: its attributes and its
/// security descriptor (hex), if any.
fn wimlib_metadata(d: &Dir, wim: &std::path::Path, inner: &str) -> (u32, Option<String>) {
    let path = format!("--path={inner}");
    let out = d
        .tool(
            "wimlib-imagex",
            &["dir", wim.to_str().unwrap(), "1", &path, "--detailed"],
        )
        .ok()
        .stdout;
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_start_matches('=').trim().to_string())
    };
    let attributes = field("Attributes")
        .and_then(|a| u32::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| panic!("no attributes in {out}"));
    (attributes, field("Security Descriptor"))
}

/// A replaced hive keeps its path but loses its security descriptor and attributes (wimlib adds
/// files from Linux without them); `wim info` says so, in agreement with wimlib-imagex. The
/// input WIM carries real descriptors: the sample is applied to an NTFS volume image (mkntfs,
/// wimlib's NTFS-3G mode) and captured back from it.
#[test]
fn replaced_hive_keeps_its_path_and_wim_info_shows_the_lost_descriptor() {
    let d = Dir::new();
    let plain = d.sample_wim("plain.wim", false);
    let vol = d.join("ntfs.img");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    d.tool("mkntfs", &["-q", "-F", "-f", vol.to_str().unwrap()])
        .ok();
    let (p, v) = (plain.to_str().unwrap(), vol.to_str().unwrap());
    d.tool("wimlib-imagex", &["apply", p, "1", v]).ok();
    let wim = d.join("sd.wim");
    let w = wim.to_str().unwrap();
    d.tool("wimlib-imagex", &["capture", v, w, "WinPE"]).ok();
    let hive = "\\Windows\\System32\\config\\SOFTWARE";
    let (attributes, sd) = wimlib_metadata(&d, &wim, hive);
    assert!(sd.is_some(), "the NTFS capture must carry descriptors");
    let j = d.peforge(&["wim", "info", w, "--json"]).ok().json();
    assert_eq!(
        j["images"][0]["software_hive_has_security_descriptor"],
        true
    );
    assert_eq!(j["images"][0]["software_hive_attributes"], attributes);

    d.peforge(&[
        "hive",
        "set",
        "--wim",
        w,
        "--key",
        KEY,
        "--value",
        "ConfigInfo",
        "--type",
        "sz",
        "--data",
        "2",
    ])
    .ok();
    let (attributes, sd) = wimlib_metadata(&d, &wim, hive);
    assert_eq!((attributes, sd), (0x80, None), "what wimlib keeps changed");
    // Same path and spelling; the untouched SYSTEM hive and the directory keep their descriptor.
    let ls = d
        .tool(
            "wimlib-imagex",
            &["dir", w, "1", "--path=\\Windows\\System32\\config"],
        )
        .ok()
        .stdout;
    assert!(
        ls.lines().any(|l| l == "/Windows/System32/config/SOFTWARE"),
        "{ls}"
    );
    assert!(
        wimlib_metadata(&d, &wim, "\\Windows\\System32\\config\\SYSTEM")
            .1
            .is_some()
    );
    assert!(
        wimlib_metadata(&d, &wim, "\\Windows\\System32\\config")
            .1
            .is_some()
    );
    let j = d.peforge(&["wim", "info", w, "--json"]).ok().json();
    assert_eq!(
        j["images"][0]["software_hive_has_security_descriptor"],
        false
    );
    assert_eq!(j["images"][0]["software_hive_attributes"], 0x80);
    let text = d.peforge(&["wim", "info", w]).ok().stdout;
    assert!(
        text.contains("SOFTWARE hive: attributes 0x00000080, no security descriptor"),
        "{text}"
    );
    // A replacement given in another case lands on the image's own entry (no second file).
    let hive_copy = d.wimextract(&wim, 1, "Windows/System32/config/SOFTWARE");
    d.peforge(&[
        "wim",
        "put",
        w,
        hive_copy.to_str().unwrap(),
        "windows\\system32\\CONFIG\\software",
    ])
    .ok();
    let ls = d
        .tool(
            "wimlib-imagex",
            &["dir", w, "1", "--path=\\Windows\\System32\\config"],
        )
        .ok()
        .stdout;
    let names: Vec<&str> = ls
        .lines()
        .filter(|l| l.to_ascii_lowercase().ends_with("/software"))
        .collect();
    assert_eq!(names, ["/Windows/System32/config/SOFTWARE"], "{ls}");
}

/// The WIM write progress bar is drawn on a terminal (a real pseudo-terminal from `script`) and
/// never with -q, --json or when stderr is not a terminal.
#[test]
fn progress_bar_only_on_a_terminal_without_quiet_or_json() {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", false);
    let pf = env!("CARGO_BIN_EXE_peforge");
    let on_tty = |args: &str| {
        let cmd = format!("{pf} {args} --wim {}", wim.display());
        d.tool("script", &["-qec", &cmd, "/dev/null"]).ok().stdout
    };
    let set = |v: &str| format!("hive set --key P --value {v} --type sz --data x");
    assert!(on_tty(&set("a")).contains("writing WIM"));
    assert!(!on_tty(&format!("-q {}", set("b"))).contains("writing WIM"));
    assert!(!on_tty(&format!("{} --json", set("c"))).contains("writing WIM"));
    let piped = d
        .peforge(&[
            "hive",
            "set",
            "--wim",
            wim.to_str().unwrap(),
            "--key",
            "P",
            "--value",
            "d",
            "--type",
            "sz",
            "--data",
            "x",
        ])
        .ok();
    assert!(!piped.stderr.contains("writing WIM"), "{}", piped.stderr);
    // Every set reached the WIM (hivexget after wimextract).
    let hive = d.wimextract(&wim, 1, "Windows/System32/config/SOFTWARE");
    for v in ["a", "b", "c", "d"] {
        let got = d
            .tool("hivexget", &[hive.to_str().unwrap(), "P", v])
            .ok()
            .stdout;
        assert_eq!(got.trim(), "x", "{v}");
    }
}

/// `cert inject --all-images` on an install.wim puts the certificate into every image's
/// SOFTWARE hive, as hivexget (after wimextract) sees it; `--index 2` lists image 2 only.
#[test]
fn cert_inject_all_images_of_install_wim() {
    let d = Dir::new();
    let wim = install_wim(&d);
    let w = wim.to_str().unwrap();
    let root = common::openssl_root_ca(&d, "root", "Install Root");
    let fp = d
        .tool(
            "openssl",
            &[
                "x509",
                "-in",
                root.to_str().unwrap(),
                "-noout",
                "-fingerprint",
                "-sha1",
            ],
        )
        .ok()
        .stdout;
    let thumb: String = fp
        .rsplit('=')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let der = common::openssl_der(&d, &root);
    d.peforge(&[
        "cert",
        "inject",
        "--wim",
        w,
        "--all-images",
        "--cert",
        root.to_str().unwrap(),
    ])
    .ok();
    for index in [1, 2] {
        let hive = d.wimextract(&wim, index, "Windows/System32/config/SOFTWARE");
        let key = format!("Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\{thumb}");
        let blob = common::hivex_blob(&d, &hive, &key)
            .unwrap_or_else(|| panic!("image {index} lacks {key}"));
        assert!(
            blob.ends_with(&der),
            "image {index}: the Blob does not end with the DER"
        );
    }
    let j = d
        .peforge(&["cert", "list", "--wim", w, "--index", "2", "--json"])
        .ok()
        .json();
    let text = j.to_string();
    assert!(text.contains(&thumb), "{text}");
    assert_eq!(image_count(&d, &wim), 2);
}
