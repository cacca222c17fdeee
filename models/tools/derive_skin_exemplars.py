#!/usr/bin/env python3
"""Derives realskin's real-skin exemplars (models/skin/*.png) from an unretouched portrait.

The source is the NASA JSC official portrait of Nick Hague (Robert Markowitz, 2014; a US
government work, public domain, see models/skin/SOURCES.md). Only the derived tiles are
committed, never the photograph.

Each tile is a flat, crease-free patch of skin chosen by eye (coordinates below), turned into
its detail alone, with the JPEG's 8x8 block grid taken out: linear luminance divided by its own Gaussian low-pass (sigma 1 mm), minus 1,
so the tile holds the relative modulation that pores, fine lines and micro-relief make and none
of the face's shading or colour. Stored as 16-bit grey PNG: value = 32768 + detail * SCALE.

Usage: derive_skin_exemplars.py PORTRAIT.jpg OUT_DIR
Needs numpy, scipy and Pillow (bench/skin-eval-env.sh makes a venv with them).
"""
import sys

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

# The portrait's scale at the face, px per mm (realskin's own measure of this face: 8.0).
PX_PER_MM = 8.0
SIGMA = 1.0 * PX_PER_MM
SCALE = 131072.0  # detail units per 16-bit step: +-0.25 fits
# name: (x0, y0, x1, y1) in the 3000x4000 source; sides are multiples of the JPEG block.
CROPS = {
    "nose": (1544, 1240, 1648, 1376),
    "cheek": (1304, 1272, 1440, 1448),
    "forehead": (1384, 728, 1720, 856),
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


def main():
    src, out = sys.argv[1], sys.argv[2]
    rgb = np.asarray(Image.open(src).convert("RGB"), dtype=np.float64)
    lin = srgb_to_linear(rgb)
    y = lin @ np.array([0.2126, 0.7152, 0.0722])
    m = int(3 * SIGMA)
    for name, (x0, y0, x1, y1) in CROPS.items():
        big = y[y0 - m : y1 + m, x0 - m : x1 + m]
        detail = big / gaussian_filter(big, SIGMA, mode="reflect") - 1.0
        detail = deblock(detail[m:-m, m:-m])
        detail -= detail.mean()
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
