#!/usr/bin/env bash
# Before/after pictures of the skin engine, for eyes, and the independent figures behind them.
#
# Runs `realskin process` with the default config on every portrait in
# shared/samples/dev/ai-photo and shared/samples/portraits, then writes, for each one,
# target/skin-gallery/<name>.png: a cheek, the nose and the forehead of the largest face,
# each row "before | after" at 100 % and then at 200 % ("before" is the input enlarged
# with Lanczos3 to the output's size: what plain upscaling gives).
#
# It also runs the same images with grain off (`[skin] grain = 0`) and measures each pair
# with shared/tools/skin_eval.py --pair: the table gives the pore band's gain over the plain
# enlargement, the shape of what realskin added (skew, kurtosis: pits are dark-skewed and
# peaked, noise is neither), low-pass SSIM, skin ΔE and the change outside the skin.
#
#   bench/skin-gallery.sh [IMAGE...]      (SHARED=/path/to/shared to point elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/skin-eval-env.sh
cargo build -q --release --bin realskin --example gallery

out=target/skin-gallery
rm -rf "$out"; mkdir -p "$out/out" "$out/nograin"
if [ $# -gt 0 ]; then
  inputs=("$@")
else
  inputs=()
  for f in "$shared"/samples/dev/ai-photo/* "$shared"/samples/portraits/*; do
    case "$f" in *.png|*.jpg|*.jpeg|*.webp) inputs+=("$f") ;; esac
  done
fi
printf '[skin]\ngrain = 0.0\n' > "$out/nograin.toml"
target/release/realskin process --out "$out/out" "${inputs[@]}" > "$out/process.txt" 2>&1 || true
target/release/realskin process --config "$out/nograin.toml" --out "$out/nograin" "${inputs[@]}" > "$out/nograin.txt" 2>&1 || true

result() { # dir input -> the output file, if any
  local stem; stem=$(basename "${2%.*}")
  ls "$1/$stem".realskin.* 2>/dev/null | grep -Ev '\.(json|html)$' | head -1 || true
}
for f in "${inputs[@]}"; do
  r=$(result "$out/out" "$f")
  [ -n "$r" ] || { echo "$(basename "$f"): no output (see $out/process.txt)"; continue; }
  target/release/examples/gallery "$f" "$r" "$out/$(basename "${f%.*}").png" \
    || echo "$(basename "$f"): no gallery"
done

pairs=()
for f in "${inputs[@]}"; do
  r=$(result "$out/nograin" "$f")
  [ -n "$r" ] && pairs+=("$f" "$r")
done
"$venv/bin/python" - "$shared/tools" "$out" "${pairs[@]}" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import skin_eval
out, args = sys.argv[2], sys.argv[3:]
rows = []
hdr = f"{'image (grain off)':46} {'fine in→out':>17} {'gain':>5} {'add skew':>8} {'add kurt':>8} {'lp-ssim':>7} {'skin dE':>7} {'outside':>7}"
print(hdr)
for src, res in zip(args[::2], args[1::2]):
    name = os.path.basename(src)
    try:
        r = skin_eval.pair(src, res)
    except Exception as e:
        print(f"{name:46} skin_eval: {e}")
        continue
    rows.append({"image": name, **r})
    i, o = r.get("in", {}), r.get("out", {})
    n = lambda v, p: f"{v:.{p}f}" if isinstance(v, (int, float)) else "-"
    print(f"{name[:46]:46} {n(i.get('fine'),4)+'→'+n(o.get('fine'),4):>17} {n(r.get('fine_gain'),2):>5} "
          f"{n(r.get('added_skew'),2):>8} {n(r.get('added_kurt'),2):>8} {n(r.get('lowpass_ssim'),4):>7} "
          f"{n(r.get('skin_dE'),2):>7} {n(r.get('outside_mean_abs_diff'),3):>7}")
with open(os.path.join(out, "pairs.json"), "w") as fh:
    json.dump(rows, fh, indent=1)
print(f"\ngalleries: {out}/<name>.png (rows: cheek, nose, forehead; before | after at 100 %, then at 200 %)")
PY
