#!/usr/bin/env bash
# The main job on a built-in sample: a synthetic ConfigMgr WinPE boot image gets the CMG's root
# certificate (a freshly generated CA) injected offline, then inspected. Output goes to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet
PF="$PWD/target/debug/peforge"
OUT="$PWD/demo-out"
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "1. Build a sample ConfigMgr boot image (synthetic WinPE, real hives, stand-in boot files)"
"$PF" sample boot-wim --configmgr -o boot.wim
"$PF" wim info boot.wim

step "2. Generate a root CA standing in for the CMG's PKI root"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=Contoso CMG Root CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout cmg-root.key -out cmg-root.pem 2>/dev/null
openssl x509 -in cmg-root.pem -noout -subject -fingerprint -sha1

step "2a. Inject the root into the boot image's SOFTWARE hive (AuthRoot, as the Microsoft procedure does)"
"$PF" cert inject --wim boot.wim --cert cmg-root.pem
"$PF" cert inject --wim boot.wim --cert cmg-root.pem   # again: already present, nothing to do

step "2b. List the trusted certificates of the image"
"$PF" cert list --wim boot.wim
"$PF" cert verify --wim boot.wim
"$PF" wim info boot.wim

step "2c. The .reg of the manual procedure (step 1 of 'Add a trusted root certificate to a boot image')"
"$PF" cert reg --cert cmg-root.pem --root-key 'HKEY_LOCAL_MACHINE\winpe-offline' -o cmg-root.reg
iconv -f utf-16le -t utf-8 cmg-root.reg | sed -n 1,5p

step "3. Hybrid-join ESP fix from the Autopilot docs, offline (hive set)"
"$PF" hive set --wim boot.wim --key 'Microsoft\DeviceManageabilityCSP\Provider\MS DM Server' \
  --value ConfigInfo --type sz --data 2
"$PF" hive get --wim boot.wim --key 'Microsoft\DeviceManageabilityCSP\Provider\MS DM Server'

printf '\nDone. Results are in %s\n' "$OUT"
