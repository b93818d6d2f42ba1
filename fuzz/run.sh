#!/usr/bin/env bash
# Runs one cargo-fuzz target for a while: fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags].
# Seeds: ../shared/vectors (read in place, never copied) and the inputs the robustness harness
# generates with peforge's writers (dumped once into target/tmp/fuzz-seeds). New inputs go to
# fuzz/corpus/TARGET, crashes to fuzz/artifacts/TARGET (both git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
secs=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd .. && pwd)
seeds=$root/target/tmp/fuzz-seeds
if [ ! -d "$seeds/$target" ]; then
  (cd "$root" && PEFORGE_DUMP_SEEDS=$seeds cargo test -q --test robustness >/dev/null)
fi
vectors=$root/../shared/vectors
dirs=("corpus/$target")
[ -d "$seeds/$target" ] && dirs+=("$seeds/$target")
case $target in
  reg|cert_load) dirs+=("$vectors/cert-reg") ;;
  ts_xml) dirs+=("$vectors/ts-xml") ;;
  ade_profile) dirs+=("$vectors/ade") ;;
  inf) dirs+=("$vectors/inf") ;;
esac
mkdir -p "corpus/$target"
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); RUSTC_BOOTSTRAP=1 unlocks them on the
# stable toolchain.
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -O "$target" "${dirs[@]}" -- \
  -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=4096 -timeout=20 "$@"
