#!/usr/bin/env bash
# realskin's basic job beside libvips, same file, same run, alternating so machine noise
# hits both alike: decode a 1024x1024 PNG, Lanczos3 to the size realskin's default plan
# chooses (2x for a picture without people; for a portrait, what brings the face to
# 8 px/mm, at most 4x), write PNG.
#   1. a generated photo-like picture without people (realskin: profile, Lanczos, PNG);
#   2. where the shared samples are present, a real AI portrait (realskin: profile, face
#      detection, Lanczos, the whole skin engine, previews, PNG).
# Prints the medians, the ratio and the file sizes per input, then the same picture RUNS
# times through one `realskin process` run (face models loaded once and two jobs in
# flight, as the daemon works), per picture. RUNS=15 by default.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v vips >/dev/null; then
  echo "installing libvips-tools (the reference tool)..." >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q libvips-tools >/dev/null; else sudo apt-get install -y -q libvips-tools >/dev/null; fi
fi

cargo build -q --release --bin realskin --example photo_fixture
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-15}
now_us() { date +%s%6N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
size() { stat -c %s "$1"; }

compare() { # compare NAME INPUT.png
  local name=$1 in=$2 dir="$work/$1"
  mkdir -p "$dir"
  cp "$in" "$dir/in.png"
  # The output size realskin's plan picks, so vips does the same resize.
  target/release/realskin process --out "$dir/probe" "$dir/in.png" >/dev/null
  local win wout scale
  win=$(vipsheader -f width "$dir/in.png")
  wout=$(vipsheader -f width "$dir/probe/in.realskin.png")
  scale=$(echo "$wout/$win" | bc -l)
  rm -rf "$dir/probe"
  for _ in $(seq "$runs"); do
    t0=$(now_us); vips resize "$dir/in.png" "$dir/vips-default.png" "$scale" --kernel lanczos3
    t1=$(now_us); vips resize "$dir/in.png" "$dir/vips-filtered.png[filter=all]" "$scale" --kernel lanczos3
    t2=$(now_us); target/release/realskin process --out "$dir/rs" "$dir/in.png" >/dev/null
    t3=$(now_us); rm -rf "$dir/rs.keep"; mv "$dir/rs" "$dir/rs.keep"
    echo "$((t1 - t0)) $((t2 - t1)) $((t3 - t2))" >> "$dir/times"
  done
  local vd vf rs
  vd=$(cut -d' ' -f1 "$dir/times" | median)
  vf=$(cut -d' ' -f2 "$dir/times" | median)
  rs=$(cut -d' ' -f3 "$dir/times" | median)
  echo "$name: decode + Lanczos3 x$(printf %.2f "$scale") ($(vipsheader -f width "$dir/in.png")x$(vipsheader -f height "$dir/in.png") -> $(vipsheader -f width "$dir/vips-default.png")x$(vipsheader -f height "$dir/vips-default.png")) + PNG, median of $runs runs, $(nproc) cores"
  printf '  %-52s %7.1f ms  %8d bytes\n' "vips resize (default PNG: zlib 6, no filter)" "$(echo "$vd/1000" | bc -l)" "$(size "$dir/vips-default.png")"
  printf '  %-52s %7.1f ms  %8d bytes\n' "vips resize (PNG filter=all)" "$(echo "$vf/1000" | bc -l)" "$(size "$dir/vips-filtered.png")"
  printf '  %-52s %7.1f ms  %8d bytes\n' "realskin process ($3)" "$(echo "$rs/1000" | bc -l)" "$(size "$dir/rs.keep/in.realskin.png")"
  printf '  ratio realskin / vips: %.2f of vips default, %.2f of vips filtered (below 1 = faster)\n' \
    "$(echo "$rs/$vd" | bc -l)" "$(echo "$rs/$vf" | bc -l)"
  # The daemon loads its face models once and keeps two jobs in flight: the same picture
  # $runs times in one \`realskin process\` run, per picture.
  mkdir -p "$dir/batch"
  for i in $(seq "$runs"); do cp "$dir/in.png" "$dir/batch/in$i.png"; done
  t0=$(now_us); target/release/realskin process --out "$dir/batch-out" "$dir"/batch/*.png >/dev/null; t1=$(now_us)
  local rb=$(( (t1 - t0) / runs ))
  printf '  %-52s %7.1f ms\n' "realskin, $runs pictures in one run, per picture" "$(echo "$rb/1000" | bc -l)"
  printf '  ratio in one run (models loaded once, as the daemon works): %.2f of vips default\n' \
    "$(echo "$rb/$vd" | bc -l)"
}

target/release/examples/photo_fixture 1024 1024 "$work/fixture.png"
compare "photo without people" "$work/fixture.png" "+ profile, hash, report"

portrait=""
for d in "${REALSKIN_PORTRAITS:-}" ../shared/samples/portraits /work/shared/samples/portraits; do
  [ -n "$d" ] && [ -f "$d/flux-dev_man-stubble_1024.png" ] && { portrait="$d/flux-dev_man-stubble_1024.png"; break; }
done
if [ -n "$portrait" ]; then
  compare "AI portrait (flux-dev_man-stubble_1024.png)" "$portrait" "+ faces, skin engine, previews, report"
else
  echo "(no shared portrait samples here: set REALSKIN_PORTRAITS to include the skin engine)"
fi
