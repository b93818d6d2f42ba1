//! Boot tests under QEMU (TCG, no KVM needed): the ISO boots the stand-in BIOS image under
//! SeaBIOS and the stand-in UEFI application under OVMF; the USB image boots under OVMF. Each
//! run is bounded by a timeout and killed once the marker shows on the serial console.
mod common;

use std::time::Duration;

use common::{BIOS_MARKER, Dir, UEFI_MARKER, ovmf};
use peforge::media::{iso, usb};
use peforge::progress::Silent;

const TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn iso_boots_under_seabios() {
    let d = Dir::new();
    let out = d.join("media.iso");
    iso::write(&d.media_tree(), &out, &Silent).unwrap();
    let log = d.qemu_boot(&["-cdrom", out.to_str().unwrap()], BIOS_MARKER, TIMEOUT);
    assert!(!log.contains(UEFI_MARKER));
}

#[test]
fn iso_boots_under_ovmf() {
    let d = Dir::new();
    let out = d.join("media.iso");
    iso::write(&d.media_tree(), &out, &Silent).unwrap();
    d.qemu_boot(
        &["-bios", ovmf(), "-cdrom", out.to_str().unwrap()],
        UEFI_MARKER,
        TIMEOUT,
    );
}

#[test]
fn usb_image_boots_under_ovmf_as_a_usb_stick() {
    let d = Dir::new();
    let out = d.join("media.img");
    usb::write(&d.media_tree(), &out, &Silent).unwrap();
    let drive = format!(
        "if=none,id=stick,format=raw,snapshot=on,file={}",
        out.display()
    );
    d.qemu_boot(
        &[
            "-bios",
            ovmf(),
            "-device",
            "qemu-xhci",
            "-drive",
            &drive,
            "-device",
            "usb-storage,drive=stick",
        ],
        UEFI_MARKER,
        TIMEOUT,
    );
}
