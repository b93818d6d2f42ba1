//! Writes a staged folder as an ISO, a USB image or a folder through the library API, for
//! `scripts/bench.sh` (the `peforge media build` command is the user-facing way).
//!
//! Usage: `media_write iso|usb|dir SRC_DIR OUT [--label L] [--bios REL] [--uefi REL] [--mtime N]`

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(format), Some(src), Some(out)) = (args.first(), args.get(1), args.get(2)) else {
        return Err("usage: media_write iso|usb|dir SRC_DIR OUT [--label L] [--bios REL] [--uefi REL] [--mtime N]".into());
    };
    let mut tree = peforge::media::MediaTree::from_dir(&PathBuf::from(src))?;
    tree.label = "PEFORGE".into();
    let mut rest = args.iter().skip(3);
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(format!("{flag} needs a value"))?.clone();
        match flag.as_str() {
            "--label" => tree.label = value,
            "--bios" => tree.boot.bios = Some(value),
            "--uefi" => tree.boot.uefi = Some(value),
            "--mtime" => tree.mtime = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let out = PathBuf::from(out);
    let silent = peforge::progress::Silent;
    match format.as_str() {
        "iso" => drop(peforge::media::iso::write(&tree, &out, &silent)?),
        "usb" => drop(peforge::media::usb::write(&tree, &out, &silent)?),
        "dir" => drop(peforge::media::write_dir(&tree, &out, &silent)?),
        other => return Err(format!("unknown format {other}").into()),
    }
    Ok(())
}
