//! The media pipeline's stages called one by one from the library: the read-back stage
//! (`pipeline::verify`) catches a medium that does not hold the bytes it was written from, in
//! every container format, and the manifest's hashes are those an independent `sha256sum`
//! computes.

mod common;

use std::path::Path;
use std::rc::Rc;

use peforge::media::pipeline::{self, Error};
use peforge::media::site::{self, Prepared};
use peforge::media::{self, BuildPlan, FileSource, Format, OutputPlan, Secret};
use peforge::progress::{Progress, Silent};

fn plan(wim: &Path, format: Format, out: &Path) -> BuildPlan {
    BuildPlan {
        boot_wim: wim.into(),
        index: 1,
        mp: "https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500".into(),
        site_code: "PS1".into(),
        boot_image: Default::default(),
        media_cert: None,
        media_cert_days: 365,
        password: Some(Secret::new("Correct-Horse-42!")),
        allow_weak_password: false,
        variables: vec![],
        unknown_computers: None,
        label: None,
        layout: Default::default(),
        cipher: media::vars::Cipher::Aes128,
        ports: (80, 443),
        source_date_epoch: None,
        output: OutputPlan {
            format,
            path: out.into(),
            manifest: None,
            usb_size: None,
        },
    }
}

/// Stages 3 and 4 for `format`: the prepared medium (its boot image in `work`) written at
/// `staged`.
fn written(
    d: &common::Dir,
    format: Format,
    name: &str,
) -> (Prepared, BuildPlan, std::path::PathBuf) {
    let wim = d.join("boot.wim");
    if !wim.exists() {
        d.sample_wim("boot.wim", true);
    }
    let work = d.join(&format!("work-{name}"));
    std::fs::create_dir(&work).unwrap();
    let plan = plan(&wim, format, &d.join(name));
    let progress: Rc<dyn Progress> = Rc::new(Silent);
    let mut prepared = site::prepare_build(&plan, &work, &progress).unwrap();
    let staged = work.join(format!("medium.{}", format.name()));
    pipeline::write_container(&mut prepared, &plan.output, &staged, &Silent).unwrap();
    (prepared, plan, staged)
}

fn boot_wim_source(p: &Prepared) -> std::path::PathBuf {
    match p.tree.files.get("sources/boot.wim") {
        Some(FileSource::Local(path)) => path.clone(),
        other => panic!("sources/boot.wim is not a staged file: {other:?}"),
    }
}

fn assert_mismatch(r: Result<(), Error>, what: &str) {
    match r {
        Err(Error::Mismatch { file, .. }) => assert_eq!(file, "sources/boot.wim", "{what}"),
        other => panic!("{what}: expected a read-back mismatch, got {other:?}"),
    }
}

#[test]
fn read_back_catches_a_medium_that_differs_from_its_sources() {
    let d = common::Dir::new();
    for (format, name) in [
        (Format::Iso, "cmg.iso"),
        (Format::Usb, "cmg.img"),
        (Format::Dir, "cmg"),
    ] {
        let (prepared, plan, staged) = written(&d, format, name);
        // The manifest's file hashes, made on a second thread while the container was written,
        // are what sha256sum says of the sources.
        let src = boot_wim_source(&prepared);
        let fact = prepared
            .manifest
            .files
            .iter()
            .find(|f| f.path == "sources/boot.wim")
            .unwrap();
        assert_eq!(fact.sha256, common::sha256(&src), "{name}");
        assert_eq!(fact.size, std::fs::metadata(&src).unwrap().len(), "{name}");
        assert_eq!(prepared.manifest.files.len(), prepared.tree.files.len());
        pipeline::verify(&prepared, &plan.output, &staged)
            .unwrap_or_else(|e| panic!("{name}: a medium as written reads back: {e}"));

        // One byte of the source changed after writing: the medium no longer holds it.
        let orig = std::fs::read(&src).unwrap();
        let mut flipped = orig.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x5A;
        std::fs::write(&src, &flipped).unwrap();
        assert_mismatch(
            pipeline::verify(&prepared, &plan.output, &staged),
            &format!("{name}: one byte differs"),
        );
        // A source longer than what was written (the copy on the medium is short).
        let mut longer = orig.clone();
        longer.push(0);
        std::fs::write(&src, &longer).unwrap();
        assert_mismatch(
            pipeline::verify(&prepared, &plan.output, &staged),
            &format!("{name}: the medium's copy is short"),
        );
        // A source shorter than what was written (the copy on the medium is long).
        std::fs::write(&src, &orig[..orig.len() - 1]).unwrap();
        assert_mismatch(
            pipeline::verify(&prepared, &plan.output, &staged),
            &format!("{name}: the medium's copy is long"),
        );
        std::fs::write(&src, &orig).unwrap();
        pipeline::verify(&prepared, &plan.output, &staged).unwrap();
    }
}

#[test]
fn a_built_image_records_its_own_sha256() {
    let d = common::Dir::new();
    d.sample_wim("boot.wim", true);
    let progress: Rc<dyn Progress> = Rc::new(Silent);
    for (format, name) in [(Format::Iso, "cmg.iso"), (Format::Usb, "cmg.img")] {
        let plan = plan(&d.join("boot.wim"), format, &d.join(name));
        let done = media::build(&plan, &progress).unwrap();
        // Hashed on a second thread while the medium was read back.
        assert_eq!(
            done.manifest.output_sha256.as_deref(),
            Some(common::sha256(&d.join(name)).as_str()),
            "{name}"
        );
        assert_eq!(
            done.manifest.inputs[0].sha256,
            common::sha256(&d.join("boot.wim"))
        );
    }
}
