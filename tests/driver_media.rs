//! `media build --driver/--overlay/--start-script` customizes the medium's copy of the boot image
//! (the input WIM never changes), and `media inspect` lists what peforge added. The medium's
//! boot.wim is read back with wimlib-imagex and wimextract, not peforge.

mod common;

use common::{Dir, sha256};
use std::path::{Path, PathBuf};

const MP: &str = "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500";
const PASSWORD: &str = "Corr3ct-Horse!Battery";
const PFX_PASSWORD: &str = "Pfx-Export#2026";

fn netkvm() -> PathBuf {
    common::vectors()
        .join("inf")
        .join("virtio-win_virtio-win-pkg-scripts__netkvm-w8.1-amd64")
}

fn fixture() -> (Dir, PathBuf) {
    let d = Dir::new();
    let wim = d.sample_wim("boot.wim", true);
    d.secret_file("media.pass", PASSWORD);
    d.media_pki("Contoso CMG Root", PFX_PASSWORD);
    (d, wim)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn media_build_stages_drivers_into_the_mediums_boot_image_only() {
    let (d, wim) = fixture();
    let before = sha256(&wim);
    std::fs::create_dir_all(d.join("ov/Tools")).unwrap();
    std::fs::write(d.join("ov/Tools/diag.cmd"), "ipconfig /all\r\n").unwrap();
    std::fs::write(
        d.join("pre.cmd"),
        "@echo off\r\nwpeutil InitializeNetwork\r\n",
    )
    .unwrap();
    let kvm = netkvm();
    let mut args = common::media_build_args(MP, "dir", "media");
    args.extend([
        "--driver",
        s(&kvm),
        "--overlay",
        "ov:Windows\\System32",
        "--start-script",
        "pre.cmd",
    ]);
    d.peforge(&args).ok();
    assert_eq!(
        sha256(&wim),
        before,
        "the input boot image is never changed"
    );
    let boot = d.join("media/sources/boot.wim");
    let r = d.tool("wimlib-imagex", &["verify", s(&boot)]).ok();
    assert!(r.stdout.contains("successfully verified"));
    let list = d.tool("wimlib-imagex", &["dir", s(&boot), "1"]).ok().stdout;
    for want in [
        "/peforge/drivers/01-netkvm/netkvm.inf",
        "/peforge/drivers/01-netkvm/netkvm.sys",
        "/peforge/drivers/01-netkvm/netkvm.cat",
        "/peforge/start.cmd",
        "/peforge/user-start.cmd",
        "/Windows/System32/Tools/diag.cmd",
    ] {
        assert!(list.lines().any(|l| l == want), "{want} missing:\n{list}");
    }
    let ini =
        std::fs::read_to_string(d.wimextract(&boot, 1, "/Windows/System32/winpeshl.ini")).unwrap();
    assert_eq!(
        ini,
        "[LaunchApps]\r\n%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\peforge\\start.cmd\r\n%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe\r\n"
    );
    let sys = d.wimextract(&boot, 1, "/peforge/drivers/01-netkvm/netkvm.sys");
    assert_eq!(sha256(&sys), sha256(&kvm.join("netkvm.sys")));

    // media inspect lists the drivers and the start-up step of the medium's boot image.
    let r = d
        .peforge(&[
            "media",
            "inspect",
            "media",
            "--password-file",
            "media.pass",
            "--json",
        ])
        .ok();
    let j = r.json();
    let c = &j["boot_image_customization"];
    assert_eq!(
        c["record"]["drivers"][0]["folder"],
        "peforge\\drivers\\01-netkvm"
    );
    assert_eq!(c["record"]["drivers"][0]["infs"][0], "netkvm.inf");
    assert_eq!(
        c["record"]["start_script"]["path"],
        "peforge\\user-start.cmd"
    );
    assert_eq!(c["shape"], "configmgr");
    assert_eq!(
        c["startup_lines"][1],
        "%SYSTEMDRIVE%\\sms\\bin\\x64\\TsBootShell.exe"
    );
    assert_eq!(c["problems"], serde_json::json!([]));
    let r = d
        .peforge(&["media", "inspect", "media", "--password-file", "media.pass"])
        .ok();
    assert!(
        r.stdout
            .contains("peforge\\drivers\\01-netkvm\\{netkvm.inf} Net"),
        "{}",
        r.stdout
    );
}

#[test]
fn media_build_refuses_a_bad_driver_and_writes_nothing() {
    let (d, wim) = fixture();
    let before = sha256(&wim);
    std::fs::create_dir_all(d.join("e1000")).unwrap();
    std::fs::copy(
        common::vectors()
            .join("inf")
            .join("snykiotcubedev_reactos-0.4.13-release__nete1000.inf"),
        d.join("e1000/nete1000.inf"),
    )
    .unwrap();
    let mut args = common::media_build_args(MP, "dir", "media");
    args.extend(["--driver", "e1000", "--allow-unsigned"]);
    let r = d.peforge(&args).fails(2);
    assert!(
        r.stderr
            .contains("nete1000.inf: refused for image 1 (amd64)"),
        "{}",
        r.stderr
    );
    assert!(!d.join("media").exists(), "no medium is left behind");
    assert_eq!(sha256(&wim), before);
}

#[test]
fn media_build_with_drivers_is_reproducible_with_source_date_epoch() {
    let (d, _) = fixture();
    let kvm = netkvm();
    let mut shas = Vec::new();
    for out in ["m1", "m2"] {
        let mut args = common::media_build_args(MP, "dir", out);
        args.extend(["--driver", s(&kvm)]);
        d.peforge_env(&args, &[("SOURCE_DATE_EPOCH", "1700000000")])
            .ok();
        shas.push(sha256(&d.join(out).join("sources/boot.wim")));
    }
    assert_eq!(shas[0], shas[1], "same inputs, same boot.wim");
}

#[test]
fn media_profile_drivers_key() {
    let (d, _) = fixture();
    std::fs::write(
        d.join("p.toml"),
        format!("drivers = [{:?}]\n", s(&netkvm())),
    )
    .unwrap();
    let mut args = common::media_build_args(MP, "dir", "media");
    args.extend(["--profile", "p.toml"]);
    d.peforge(&args).ok();
    let list = d
        .tool(
            "wimlib-imagex",
            &["dir", s(&d.join("media/sources/boot.wim")), "1"],
        )
        .ok()
        .stdout;
    assert!(
        list.lines()
            .any(|l| l == "/peforge/drivers/01-netkvm/netkvm.inf"),
        "{list}"
    );
}
