#!/usr/bin/env bash
# The skin engine on real images, judged by an independent measurement.
#
# Runs `realskin process` (default config: upscale below 2048 px, skin engine, grain) on
# every portrait in shared/samples/portraits, the AI photographs and non-photographs of
# shared/samples/dev, and the pictures of people in
# shared/samples/ai-metadata, measures each input/output pair with
# shared/tools/skin_eval.py (its own face detector and mask), prints one table row per
# image plus the real photographs' own figures for comparison, and writes
# target/skin-eval/faces.png: the largest face of every image, before (Lanczos to the
# output size) and after, side by side at 100 %.
#
#   bench/skin-eval.sh            (SHARED=/path/to/shared to point elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/skin-eval-env.sh
cargo build -q --release --bin realskin

out=target/skin-eval
rm -rf "$out"; mkdir -p "$out"
inputs=("$shared"/samples/portraits/*.png "$shared"/samples/portraits/*.jpg)
# The labelled development set: AI photographs (treated) and non-photographs (left alone).
for d in ai-photo not-photo; do
  for f in "$shared"/samples/dev/$d/*.png "$shared"/samples/dev/$d/*.jpg; do
    [ -f "$f" ] && inputs+=("$f")
  done
done
for f in google-genai_c2pa_768x1344.png google-genai-edited_c2pa-ingredients_768x1344.png \
         firefly-hosted-gemini-nano-banana-2_c2pa-xmp-iptc_1200x896.png \
         comfyui_flux2-dev_1024.png comfyui_z-image-turbo_1024.png comfyui_flux1-dev_1024.png; do
  [ -f "$shared/samples/ai-metadata/$f" ] && inputs+=("$shared/samples/ai-metadata/$f")
done
target/release/realskin process --out "$out/out" "${inputs[@]}" > "$out/process.txt" || true

"$venv/bin/python" - "$shared/tools" "$out" "${inputs[@]}" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from PIL import Image
import skin_eval

out = sys.argv[2]
rows, crops = [], []
print(f"{'image':52} {'fine in→out':>17} {'mid in→out':>17} {'chroma in→out':>15} {'lp-ssim':>7} {'outside':>7} {'skin dE':>7}")
for src in sys.argv[3:]:
    name = os.path.basename(src)
    stem = os.path.splitext(name)[0]
    ext = "png" if name.endswith(".png") else "jpg"
    res = os.path.join(out, "out", f"{stem}.realskin.{ext}")
    if not os.path.exists(res):
        print(f"{name:52} (no output: see {out}/process.txt)")
        continue
    try:
        r = skin_eval.pair(src, res)
    except Exception as e:  # no face found by skin_eval, etc.
        print(f"{name:52} skin_eval: {e}")
        continue
    rows.append({"image": name, **r})
    i, o = r.get("in", {}), r.get("out", {})
    f = lambda d, k, p=5: f"{d.get(k):.{p}f}" if isinstance(d.get(k), (int, float)) else "  -  "
    print(f"{name:52} {f(i,'fine')+'→'+f(o,'fine'):>17} {f(i,'mid')+'→'+f(o,'mid'):>17} "
          f"{f(i,'chroma',2)+'→'+f(o,'chroma',2):>15} {r.get('lowpass_ssim') or float('nan'):7.4f} {r.get('outside_mean_abs_diff') or float('nan'):7.2f} {r.get('skin_dE') or float('nan'):7.2f}")
    # The largest face, before (Lanczos to the output size) and after, at 100 %.
    b = Image.open(src).convert("RGB"); a = Image.open(res).convert("RGB")
    if b.size != a.size:
        b = b.resize(a.size, Image.LANCZOS)
    fs = skin_eval.faces(np.asarray(a).astype(np.float32) / 255.0)
    if fs:
        rr, cc, hh, ww = max(fs, key=lambda t: t[2] * t[3])
        side = int(min(max(hh, ww) * 1.1, 700))
        cx, cy = cc + ww / 2, rr + hh / 2
        box = (int(max(0, cx - side / 2)), int(max(0, cy - side / 2)))
        box = box + (min(a.width, box[0] + side), min(a.height, box[1] + side))
        crops.append((name, b.crop(box), a.crop(box)))
with open(os.path.join(out, "pairs.json"), "w") as fh:
    json.dump(rows, fh, indent=1)
print()
print("real photographs (the reference), measured alone:")
for src in sys.argv[3:]:
    if os.path.basename(src).startswith("real_"):
        r, _, _, _ = skin_eval.measure(skin_eval.load(src))
        print(f"  {os.path.basename(src):50} fine {r.get('fine') or float('nan'):.5f}  mid {r.get('mid') or float('nan'):.5f}  chroma {r.get('chroma') or float('nan'):.2f}")
if crops:
    w = max(c[1].width for c in crops) * 2 + 20
    h = sum(c[1].height + 10 for c in crops)
    sheet = Image.new("RGB", (w, h), (24, 24, 24))
    y = 0
    for _, bc, ac in crops:
        sheet.paste(bc, (0, y)); sheet.paste(ac, (bc.width + 20, y)); y += bc.height + 10
    sheet.save(os.path.join(out, "faces.png"))
    print(f"\nbefore | after crops: {out}/faces.png")
PY
