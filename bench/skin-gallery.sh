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
# peaked, noise is neither), low-pass SSIM, skin ΔE and the change outside the skin; and the
# pore band's gain inside skin_eval's own box of the largest face (its whole-picture colour
# mask also takes warm walls, clothes and hair, which realskin leaves alone). The last two
# columns are the shape of the added dark pits: the share drawn out into dashes, and how
# strongly those dashes share one direction (parallel dashes read as strokes, not pores),
# and the added pits' colour (bench/pit-colour.py: real pores are darker *and* redder).
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
  target/release/examples/gallery "$f" "$r" "$out/$(basename "${f%.*}").png" >/dev/null \
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
import numpy as np
from PIL import Image
import importlib.util
spec = importlib.util.spec_from_file_location("pit_colour", "bench/pit-colour.py")
pit_colour = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pit_colour)


def face_gain(src, res):
    """skin_eval's pore-band energy of the output over the plain enlargement's, inside one mask:
    skin_eval's own skin mask of the enlargement, within skin_eval's own box of the largest face
    (the largest of its boxes that is mostly skin-coloured).
    skin_eval's whole-picture mask is a colour locus: on these portraits it also takes warm walls,
    sweaters, hair and window light (15-52 % of it changed on omnigen, PixArt, man-stubble), which
    realskin leaves alone by design, so its `gain` is diluted by pixels that must not change."""
    a, b = skin_eval.load(src), skin_eval.load(res)
    box = pit_colour.largest_face(a)
    if box is None:
        return None
    sy, sx = b.shape[0] / a.shape[0], b.shape[1] / a.shape[1]
    r, c, h, w = box
    r, c, h, w = r * sy, c * sx, h * sy, w * sx
    base = a
    if b.shape != a.shape:
        base = np.asarray(Image.fromarray((a * 255 + 0.5).astype(np.uint8)).resize(
            (b.shape[1], b.shape[0]), Image.LANCZOS)).astype(np.float32) / 255.0
    ppm = w / skin_eval.FACE_MM
    l0, l1 = skin_eval.luminance(base), skin_eval.luminance(b)
    m = skin_eval.analysis_mask(base, l0, [(r, c, h, w)], ppm)
    box = np.zeros(m.shape, bool)
    box[int(r):int(r + h), int(c):int(c + w)] = True
    m &= box
    f0, f1 = skin_eval.band_energy(l0, m, ppm, 0.1, 0.3), skin_eval.band_energy(l1, m, ppm, 0.1, 0.3)
    return None if not f0 or f1 is None else round(f1 / f0, 3)


def pit_shape(src, res):
    """The shape of the dark pits realskin added: output minus the plain Lanczos enlargement
    (luminance, above a 6 px Gaussian), where texture was added, below -1.5 sigma, at least
    4 px. Returns the share drawn out into dashes (axis ratio > 2.5) and how strongly those
    dashes share one direction (mean resultant length of twice their angle: 0 for none, 1
    for all parallel). Real pores are round or short and point every which way.
    Compare one picture before and after a change to the pits: where the engine also corrects
    tone or cast, or barely changes the picture, the difference carries the picture's own
    structure or the resampling's ringing, and these figures measure that instead."""
    from scipy import ndimage as ndi
    a, b = Image.open(src).convert("RGB"), Image.open(res).convert("RGB")
    luma = np.array([0.2126, 0.7152, 0.0722], np.float32)
    d = np.asarray(b, np.float32) @ luma - np.asarray(a.resize(b.size, Image.LANCZOS), np.float32) @ luma
    d -= ndi.gaussian_filter(d, 6)
    added = ndi.gaussian_filter(np.abs(d), 15) > 0.3
    if added.sum() < 1000:
        return None, None
    lab, n = ndi.label((d < -1.5 * d[added].std()) & added)
    ratio, angle = [], []
    for i, sl in enumerate(ndi.find_objects(lab), 1):
        ys, xs = np.nonzero(lab[sl] == i)
        if len(xs) < 4:
            continue
        w, v = np.linalg.eigh(np.cov(np.vstack([xs, ys])) + np.eye(2) / 12)
        ratio.append(np.sqrt(w[1] / w[0]))
        angle.append(np.arctan2(v[1, 1], v[0, 1]))
    if not ratio:
        return None, None
    long = np.array(ratio) > 2.5
    r = float(np.abs(np.mean(np.exp(2j * np.array(angle)[long])))) if long.any() else 0.0
    return round(float(long.mean()), 3), round(r, 2)


rows = []
hdr = f"{'image (grain off)':46} {'fine in→out':>17} {'gain':>5} {'face':>5} {'add skew':>8} {'add kurt':>8} {'lp-ssim':>7} {'skin dE':>7} {'outside':>7} {'dashes':>6} {'dir R':>5} {'pit a,b':>11}"
print(hdr)
for src, res in zip(args[::2], args[1::2]):
    name = os.path.basename(src)
    try:
        r = skin_eval.pair(src, res)
    except Exception as e:
        print(f"{name:46} skin_eval: {e}")
        continue
    r["face_gain"] = face_gain(src, res)
    r["dash_share"], r["dash_direction"] = pit_shape(src, res)
    try:
        r["pit_colour"] = pit_colour.pair(src, res)
    except Exception:
        r["pit_colour"] = None
    rows.append({"image": name, **r})
    i, o = r.get("in", {}), r.get("out", {})
    n = lambda v, p: f"{v:.{p}f}" if isinstance(v, (int, float)) else "-"
    print(f"{name[:46]:46} {n(i.get('fine'),4)+'→'+n(o.get('fine'),4):>17} {n(r.get('fine_gain'),2):>5} {n(r.get('face_gain'),2):>5} "
          f"{n(r.get('added_skew'),2):>8} {n(r.get('added_kurt'),2):>8} {n(r.get('lowpass_ssim'),4):>7} "
          f"{n(r.get('skin_dE'),2):>7} {n(r.get('outside_mean_abs_diff'),3):>7} "
          f"{n(r.get('dash_share'),3):>6} {n(r.get('dash_direction'),2):>5} "
          f"{'%.2f,%.2f' % r['pit_colour'] if r.get('pit_colour') else '-':>11}")
with open(os.path.join(out, "pairs.json"), "w") as fh:
    json.dump(rows, fh, indent=1)
print("dashes: share of the added dark pits drawn out (axis ratio > 2.5); dir R: how strongly"
      "\nthose share one direction (0 none, 1 all parallel; see pit_shape).")
print("pit a,b: how much redder and yellower than a grey darkening the added pits are, a* and b*"
      "\nper unit of their ΔL* (bench/pit-colour.py; real-hires pores read 0.48-0.59, 0.30-0.51).")
print("\ngain: skin_eval's pore band (0.1-0.3 mm), output over the plain enlargement, in its whole"
      "\ncolour mask; face: the same inside its own box of the largest face (see face_gain).")
print(f"\ngalleries: {out}/<name>.png (rows: cheek, nose, forehead; before | after at 100 %, then at 200 %)")
PY
