#!/usr/bin/env bash
# Benchmarks, one section per feature. Each section is a shell function named bench_<name>
# between its own "section" markers, so sections merge without conflicts; a section registers
# itself by existing. Run all sections, or name some:
#
#   scripts/bench.sh                 # every section
#   scripts/bench.sh iso             # one section
#   RUNS=9 SIZES="50 300" scripts/bench.sh cert
#   RUNS=3 BENCH_ISO_MIB=256 scripts/bench.sh iso
#   RUNS=5 BENCH_JOB_MIB=300 scripts/bench.sh job
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
ROOT="$PWD"
PF="$PWD/target/release/peforge"
RUNS="${RUNS:-5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/peforge-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# measure NAME CMD...: runs CMD once, appends "seconds peak_rss_kib" (/usr/bin/time) to
# $WORK/NAME.times.
measure() {
  local name="$1"; shift
  /usr/bin/time -f '%e %M' -o "$WORK/.time" "$@" >/dev/null 2>>"$WORK/.stderr" || { cat "$WORK/.stderr" >&2; return 1; }
  cat "$WORK/.time" >> "$WORK/$name.times"
}
# median_of FILE COLUMN: median of one column of a .times file.
median_of() {
  sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}

# ---- section: cert ----
# `peforge cert inject` against the raw-tools pipeline a Linux admin would script (wimextract the
# SOFTWARE hive, add the certificate key with hivexsh, wimupdate it back), on a synthetic WinPE
# boot image with 300 MiB of PE-like filler (LZX ~3:1, ~100 MB WIM). Same certificate, same
# Blob (minimal profile), same in-place WIM update; every run starts from a fresh copy of the
# WIM (the copy is not timed). Prints the median wall time and CPU time (user + sys) of each,
# and the ratios peforge/raw (goal: <= 1.0, flat in WIM size). On a loaded machine the wall
# ratio is noisy; use more RUNS.
bench_cert() {
  (
    SIZES="${SIZES:-300}"
    mkdir -p "$WORK/cert" && cd "$WORK/cert"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=Bench CMG Root CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout root.key -out root.pem 2>/dev/null
THUMB="$(openssl x509 -in root.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')"
# The same Blob bytes for the raw pipeline, taken from the .reg peforge writes (regedit layout).
"$PF" -q cert reg --cert root.pem --root-key 'HKEY_LOCAL_MACHINE\SOFTWARE' -o root.reg >/dev/null
BLOB="$(iconv -f utf-16le -t utf-8 root.reg | tr -d '\r' | sed -n '/^"Blob"=hex:/,/^$/p' \
  | sed 's/^"Blob"=hex://' | tr -d ' \\\n')"
cat > raw.hivexsh <<EOF
cd \\Microsoft\\SystemCertificates
add AuthRoot
cd AuthRoot
add Certificates
cd Certificates
add $THUMB
cd $THUMB
setval 1
Blob
hex:3:$BLOB
commit
EOF

TIMEFORMAT='%3R %3U %3S'
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
wall() { awk '{print $1}' "$1" | median; }
cpu() { awk '{print $2 + $3}' "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

raw_inject() { # $1 = WIM
  rm -rf x && mkdir x
  wimextract "$1" 1 'Windows/System32/config/SOFTWARE' --dest-dir=x --no-acls >/dev/null
  hivexsh -w -f raw.hivexsh x/SOFTWARE
  wimupdate "$1" 1 --command="add x/SOFTWARE /Windows/System32/config/SOFTWARE" >/dev/null
}

printf '%-8s %-5s %10s %10s %7s %10s %10s %7s\n' size_mb runs wall_pf wall_raw ratio cpu_pf cpu_raw ratio
for size in $SIZES; do
  "$PF" -q sample boot-wim --configmgr --size-mb "$size" -o base.wim
  : > pf.times
  : > raw.times
  for _ in $(seq "$RUNS"); do
    cp base.wim pf.wim
    cp base.wim raw.wim
    sync
    # bash's `time` gives wall and CPU (user + sys, children included) with ms resolution.
    { time "$PF" -q cert inject --wim pf.wim --cert root.pem >/dev/null 2>>errors.log; } 2>> pf.times
    { time raw_inject raw.wim 2>>errors.log; } 2>> raw.times
  done
  # Both results hold the same Blob (checked with hivexregedit after wimextract).
  for w in pf raw; do
    rm -rf "chk-$w" && mkdir "chk-$w"
    wimextract "$w.wim" 1 'Windows/System32/config/SOFTWARE' --dest-dir="chk-$w" --no-acls >/dev/null
    hivexregedit --export "chk-$w/SOFTWARE" "Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\$THUMB" \
      | grep '^"Blob"' > "chk-$w.txt"
  done
  cmp -s chk-pf.txt chk-raw.txt || { echo "bench: results differ" >&2; exit 1; }
  pf=$(wall pf.times); raw=$(wall raw.times)
  pfc=$(cpu pf.times); rawc=$(cpu raw.times)
  printf '%-8s %-5s %10.3f %10.3f %7s %10.3f %10.3f %7s\n' "$size" "$RUNS" "$pf" "$raw" \
    "$(ratio "$pf" "$raw")" "$pfc" "$rawc" "$(ratio "$pfc" "$rawc")"
done
  )
}
# ---- end section: cert ----

# ---- section: iso (ISO build vs xorriso -as mkisofs on the same staged tree) ----
bench_iso() {
  local mib="${BENCH_ISO_MIB:-512}"
  local stage="$WORK/iso-stage"
  echo "== iso: staged tree with a ${mib} MiB sources/boot.wim, $RUNS runs each" >&2
  cargo build --release --quiet --example media_write
  local ours="$ROOT/target/release/examples/media_write"
  mkdir -p "$stage/boot" "$stage/efi/boot" "$stage/efi/microsoft/boot/fonts" "$stage/sources" "$stage/SMS/data"
  head -c 4096 /dev/urandom > "$stage/boot/etfsboot.com"
  head -c 1474560 /dev/urandom > "$stage/efi/microsoft/boot/efisys.bin"
  head -c 3170304 /dev/urandom > "$stage/boot/boot.sdi"
  head -c 1200000 /dev/urandom > "$stage/efi/boot/bootx64.efi"
  for i in $(seq 1 40); do head -c $((i * 1000)) /dev/urandom > "$stage/efi/microsoft/boot/fonts/font_$i.ttf"; done
  echo "[MediaInfo]" > "$stage/SMS/data/TsmBootstrap.ini"
  head -c $((mib << 20)) /dev/urandom > "$stage/sources/boot.wim"
  for r in $(seq 1 "$RUNS"); do
    rm -f "$WORK/ours.iso" "$WORK/xorriso.iso"
    measure iso-peforge "$ours" iso "$stage" "$WORK/ours.iso" --label BENCH \
      --bios boot/etfsboot.com --uefi efi/microsoft/boot/efisys.bin --mtime 1700000000
    measure iso-xorriso xorriso -as mkisofs -quiet -J -joliet-long -V BENCH -o "$WORK/xorriso.iso" \
      -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 \
      -eltorito-alt-boot -e efi/microsoft/boot/efisys.bin -no-emul-boot "$stage"
  done
  local t_ours t_x m_ours m_x
  t_ours=$(median_of "$WORK/iso-peforge.times" 1); t_x=$(median_of "$WORK/iso-xorriso.times" 1)
  m_ours=$(median_of "$WORK/iso-peforge.times" 2); m_x=$(median_of "$WORK/iso-xorriso.times" 2)
  printf 'iso: peforge  median %6.2f s  peak RSS %7d KiB  (%s bytes)\n' "$t_ours" "$m_ours" "$(stat -c %s "$WORK/ours.iso")"
  printf 'iso: xorriso  median %6.2f s  peak RSS %7d KiB  (%s bytes)\n' "$t_x" "$m_x" "$(stat -c %s "$WORK/xorriso.iso")"
  awk -v a="$t_ours" -v b="$t_x" 'BEGIN { if (b > 0) printf "iso: time ratio peforge/xorriso %.2f\n", a / b }'
  # Memory must not grow with boot.wim: the same tree with a 16 MiB boot.wim.
  head -c $((16 << 20)) /dev/urandom > "$stage/sources/boot.wim"
  rm -f "$WORK/ours.iso"
  measure iso-small "$ours" iso "$stage" "$WORK/ours.iso" --bios boot/etfsboot.com --uefi efi/microsoft/boot/efisys.bin
  printf 'iso: peforge  peak RSS %7d KiB with a 16 MiB boot.wim (vs %d KiB with %d MiB)\n' \
    "$(median_of "$WORK/iso-small.times" 2)" "$m_ours" "$mib"
}
# ---- end section: iso ----

# ---- section: job (whole media build vs the physical floor of a verified copy) ----
# `peforge media build --format iso` (CMG root injected into the boot image, a given media PFX)
# on the compressible synthetic boot image (PE-like filler, LZX ~3:1, like a real boot.wim),
# against `cp` of the boot image plus `sha256sum` of the copy: the least any tool that writes a
# verified medium holding that boot image must do. Median wall time of each, the ratio
# (goal <= 1.2) and peak RSS. Every run writes a fresh output; the page cache is warm for both.
#   RUNS=5 BENCH_JOB_MIB=300 scripts/bench.sh job
bench_job() {
  local mib="${BENCH_JOB_MIB:-300}"
  local dir="$WORK/job"
  mkdir -p "$dir"
  (
    cd "$dir"
    echo "== job: media build --format iso vs cp + sha256sum, ${mib} MiB filler, $RUNS runs each" >&2
    "$PF" -q sample boot-wim --configmgr --size-mb "$mib" -o boot.wim
    openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 \
      -subj "/CN=Bench CMG Root" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout media.key -out media.csr -subj "/CN=PS1 boot media" 2>/dev/null
    openssl x509 -req -in media.csr -CA root.pem -CAkey root.key -out media.pem -days 365 -set_serial 7 2>/dev/null
    openssl pkcs12 -export -inkey media.key -in media.pem -name media -out media.pfx -passout pass:bench-Pfx-1
    (umask 077; printf 'bench-Pfx-1' > pfx.pass; printf 'Bench-Media-Passw0rd!' > media.pass)
    for _ in $(seq "$RUNS"); do
      rm -f cmg.iso copy.wim
      sync
      measure job-peforge "$PF" -q media build --boot-wim boot.wim \
        --mp https://cmg.contoso.com/CCM_Proxy_MutualAuth/72186325152220500 --site-code PS1 \
        --root-cert root.pem --media-cert media.pfx --media-cert-password-file pfx.pass \
        --password-file media.pass --format iso -o cmg.iso
      sync
      measure job-copy sh -c 'cp boot.wim copy.wim && sha256sum copy.wim'
    done
    local t_pf t_cp m_pf m_cp
    t_pf=$(median_of "$WORK/job-peforge.times" 1); t_cp=$(median_of "$WORK/job-copy.times" 1)
    m_pf=$(median_of "$WORK/job-peforge.times" 2); m_cp=$(median_of "$WORK/job-copy.times" 2)
    printf 'job: boot.wim %d bytes, cmg.iso %d bytes\n' "$(stat -c %s boot.wim)" "$(stat -c %s cmg.iso)"
    printf 'job: media build   median %6.2f s  peak RSS %7d KiB\n' "$t_pf" "$m_pf"
    printf 'job: cp + sha256   median %6.2f s  peak RSS %7d KiB\n' "$t_cp" "$m_cp"
    awk -v a="$t_pf" -v b="$t_cp" 'BEGIN { if (b > 0) printf "job: ratio media build / verified copy %.2f (goal <= 1.2)\n", a / b }'
  )
}
# ---- end section: job ----
# ---- section: usb-write (media write vs dd bs=4M oflag=direct on the same loop device) ----
# Both write the same random image to the same loop device (root; losetup), interleaved, RUNS
# times each; peforge with --no-verify (dd does not verify), then once with its read-back.
# Prints median wall times, the throughput ratio peforge/dd (goal >= 0.9) and peak RSS (goal
# < 64 MiB, flat in image size: also measured with a 64 MiB image).
bench_usb-write() {
  local mib="${BENCH_USB_MIB:-512}"
  local img="$WORK/usb-bench.img" small="$WORK/usb-small.img" back="$WORK/usb-loop.bin"
  echo "== usb-write: ${mib} MiB image, $RUNS runs each" >&2
  head -c $((mib << 20)) /dev/urandom > "$img"
  head -c $((64 << 20)) /dev/urandom > "$small"
  truncate -s $(((mib + 2) << 20)) "$back"
  local dev
  dev="$(losetup -f --show "$back")"
  # shellcheck disable=SC2064
  trap "losetup -d $dev; rm -rf '$WORK'" EXIT
  # Alternate which goes first: the loop device's backing-file flush favours the second writer.
  for r in $(seq 1 "$RUNS"); do
    if [ $((r % 2)) -eq 1 ]; then
      measure usb-dd dd if="$img" of="$dev" bs=4M oflag=direct conv=fsync status=none
      measure usb-peforge "$PF" -q media write "$img" --device "$dev" --yes --allow-non-removable --no-verify
    else
      measure usb-peforge "$PF" -q media write "$img" --device "$dev" --yes --allow-non-removable --no-verify
      measure usb-dd dd if="$img" of="$dev" bs=4M oflag=direct conv=fsync status=none
    fi
  done
  measure usb-verify "$PF" -q media write "$img" --device "$dev" --yes --allow-non-removable
  cmp -n $((mib << 20)) "$img" "$dev" >/dev/null || { echo "usb-write: device differs from the image" >&2; return 1; }
  measure usb-small "$PF" -q media write "$small" --device "$dev" --yes --allow-non-removable
  local t_pf t_dd
  t_pf=$(median_of "$WORK/usb-peforge.times" 1); t_dd=$(median_of "$WORK/usb-dd.times" 1)
  printf 'usb-write: dd       median %6.2f s  peak RSS %7d KiB\n' "$t_dd" "$(median_of "$WORK/usb-dd.times" 2)"
  printf 'usb-write: peforge  median %6.2f s  peak RSS %7d KiB (no verify)\n' "$t_pf" "$(median_of "$WORK/usb-peforge.times" 2)"
  printf 'usb-write: peforge  with read-back %6.2f s  peak RSS %7d KiB; 64 MiB image: peak RSS %d KiB\n' \
    "$(median_of "$WORK/usb-verify.times" 1)" "$(median_of "$WORK/usb-verify.times" 2)" "$(median_of "$WORK/usb-small.times" 2)"
  awk -v a="$t_pf" -v b="$t_dd" 'BEGIN { if (a > 0) printf "usb-write: throughput ratio peforge/dd %.2f (goal >= 0.9)\n", b / a }'
}
# ---- end section: usb-write ----
# ---- section: hive-logs ----
# Opening a dirty hive with its transaction logs (replayed in memory, issue #10) against opening
# the same file without them (read as stored), with `peforge hive get`, on the largest dirty
# vector (../shared/vectors/hives-dirty/OldDirtyHive: 512 KiB hive, 33 KiB .LOG1, 64 pages).
# Prints the median wall time of each and their ratio (goal <= 1.3), and the peak RSS of each;
# the goal for memory is that replay adds less than 2x (hive + logs) to the peak RSS.
bench_hive-logs() {
  local runs="${RUNS_HIVE:-$((RUNS * 4 + 1))}"
  local v="$ROOT/../shared/vectors/hives-dirty/OldDirtyHive"
  local with="$WORK/hive-logs/with" without="$WORK/hive-logs/without"
  mkdir -p "$with" "$without"
  cp "$v/OldDirtyHive" "$v/OldDirtyHive.LOG1" "$v/OldDirtyHive.LOG2" "$with/"
  cp "$v/OldDirtyHive" "$without/"
  local key='key_with_many_subkeys'
  echo "== hive-logs: hive get on OldDirtyHive with and without its logs, $runs runs each" >&2
  # Each measurement is 10 invocations (one takes a few ms, below /usr/bin/time's 10 ms
  # resolution); peak RSS is the largest of them.
  local loop='for i in 1 2 3 4 5 6 7 8 9 10; do "$0" -q hive get --hive-file "$1" --key "$2"; done'
  for r in $(seq 1 "$runs"); do
    measure hive-with bash -c "$loop" "$PF" "$with/OldDirtyHive" "$key"
    measure hive-without bash -c "$loop" "$PF" "$without/OldDirtyHive" "$key"
  done
  local t_w t_wo m_w m_wo bytes
  t_w=$(median_of "$WORK/hive-with.times" 1); t_wo=$(median_of "$WORK/hive-without.times" 1)
  m_w=$(median_of "$WORK/hive-with.times" 2); m_wo=$(median_of "$WORK/hive-without.times" 2)
  bytes=$(cat "$with"/OldDirtyHive* | wc -c)
  printf 'hive-logs: with logs     median %6.3f s per 10 opens  peak RSS %7d KiB\n' "$t_w" "$m_w"
  printf 'hive-logs: without logs  median %6.3f s per 10 opens  peak RSS %7d KiB\n' "$t_wo" "$m_wo"
  awk -v a="$t_w" -v b="$t_wo" 'BEGIN { if (b > 0) printf "hive-logs: time ratio with/without %.2f (goal <= 1.3)\n", a / b }'
  awk -v a="$m_w" -v b="$m_wo" -v n="$bytes" 'BEGIN {
    printf "hive-logs: replay adds %d KiB peak RSS; hive + logs = %d KiB (goal: < 2x = %d KiB)\n", a - b, n / 1024, 2 * n / 1024 }'
}
# ---- end section: hive-logs ----

requested=("$@")
if [ ${#requested[@]} -eq 0 ]; then
  mapfile -t requested < <(declare -F | awk '{print $3}' | sed -n 's/^bench_//p')
fi
for name in "${requested[@]}"; do
  declare -F "bench_$name" >/dev/null || { echo "bench: no section '$name'" >&2; exit 2; }
  "bench_$name"
done
