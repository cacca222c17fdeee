#!/usr/bin/env bash
# Peak resident memory of the default pipeline against the decoded output it writes.
# A shared AI portrait is set in a 2048x2048 frame (its edges extended) so its face is small
# enough that the default plan enlarges to the 36 MP cap (6000x6000), the largest output
# `[upscale] max_output_megapixels` allows (without the shared samples, the generated photo
# fixture at 3000x3000 is enlarged 2x by the size rule); realskin processes it once per
# output format under GNU time, and the script prints peak RSS, the output's decoded size
# (width x height x bytes per pixel) and their ratio. The goal is at most 3x.
#
#   bench/peak-memory.sh            (REALSKIN_PORTRAITS=/path/to/portraits to point elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v vips >/dev/null || { echo "needs libvips-tools (bench/vs-vips.sh installs it)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
cargo build -q --release --bin realskin --example photo_fixture
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=""
for d in "${REALSKIN_PORTRAITS:-}" ../shared/samples/portraits /work/shared/samples/portraits; do
  [ -n "$d" ] && [ -f "$d/flux-dev_man-stubble_1024.png" ] && { src="$d/flux-dev_man-stubble_1024.png"; break; }
done
if [ -n "$src" ]; then
  vips embed "$src" "$work/in.png" 512 512 2048 2048 --extend copy
  what="AI portrait (flux-dev_man-stubble, framed to 2048x2048)"
else
  target/release/examples/photo_fixture 3000 3000 "$work/in.png"
  what="generated photo without people (3000x3000)"
fi
# A tiny picture: what the process takes before any image (models, runtime).
target/release/examples/photo_fixture 64 64 "$work/tiny.png"
/usr/bin/time -f '%M' -o "$work/tiny.kb" target/release/realskin process --out "$work/tiny" "$work/tiny.png" >/dev/null
echo "$what; baseline (64 px picture): $(( $(cat "$work/tiny.kb") / 1024 )) MB"
for fmt in png jpeg; do
  cat > "$work/$fmt.toml" <<TOML
[output]
format = "$fmt"
TOML
  rm -rf "$work/out"
  /usr/bin/time -f '%M' -o "$work/rss.kb" target/release/realskin process --config "$work/$fmt.toml" --out "$work/out" "$work/in.png" >/dev/null
  out=$(find "$work/out" -name 'in.realskin.*' ! -name '*.json' ! -name '*.html' | head -1)
  w=$(vipsheader -f width "$out"); h=$(vipsheader -f height "$out"); b=$(vipsheader -f bands "$out")
  rss=$(( $(cat "$work/rss.kb") * 1024 ))
  dec=$(( w * h * b ))
  printf '  %-5s output %dx%d: peak RSS %d MB, decoded output %d MB, ratio %.2f\n' \
    "$fmt" "$w" "$h" $((rss / 1048576)) $((dec / 1048576)) "$(echo "$rss/$dec" | bc -l)"
done
