#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints executions and peak resident
# memory per target.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
#   FUZZ_TARGETS="profile xmp" fuzz/run.sh 300   (some targets only)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Every target runs
# under memory limits (512 MB resident, 256 MB per allocation): a parser or decoder that
# reserves memory for what a file declares fails the run. Seeds are the crate's own
# round-trip fixtures, its generator fixtures (for the profiler) and files that declare
# huge counts and sizes (`realskin::fuzzing::hostile_seeds`), written to
# fuzz/seeds/<target>/ first; the corpus grows in fuzz/corpus/<target>/. Exits non-zero on
# the first crash; the crashing input is left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# Missing tools are named with the command that installs them (not reported as a crash).
cargo +nightly --version >/dev/null 2>&1 ||
  { echo "fuzz/run.sh needs a nightly toolchain: rustup toolchain install nightly" >&2; exit 2; }
cargo +nightly fuzz --version >/dev/null 2>&1 ||
  { echo "fuzz/run.sh needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2; exit 2; }
# AddressSanitizer keeps up to 256 MB of freed memory in quarantine by default, which over
# thousands of runs alone crosses the 512 MB resident limit (a tiff run was stopped at 580 MB
# while no single input took more than 91 MB). A 32 MB quarantine keeps the limit about the
# parsers.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"
read -r -a targets <<<"${FUZZ_TARGETS:-png jpeg webp tiff xmp profile decode}"
# Seeds: the round-trip fixtures, written by an ignored test of the crate.
REALSKIN_FUZZ_SEEDS="$PWD/seeds" cargo test --quiet --manifest-path ../Cargo.toml \
  --test meta_roundtrip write_fuzz_seeds -- --ignored >/dev/null
# The profiler's seeds also hold every generator fixture (ComfyUI and A1111 parameters,
# workflow JSON, UTF-16 EXIF comments, C2PA manifests, XMP and IPTC schemes), written by the
# profile fixtures test into target/tmp/realskin-fixtures/.
cargo test --quiet --manifest-path ../Cargo.toml --test profile_fixtures every_fixture_gets_its_verdict >/dev/null
mkdir -p seeds/profile
find ../target/tmp/realskin-fixtures -type f -size -256k -print0 |
  while IFS= read -r -d '' f; do cp "$f" "seeds/profile/fixture-$(basename "$f")"; done
summary=()
total=0
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$t" ] && seeds+=("seeds/$t")
  log="$(mktemp)"
  cargo +nightly fuzz run "$t" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=512 -malloc_limit_mb=256 -max_len=262144 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1 || { tail -40 "$log"; echo "fuzz target $t crashed; input in fuzz/artifacts/$t/"; exit 1; }
  runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)"
  runs="${runs:-0}"
  peak="$(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}' | tail -1)"
  total=$((total + runs))
  summary+=("$t: $runs executions in ${secs}s, peak ${peak:-?} MB resident, no crash")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
echo "total: $total executions without a crash"
