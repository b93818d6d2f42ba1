#!/usr/bin/env bash
# Benchmarks. Each section is a shell function named bench_<name>, defined between its own
# "section" markers so that sections merge without conflicts; a section registers itself by
# existing. Run all sections, or name some: scripts/bench.sh iso
# Every run is timed with /usr/bin/time (wall seconds, peak RSS); results are medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
RUNS="${BENCH_RUNS:-5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/peforge-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# measure NAME CMD...: runs CMD once, appends "seconds peak_rss_kib" to $WORK/NAME.times.
measure() {
  local name="$1"; shift
  /usr/bin/time -f '%e %M' -o "$WORK/.time" "$@" >/dev/null 2>>"$WORK/.stderr" || { cat "$WORK/.stderr" >&2; return 1; }
  cat "$WORK/.time" >> "$WORK/$name.times"
}
# median FILE COLUMN: median of one column of a .times file.
median() {
  sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}

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
  t_ours=$(median "$WORK/iso-peforge.times" 1); t_x=$(median "$WORK/iso-xorriso.times" 1)
  m_ours=$(median "$WORK/iso-peforge.times" 2); m_x=$(median "$WORK/iso-xorriso.times" 2)
  printf 'iso: peforge  median %6.2f s  peak RSS %7d KiB  (%s bytes)\n' "$t_ours" "$m_ours" "$(stat -c %s "$WORK/ours.iso")"
  printf 'iso: xorriso  median %6.2f s  peak RSS %7d KiB  (%s bytes)\n' "$t_x" "$m_x" "$(stat -c %s "$WORK/xorriso.iso")"
  awk -v a="$t_ours" -v b="$t_x" 'BEGIN { if (b > 0) printf "iso: time ratio peforge/xorriso %.2f\n", a / b }'
  # Memory must not grow with boot.wim: the same tree with a 16 MiB boot.wim.
  head -c $((16 << 20)) /dev/urandom > "$stage/sources/boot.wim"
  rm -f "$WORK/ours.iso"
  measure iso-small "$ours" iso "$stage" "$WORK/ours.iso" --bios boot/etfsboot.com --uefi efi/microsoft/boot/efisys.bin
  printf 'iso: peforge  peak RSS %7d KiB with a 16 MiB boot.wim (vs %d KiB with %d MiB)\n' \
    "$(median "$WORK/iso-small.times" 2)" "$m_ours" "$mib"
}
# ---- end section: iso ----

requested=("$@")
if [ ${#requested[@]} -eq 0 ]; then
  mapfile -t requested < <(declare -F | awk '{print $3}' | sed -n 's/^bench_//p')
fi
for name in "${requested[@]}"; do
  declare -F "bench_$name" >/dev/null || { echo "bench: no section '$name'" >&2; exit 2; }
  "bench_$name"
done
