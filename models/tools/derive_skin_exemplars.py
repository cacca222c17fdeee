#!/usr/bin/env python3
"""Derives realskin's real-skin exemplars (models/skin/*.png) from unretouched portraits.

The sources are two NASA JSC portraits in shared/samples/real-hires: the official portrait of
Nick Hague (Robert Markowitz, 2014) for the nose and cheek, and a press-conference portrait of
Oleg Artemyev (Bill Stafford, 2014) for the forehead. Both are US government works in the public
domain, see models/skin/SOURCES.md. Only the derived tiles are committed, never the photographs.

Each tile is a flat, crease-free patch of skin chosen by eye (coordinates below), turned into
its detail alone, with the JPEG's 8x8 block grid taken out (deblock_steps, deblock): linear
luminance divided by its own Gaussian low-pass (sigma 1 mm), minus 1, so the tile holds the
relative modulation that pores, fine lines and micro-relief make and none of the face's shading
or colour. A tile from a source at another scale is then resampled to 8 px/mm, and each tile is
given its contrast (see CROPS). The cheek's contrast is also made even
across the tile (flatten_contrast): a tile is copied to the face in random patches, and where one
side of the tile is stronger than the other, the copies fall into strong and weak patches.
Stored as 16-bit grey PNG: value = 32768 + detail * SCALE.

Usage: derive_skin_exemplars.py REAL_HIRES_DIR OUT_DIR
Needs numpy, scipy and Pillow (bench/skin-eval-env.sh makes a venv with them).
"""
import os
import sys

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, zoom

# The tiles' scale, px per mm (realskin's own measure of the studio portrait's face: 8.0).
PX_PER_MM = 8.0
SCALE = 131072.0  # detail units per 16-bit step: +-0.25 fits
# The source portraits (file names in shared/samples/real-hires) and their scale at the face.
SOURCES = {
    "studio": ("nasa-jsc_official-portrait_man-blue-flightsuit_3000x4000.jpg", 8.0),
    # Three-quarter view, IPD about 445 px foreshortened: 7-7.5 px/mm (real-hires/SOURCES.md).
    "press": ("nasa-jsc_press-portrait_bald-man-blue-polo_3230x4037.jpg", 7.25),
}
# name: (source, (x0, y0, x1, y1), contrast, flatten); sides are multiples of the JPEG block.
# The forehead's contrast: the press portrait's forehead (sd 0.025) is smooth, with sparse fine
# pores and faint lines, as foreheads are; at 1.3x (sd 0.033, the cheek's is 0.035) its pores
# still read on AI foreheads at 100 %, and its shape (a smooth base, sparse pits) is unchanged.
# The cheek's side toward the nose has 1.6x the contrast of its outer side, so its contrast is
# flattened. The nose is cut from its evenly pitted flank only (quarters' sd 0.039-0.048), at
# 0.73x contrast: the sd (0.047) of the earlier, wider crop, whose other half was smooth skin.
CROPS = {
    "nose": ("studio", (1600, 1264, 1688, 1392), 0.73, False),
    "cheek": ("studio", (1304, 1272, 1440, 1448), 1.0, True),
    "forehead": ("press", (1000, 600, 1336, 728), 1.3, False),
}
BLOCK = 8  # the JPEG's luma block (4:4:4, grid at the origin)


def srgb_to_linear(v):
    v = v / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def deblock(d):
    """Removes the JPEG's 8x8 block grid from a detail tile whose sides are multiples of 8: a
    pattern of period 8 px lives only on the spectrum's rows and columns at k/8 cycles per pixel,
    so those are set to their neighbours' mean (a high-pass turns block edges into a visible grid;
    this takes out the grid and almost nothing of the skin)."""
    h, w = d.shape
    assert h % BLOCK == 0 and w % BLOCK == 0
    f = np.fft.fft2(d)
    for k in range(1, BLOCK):
        c = k * w // BLOCK
        f[:, c] = 0.5 * (f[:, c - 1] + f[:, (c + 1) % w])
        r = k * h // BLOCK
        f[r, :] = 0.5 * (f[r - 1, :] + f[(r + 1) % h, :])
    return np.real(np.fft.ifft2(f))


def deblock_steps(d):
    """Takes out the steps at the JPEG's block boundaries that the spectrum's grid lines do
    not hold: each block edge's step (the jump across it beyond the slope on either side,
    smoothed along the edge) is spread back as two opposite ramps over the half-blocks beside
    it, so no pixel pair at a block edge differs more than its neighbours do."""
    d = d.copy()
    half = BLOCK // 2
    taper = 1.0 - (np.arange(half) + 0.5) / half
    for axis in (1, 0):
        v = np.moveaxis(d, axis, 0)
        n = v.shape[0]
        for b in range(BLOCK, n - 1, BLOCK):
            step = (v[b] - v[b - 1]) - 0.5 * ((v[b - 1] - v[b - 2]) + (v[b + 1] - v[b]))
            step = np.convolve(np.pad(step, 1, mode="edge"), [0.25, 0.5, 0.25], "valid")
            for j in range(half):
                v[b + j] -= 0.35 * step * taper[j]
                v[b - 1 - j] += 0.35 * step * taper[j]
    return d


def flatten_contrast(d):
    """Divides out the tile's smooth trend in local contrast: the log of the local sd (Gaussian
    window, sigma 2 mm) fitted by a plane. Each pore keeps its shape and its contrast against
    its neighbours; the tile's overall sd is kept."""
    h, w = d.shape
    local = np.sqrt(gaussian_filter(d * d, 2.0 * PX_PER_MM, mode="reflect"))
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([np.ones(h * w), xx.ravel() / w, yy.ravel() / h], 1)
    coef, *_ = np.linalg.lstsq(a, np.log(local).ravel(), rcond=None)
    flat = d / np.exp((a @ coef).reshape(h, w))
    return flat * (d.std() / flat.std())


def luminance(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    return srgb_to_linear(rgb) @ np.array([0.2126, 0.7152, 0.0722])


def main():
    folder, out = sys.argv[1], sys.argv[2]
    lum = {k: luminance(os.path.join(folder, f)) for k, (f, _) in SOURCES.items()}
    for name, (src, (x0, y0, x1, y1), contrast, flatten) in CROPS.items():
        y, ppm = lum[src], SOURCES[src][1]
        sigma = 1.0 * ppm
        m = int(3 * sigma)
        big = y[y0 - m : y1 + m, x0 - m : x1 + m]
        detail = big / gaussian_filter(big, sigma, mode="reflect") - 1.0
        # The block grid is the source's, so it comes out before any resampling.
        detail = deblock(deblock_steps(detail[m:-m, m:-m]))
        if ppm != PX_PER_MM:
            detail = zoom(detail, PX_PER_MM / ppm, order=3, mode="reflect", grid_mode=True)
        if flatten:
            detail = flatten_contrast(detail)
        detail = (detail - detail.mean()) * contrast
        q = np.clip(np.round(32768 + detail * SCALE), 0, 65535).astype(np.uint16)
        Image.fromarray(q).save(f"{out}/{name}.png", optimize=True)
        d = detail.ravel()
        sd = d.std()
        print(
            f"{name}: {q.shape[1]}x{q.shape[0]} sd {sd:.4f} "
            f"skew {np.mean(d**3) / sd**3:+.2f} kurt {np.mean(d**4) / sd**4 - 3:.2f}"
        )


if __name__ == "__main__":
    main()
