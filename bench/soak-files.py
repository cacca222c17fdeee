#!/usr/bin/env python3
"""Files for bench/soak.sh, written with the standard library only.

  soak-files.py photos DIR N [NESTED]   N distinct small photographs-like PNGs (96x72), in
                                       NESTED levels of subfolders (0 = flat)
  soak-files.py hostile DIR            the hostile set: files that must each go to failed/
                                       with a reason (bombs, truncations, wrong contents)
                                       in DIR/fail/, and valid pictures with hostile names
                                       or hostile metadata (which must be processed, the
                                       metadata with a warning) in DIR/names/
"""
import os
import random
import struct
import sys
import zlib


def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, rows, colour_type=2, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def photo(seed, w=96, h=72):
    """A smooth gradient with noise, different for every seed (no two files alike)."""
    rnd = random.Random(seed)
    a, b, c = rnd.random(), rnd.random(), rnd.random()
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            n = rnd.randint(-6, 6)
            rows += bytes((
                max(0, min(255, int(60 + 150 * a * x / w + n))),
                max(0, min(255, int(50 + 140 * b * y / h + n))),
                max(0, min(255, int(40 + 120 * c * (x + y) / (w + h) + n))),
            ))
    return png(w, h, bytes(rows))


def photos(out, n, nested):
    for i in range(n):
        sub = out
        if nested:
            parts = [f"d{(i // 10 ** (k + 1)) % 10}" for k in range(nested)]
            sub = os.path.join(out, *parts)
        os.makedirs(sub, exist_ok=True)
        tmp = os.path.join(sub, f".tmp-{i}")
        with open(tmp, "wb") as f:
            f.write(photo(i))
        os.rename(tmp, os.path.join(sub, f"img-{i:05}.png"))


def le_entry(tag, typ, count, value):
    return struct.pack("<HHII", tag, typ, count, value)


def tiff_amplified():
    n, mib = 4000, 1 << 20
    ifd0_len = 2 + (n + 3) * 12 + 4
    exif_at = 8 + ifd0_len
    data_at = exif_at + 2 + n * 12 + 4
    f = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n + 3)
    f += le_entry(256, 3, 1, 16) + le_entry(257, 3, 1, 16)
    f += b"".join(le_entry(700, 1, mib, data_at) for _ in range(n))
    f += le_entry(0x8769, 4, 1, exif_at) + struct.pack("<I", 0)
    f += struct.pack("<H", n) + b"".join(le_entry(1000 + i, 7, mib, data_at) for i in range(n))
    return f + struct.pack("<I", 0) + b" " * mib


def png_text_bombs(seed):
    """A valid 8x8 picture whose 150 zTXt chunks inflate to 16 MiB each: its metadata is
    hostile, its pixels are fine, so it must be processed (with a warning)."""
    bomb = zlib.compress(b"\0" * (16 * (1 << 20) - 16), 9)
    extra = b"".join(chunk(b"zTXt", b"bomb%d\0\0" % i + bomb) for i in range(150))
    rows = b"".join(b"\0" + bytes((seed * 20 + x * 9) % 256 for x in range(24)) for _ in range(8))
    return png(8, 8, rows, extra=extra)


def png_pixel_bomb(side):
    """A PNG declaring side x side RGB pixels whose IDAT inflates to gigabytes of zeros."""
    row = b"\0" * (1 + 3 * side)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def jpeg_exif_amplified():
    n = 4000
    value_at = 8 + 2 + n * 12 + 4
    t = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n)
    t += b"".join(le_entry(1000 + i, 7, 16 * 1024, value_at) for i in range(n))
    t += struct.pack("<I", 0) + b"x" * (16 * 1024)
    app1 = b"Exif\0\0" + t
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


def hostile(out):
    fail = os.path.join(out, "fail")
    names = os.path.join(out, "names")
    os.makedirs(fail, exist_ok=True)
    os.makedirs(names, exist_ok=True)
    files = {}
    for i in range(10):
        files[f"tiff-amplified-{i}.tif"] = tiff_amplified()
        files[f"jpeg-exif-amplified-{i}.jpg"] = jpeg_exif_amplified()
        files[f"not-an-image-{i}.png"] = b"this is a text file with a picture's name\n" * (i + 1)
        files[f"random-bytes-{i}.jpg"] = random.Random(i).randbytes(5000 + 999 * i)
    for i in range(20):
        files[f"truncated-{i}.png"] = photo(10_000 + i)[: 40 + 20 * i]
    for i in range(5):
        files[f"zero-bytes-{i}.png"] = b""
        files[f"pixel-bomb-{i}.png"] = png_pixel_bomb(30000 + i)
    for name, data in files.items():
        with open(os.path.join(fail, name), "wb") as f:
            f.write(data)
    hostile_names = [
        "javascript:alert(1).png", "<img src=x onerror=alert(1)>.png", "a\"quote\".png",
        "50% off #1?.png", "semi;colon&amp.png", "$HOME and %h.png", "back\\slash.png",
        "tab\there.png", "new\nline.png", "ünïcödé-名前.png", " leading space.png",
        "trailing space .png", "dots...in...name.png", "-dash-first.png", "'single'.png",
        "(parens) [brackets] {braces}.png", "emoji-🙂.png", "a" * 200 + ".png",
        "UPPER.PNG", "~tilde.png",
    ]
    for i, name in enumerate(hostile_names):
        with open(os.path.join(names, name), "wb") as f:
            f.write(photo(20_000 + i))
    for i in range(10):
        with open(os.path.join(names, f"png-text-bombs-{i}.png"), "wb") as f:
            f.write(png_text_bombs(i))
    print(len(files), len(hostile_names) + 10)


if __name__ == "__main__":
    if sys.argv[1] == "photos":
        photos(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif sys.argv[1] == "hostile":
        hostile(sys.argv[2])
    else:
        sys.exit(__doc__)
