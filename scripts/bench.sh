#!/usr/bin/env bash
# Benchmark: `peforge cert inject` against the raw-tools pipeline a Linux admin would script
# (wimextract the SOFTWARE hive, add the certificate key with hivexsh, wimupdate it back), on a
# synthetic WinPE boot image of ~300 MB. Same certificate, same Blob (minimal profile), same
# in-place WIM update; every run starts from a fresh copy of the WIM (the copy is not timed).
# Prints the median wall time and CPU time (user + sys) of each, and the ratios peforge/raw
# (goal: <= 1.0, flat in WIM size). On a loaded machine the wall ratio is noisy; use more RUNS.
#
#   scripts/bench.sh                 # 5 runs on a 300 MB image
#   RUNS=9 SIZES="50 300" scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
PF="$PWD/target/release/peforge"
RUNS="${RUNS:-5}"
SIZES="${SIZES:-300}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/peforge-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

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
