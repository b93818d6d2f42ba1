//! `scripts/package.sh` builds the Debian package; dpkg-deb reads it back (`-I`, `-c`, `-x`),
//! its Depends is checked against the libraries the binary really links (readelf, dpkg -S),
//! and the unpacked binary runs `--version` and `wim info` on a sample, compared with
//! wimlib-imagex. The package ships a release build: the first run in a fresh checkout compiles
//! one (minutes); later runs are incremental.

mod common;

use std::path::Path;

use common::Dir;

fn lines_of(out: &str) -> Vec<&str> {
    out.lines().map(str::trim).collect()
}

#[test]
fn package_builds_installs_and_runs() {
    let d = Dir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = d.join("out");
    // Without the test harness's LD_LIBRARY_PATH, which clang-sys's build script tracks: with
    // it the nested release build would rebuild bindgen and everything above it.
    let o = std::process::Command::new(root.join("scripts/package.sh"))
        .args(["-o", out.to_str().unwrap()])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("run scripts/package.sh");
    let r = common::Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        what: "scripts/package.sh".into(),
    };
    assert_eq!(r.code, 0, "package.sh failed: {}{}", r.stdout, r.stderr);
    let version = env!("CARGO_PKG_VERSION");
    let deb = out.join(format!("peforge_{version}_amd64.deb"));
    assert!(deb.is_file(), "{}: {}", deb.display(), r.stdout);
    assert_eq!(r.stdout.trim().lines().last(), Some(deb.to_str().unwrap()));
    let deb = deb.to_str().unwrap();

    // Control fields.
    let info = d.tool("dpkg-deb", &["-f", deb]).ok().stdout;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .to_string()
    };
    assert_eq!(field("Package"), "peforge");
    assert_eq!(field("Version"), version);
    assert_eq!(field("Architecture"), "amd64");
    let depends = field("Depends");
    d.tool("dpkg-deb", &["-I", deb]).ok();

    // Contents.
    let list = d.tool("dpkg-deb", &["-c", deb]).ok().stdout;
    for path in [
        "./usr/bin/peforge",
        "./usr/share/man/man1/peforge.1.gz",
        "./usr/share/bash-completion/completions/peforge",
        "./usr/share/zsh/vendor-completions/_peforge",
        "./usr/share/fish/vendor_completions.d/peforge.fish",
        "./usr/share/doc/peforge/README.md",
        "./usr/share/doc/peforge/copyright",
        "./usr/share/peforge/templates/ts/bare-metal-cmg.toml",
        "./usr/share/peforge/templates/ts/deploy.toml",
        "./usr/share/peforge/templates/media/cmg-site-media.toml",
    ] {
        assert!(
            list.lines()
                .any(|l| l.ends_with(path) && l.contains("root/root")),
            "{path} missing (or not root-owned): {list}"
        );
    }
    assert!(
        list.lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/bin/peforge")),
        "{list}"
    );

    // Unpack into a temporary root and run from there.
    d.tool("dpkg-deb", &["-x", deb, "root"]).ok();
    let bin = d.join("root/usr/bin/peforge");
    let bin = bin.to_str().unwrap();

    // Depends names the package of every library the binary links (libwim, libhivex, libc...).
    let dynamic = d.tool("readelf", &["-d", bin]).ok().stdout;
    let needed: Vec<String> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_string))
        .collect();
    assert!(
        needed.iter().any(|n| n.starts_with("libwim.so")),
        "{needed:?}"
    );
    assert!(
        needed.iter().any(|n| n.starts_with("libhivex.so")),
        "{needed:?}"
    );
    let dep_names: Vec<&str> = depends
        .split([',', '|'])
        .map(|p| p.split_whitespace().next().unwrap_or(""))
        .collect();
    for lib in &needed {
        let owner = d
            .tool("sh", &["-c", &format!("dpkg -S '*/{lib}' | head -n1")])
            .ok()
            .stdout;
        let pkg = owner.split(':').next().unwrap().trim().to_string();
        assert!(
            dep_names.contains(&pkg.as_str()),
            "{lib} comes from {pkg}, not in Depends: {depends}"
        );
    }
    // A release build, stripped: no debug sections.
    let sections = d.tool("readelf", &["-S", bin]).ok().stdout;
    assert!(!sections.contains(".debug_info"), "not stripped");

    let v = d.tool(bin, &["--version"]).ok();
    assert_eq!(v.stdout.trim(), format!("peforge {version}"));
    d.tool(
        bin,
        &["-q", "sample", "boot-wim", "--configmgr", "-o", "s.wim"],
    )
    .ok();
    let info = d.tool(bin, &["wim", "info", "s.wim", "--json"]).ok().json();
    let theirs = d.tool("wimlib-imagex", &["info", "s.wim"]).ok().stdout;
    let count = lines_of(&theirs)
        .iter()
        .find_map(|l| l.strip_prefix("Image Count:"))
        .map(|v| v.trim().parse::<u64>().unwrap())
        .unwrap();
    assert_eq!(info["image_count"], count);
    assert_eq!(info["images"][0]["winpe"], true);
    assert_eq!(info["images"][0]["configmgr_boot_image"], true);
    assert!(
        theirs.contains(info["images"][0]["name"].as_str().unwrap()),
        "{theirs}"
    );

    // The man page and completions are what the binary generates; bash accepts the script.
    let man = d
        .tool("sh", &["-c", "zcat root/usr/share/man/man1/peforge.1.gz"])
        .ok()
        .stdout;
    assert!(
        man.starts_with(".ie") || man.contains(".TH peforge"),
        "{}",
        &man[..man.len().min(200)]
    );
    let generated = d.tool(bin, &["completions", "bash"]).ok().stdout;
    assert_eq!(
        std::fs::read_to_string(d.join("root/usr/share/bash-completion/completions/peforge"))
            .unwrap(),
        generated
    );
    d.tool(
        "bash",
        &["-n", "root/usr/share/bash-completion/completions/peforge"],
    )
    .ok();
}
