#!/usr/bin/env bash
# Installs the Debian packages peforge needs to build and test. Idempotent and quiet when
# everything is present. Run as root (or with sudo available).
set -euo pipefail

# Build: bindgen needs libclang; pkg-config must resolve wimlib.pc (which names ntfs-3g and fuse
# as private requirements) and hivex.pc.
# Tests: independent readers and boot checks (wimtools, hivexsh, xorriso, bsdtar, isoinfo, mtools,
# sfdisk, QEMU with SeaBIOS and OVMF, GRUB to build stand-in EFI programs, openssl for test CAs,
# python3-cryptography as a second implementation of AES/PKCS#12, ntfs-3g (mkntfs) to make a WIM
# whose files carry Windows security descriptors).
PACKAGES=(
  pkg-config libclang-dev libwim-dev libhivex-dev ntfs-3g-dev libfuse-dev
  wimtools libhivex-bin libwin-hivex-perl xorriso libarchive-tools genisoimage mtools fdisk dosfstools
  qemu-system-x86 ovmf grub-efi-amd64-bin grub-pc-bin grub-common
  openssl python3 python3-cryptography time ntfs-3g
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The tests run `python3` from PATH, which may be another interpreter than Debian's (pyenv):
# make sure that one has `cryptography` too.
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography
# ade tests: an independent JSON Schema validator (with the "uri" format checker) and a YAML
# reader for Apple's skip-key list.
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema
python3 -c 'import rfc3986_validator' 2>/dev/null || python3 -m pip install -q rfc3986-validator
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 2; }
