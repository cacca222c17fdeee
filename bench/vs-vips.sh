#!/usr/bin/env bash
# realskin's basic job beside libvips, same file, same run, alternating so machine noise
# hits both alike: decode a 1024x1024 photo-like PNG, Lanczos3 2x, write PNG.
# Prints the medians, the ratio and the file sizes. RUNS=15 by default.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v vips >/dev/null; then
  echo "installing libvips-tools (the reference tool)..." >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q libvips-tools >/dev/null; else sudo apt-get install -y -q libvips-tools >/dev/null; fi
fi

cargo build -q --release --bin realskin --example photo_fixture
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/examples/photo_fixture 1024 1024 "$work/in.png"
runs=${RUNS:-15}

now_us() { date +%s%6N; }
for _ in $(seq "$runs"); do
  t0=$(now_us); vips resize "$work/in.png" "$work/vips-default.png" 2 --kernel lanczos3
  t1=$(now_us); vips resize "$work/in.png" "$work/vips-filtered.png[filter=all]" 2 --kernel lanczos3
  t2=$(now_us); target/release/realskin process --out "$work/rs" "$work/in.png" >/dev/null
  t3=$(now_us); rm -rf "$work/rs.keep"; mv "$work/rs" "$work/rs.keep"
  echo "$((t1 - t0)) $((t2 - t1)) $((t3 - t2))" >> "$work/times"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
vd=$(cut -d' ' -f1 "$work/times" | median)
vf=$(cut -d' ' -f2 "$work/times" | median)
rs=$(cut -d' ' -f3 "$work/times" | median)
size() { stat -c %s "$1"; }
echo "decode + Lanczos3 2x (1024x1024 -> 2048x2048) + PNG, median of $runs runs, $(nproc) cores"
printf '  %-46s %7.1f ms  %8d bytes\n' "vips resize (default PNG: zlib 6, no filter)" "$(echo "$vd/1000" | bc -l)" "$(size "$work/vips-default.png")"
printf '  %-46s %7.1f ms  %8d bytes\n' "vips resize (PNG filter=all)" "$(echo "$vf/1000" | bc -l)" "$(size "$work/vips-filtered.png")"
printf '  %-46s %7.1f ms  %8d bytes\n' "realskin process (+ profile, hash, report)" "$(echo "$rs/1000" | bc -l)" "$(size "$work/rs.keep/in.realskin.png")"
printf '  ratio: realskin is %.1fx faster than vips default, %.1fx faster than vips filtered\n' \
  "$(echo "$vd/$rs" | bc -l)" "$(echo "$vf/$rs" | bc -l)"
