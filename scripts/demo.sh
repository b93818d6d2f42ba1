#!/usr/bin/env bash
# The main job on a built-in sample: a synthetic ConfigMgr WinPE boot image gets the CMG's root
# certificate (a freshly generated CA) injected offline, then becomes CMG site-based boot media
# (ISO and USB image) that is inspected; then the co-management helpers and a task sequence as
# code. Output goes to demo-out/.
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

step "2d. Add a network driver to the boot image: drvload loads it before TsBootShell.exe"
# A stand-in driver package (INF, catalog, .sys) for a Contoso NIC; use a vendor's folder instead.
mkdir -p drivers/contoso-nic
printf '%s\r\n' '[Version]' 'Signature="$Windows NT$"' 'Class=Net' \
  'ClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}' 'Provider=%Contoso%' \
  'DriverVer=11/01/2026,1.0.0.0' 'CatalogFile=cnic.cat' '[Manufacturer]' \
  '%Contoso%=Contoso,NTamd64.10.0' '[Contoso.NTamd64.10.0]' '%Nic%=Nic_Inst,PCI\VEN_8086&DEV_100E' \
  '[SourceDisksNames]' '1=%Disk%' '[SourceDisksFiles]' 'cnic.sys=1' '[Nic_Inst]' \
  '[Strings]' 'Contoso="Contoso Ltd."' 'Nic="Contoso Gigabit NIC"' 'Disk="Contoso disk"' \
  > drivers/contoso-nic/cnic.inf
echo 'stand-in driver binary' > drivers/contoso-nic/cnic.sys
echo 'stand-in catalog' > drivers/contoso-nic/cnic.cat
"$PF" driver inspect drivers/contoso-nic --arch x64
"$PF" wim customize --wim boot.wim --driver drivers/contoso-nic
"$PF" wim customize --wim boot.wim --driver drivers/contoso-nic   # again: nothing to do
wimextract boot.wim 1 /Windows/System32/winpeshl.ini --to-stdout 2>/dev/null

step "M1. A media client certificate (stands in for the PKI client certificate of the site's boot media)"
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=PS1 boot media" \
  -keyout media-client.key -out media-client.csr 2>/dev/null
openssl x509 -req -in media-client.csr -CA cmg-root.pem -CAkey cmg-root.key -set_serial 2 \
  -days 365 -sha256 -out media-client.pem 2>/dev/null
umask 077
printf 'Demo-PFX-export-1!\n' > media-client.pfx.pass
printf 'Demo-Media-Passw0rd!\n' > media.pass
umask 022
openssl pkcs12 -export -inkey media-client.key -in media-client.pem -name "PS1 boot media" \
  -passout file:media-client.pfx.pass -out media-client.pfx

step "M2. CMG site-based boot media from the sample (root injected into its boot.wim): ISO and USB image"
media_build() {
  SOURCE_DATE_EPOCH=1700000000 "$PF" media build --boot-wim boot.wim \
    --mp https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500 --site-code PS1 \
    --root-cert cmg-root.pem --media-cert media-client.pfx \
    --media-cert-password-file media-client.pfx.pass --password-file media.pass \
    --variable OSDComputerName=PC-0042 --label "Contoso CMG media" --no-prompt "$@"
}
media_build --format iso -o cmg-media.iso --manifest cmg-media.iso.manifest.json
media_build --format usb -o cmg-media.img --manifest cmg-media.img.manifest.json
xorriso -indev cmg-media.iso -report_el_torito plain 2>/dev/null | grep 'El Torito'

step "M3. Inspect the ISO: El Torito entries, TsmBootstrap.ini, variables (secrets redacted), trusted roots"
"$PF" media inspect cmg-media.iso --password-file media.pass

step "M4. Inspect the USB image (MBR + FAT32; write it with dd, Rufus or Etcher)"
sfdisk -d cmg-media.img | tail -1
"$PF" media inspect cmg-media.img --password-file media.pass --json | grep -E '"(container|volume_label)"'

step "Autopilot into co-management: client command line for Intune, offline ESP diagnosis"
CMG=contoso.cloudapp.net/CCM_Proxy_MutualAuth/72186325152220500
"$PF" client cmdline --cmg "$CMG" --site-code ABC --provision-ts ABC20001
"$PF" client cmdline --from "CCMSETUPCMD=\"CCMHOSTNAME=$CMG SMSSITECODE=ABC\"" --no-crl-check --format ccmsetup
# A stand-in device image whose ESP failed on the PROVISIONTS task sequence (exit 1 = finding).
"$PF" sample boot-wim -o device.wim --size-mb 1
ESP='Microsoft\Windows\Autopilot\EnrollmentStatusTracking\Device'
"$PF" -q hive set --wim device.wim --key "$ESP\DevicePreparation\PolicyProviders\ConfigMgr" \
  --value InstallationState --type dword --data 3
"$PF" -q hive set --wim device.wim --key "$ESP\Setup\Apps\Tracking\ConfigMgr\Provisioning_TS" \
  --value InstallationState --type dword --data 4
"$PF" esp diagnose --wim device.wim || [ $? -eq 1 ]

step "Task sequence as code: build, lint and package the bare-metal-over-CMG template"
TS="${PF%/target/debug/peforge}/templates/ts"
"$PF" ts build "$TS/bare-metal-cmg.toml" -o sequence.xml
"$PF" ts lint "$TS/bare-metal-cmg.toml" --deployment "$TS/deploy.toml"
"$PF" ts package "$TS/bare-metal-cmg.toml" --deployment "$TS/deploy.toml" -o reimage-ts.zip
(mkdir -p reimage-ts && cd reimage-ts && bsdtar -xf ../reimage-ts.zip && sha256sum -c SHA256SUMS)

step "iOS/iPadOS ADE enrollment profile as code: init, lint, Graph beta body + request, Apple JSON"
"$PF" ade profile init --preset user-modern -o ade-profile.toml --force
"$PF" ade profile lint ade-profile.toml --min-ios 16.0 | tail -1
"$PF" ade profile build ade-profile.toml -o ade-graph.json --request --apple ade-apple.json
"$PF" ade profile import ade-graph.json -o ade-back.toml && "$PF" -q ade profile build ade-back.toml -o ade-graph2.json
cmp ade-graph.json ade-graph2.json && echo "import -> build gives back the same Graph body"

printf '\nDone. Results are in %s\n' "$OUT"
