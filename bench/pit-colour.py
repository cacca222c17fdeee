"""The colour of skin pores: how much redder (a*) and yellower (b*) than a grey darkening the
darkest pore-scale pits are, per unit of the L* they are darker by.

A grey darkening (every linear channel scaled alike) already moves a* and b* towards 0 in
proportion (a*/(L*+16) per L*); real pores are darker *and* redder, because the light that
lights a hollow in skin has scattered under it. The figure is measured on the darkest 5 % of
the pore band inside the skin of the largest face (shared/tools/skin_eval.py's face box and skin
mask, as bench/skin-gallery.sh uses them) and is independent of how deep the pits are.

  python bench/pit-colour.py PHOTO...            real skin: its own pits (band-pass)
  python bench/pit-colour.py --pair IN OUT...    what realskin added: OUT minus IN enlarged
                                                 with Lanczos to OUT's size

Run with the Python that bench/skin-eval-env.sh makes (target/skin-eval-venv/bin/python).
The unretouched real-hires portraits in shared/samples/real-hires read +0.48-0.59 a* and
+0.30-0.51 b* per unit of ΔL* on their cheeks, noses and foreheads.
"""
import os
import sys

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.color import rgb2lab

here = os.path.dirname(os.path.abspath(__file__))
for shared in (os.environ.get("SHARED", ""), os.path.join(here, "../../shared"), "/work/shared"):
    if shared and os.path.isfile(os.path.join(shared, "tools/skin_eval.py")):
        sys.path.insert(0, os.path.join(shared, "tools"))
        break
import skin_eval  # noqa: E402


def largest_face(rgb):
    """skin_eval's box (row, col, height, width) of the largest face that is mostly
    skin-coloured: its cascade also fires on bokeh and patterns."""
    boxes = skin_eval.faces(rgb)
    locus = skin_eval.skin_mask(rgb, [])
    share = lambda b: locus[int(b[0]):int(b[0] + b[2]), int(b[1]):int(b[1] + b[3])].mean()
    boxes = [b for b in boxes if share(b) > 0.3]
    return max(boxes, key=lambda b: b[3]) if boxes else None


def _face(rgb):
    """The largest face's box (rows, cols slices) and its px per mm."""
    box = largest_face(rgb)
    if box is None:
        return None
    r, c, h, w = box
    return (slice(int(r), int(r + h)), slice(int(c), int(c + w))), w / skin_eval.FACE_MM


def _over_grey(delta, base, sel):
    """(a*, b*) per unit of ΔL* darkening over a grey darkening, on the darkest 5 % of `delta`'s
    L* inside `sel`; `base` is the skin's Lab there."""
    dl = delta[..., 0]
    pits = sel & (dl < np.percentile(dl[sel], 5))
    L, a, b = (delta[..., k][pits] for k in range(3))
    mean = base[sel].mean(0)
    grey = mean[1:] / (mean[0] + 16.0)
    slope = np.array([(a * L).sum(), (b * L).sum()]) / (L * L).sum()
    return tuple(round(float(v), 3) for v in grey - slope)


def reference(path):
    """A photograph's own pits: the pore band (σ 0.1 mm against 0.4 mm) of its Lab."""
    rgb = skin_eval.load(path)
    face = _face(rgb)
    if face is None:
        return None
    box, ppm = face
    crop = rgb[box]
    lab = rgb2lab(crop)
    band = lambda p: ndi.gaussian_filter(p, max(0.5, 0.1 * ppm)) - ndi.gaussian_filter(p, 0.4 * ppm)
    delta = np.stack([band(lab[..., k]) for k in range(3)], -1)
    sel = skin_eval.analysis_mask(crop, lab[..., 0], [(0, 0, crop.shape[0], crop.shape[1])], ppm)
    return _over_grey(delta, lab, sel) if sel.sum() > 1000 else None


def pair(src, res):
    """What realskin added: OUT minus IN enlarged with Lanczos to OUT's size."""
    out = skin_eval.load(res)
    im = Image.open(src).convert("RGB")
    if im.size != (out.shape[1], out.shape[0]):
        im = im.resize((out.shape[1], out.shape[0]), Image.LANCZOS)
    base = np.asarray(im).astype(np.float32) / 255.0
    face = _face(base)
    if face is None:
        return None
    box, ppm = face
    lab0, lab1 = rgb2lab(base[box]), rgb2lab(out[box])
    sel = skin_eval.analysis_mask(base[box], lab0[..., 0], [(0, 0, lab0.shape[0], lab0.shape[1])], ppm)
    delta = lab1 - lab0
    # Where nothing was added, the pits are the resampling's: leave them out.
    sel &= ndi.gaussian_filter(np.abs(delta[..., 0]), 2 * ppm) > 0.05
    return _over_grey(delta, lab0, sel) if sel.sum() > 1000 else None


def main(argv):
    if argv[:1] == ["--pair"]:
        args = argv[1:]
        for src, res in zip(args[::2], args[1::2]):
            print(f"{os.path.basename(res)}: {pair(src, res)}")
    else:
        for p in argv:
            print(f"{os.path.basename(p)}: {reference(p)}")


if __name__ == "__main__":
    main(sys.argv[1:])
