#!/usr/bin/env bash
# How small a face may be in one window of the embedded BlazeFace (short range) detector and
# still be found: every portrait in shared/samples/{dev/ai-photo,dev/real-photo,portraits}
# is searched whole to find its face, then cut into square windows in which that face spans
# a given share of the side (at random places, 3 per share), each reduced to 128 px and
# searched again. Prints, per share, the fraction of windows in which the face was found.
# `detect::windows` lays out its tiles for the share below which faces go missing.
#
#   bench/detector-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/skin-eval-env.sh
"$venv/bin/python" -c 'import onnxruntime' 2>/dev/null || "$venv/bin/pip" install -q onnxruntime
"$venv/bin/python" - "$shared" models/face/face_detection_short_range.onnx <<'PY'
import glob, sys, warnings
import numpy as np, onnxruntime as ort
from PIL import Image
warnings.simplefilter("ignore")
Image.MAX_IMAGE_PIXELS = None
shared, model = sys.argv[1], sys.argv[2]
sess = ort.InferenceSession(model)
name = sess.get_inputs()[0].name
anchors = []
for stride, per in [(8, 2), (16, 6)]:
    cells = 128 // stride
    for y in range(cells):
        for x in range(cells):
            anchors += [((x + .5) / cells, (y + .5) / cells)] * per
anchors = np.array(anchors, np.float32)

def detect(img128):
    x = (np.asarray(img128, np.float32) / 255 * 2 - 1)[None]
    a, b = sess.run(None, {name: x})
    boxes, logits = (a[0], b[0, :, 0]) if a.shape[-1] == 16 else (b[0], a[0, :, 0])
    s = 1 / (1 + np.exp(-np.clip(logits, -100, 100)))
    i = int(np.argmax(s))
    return float(s[i]), boxes[i][0] + anchors[i, 0] * 128, boxes[i][1] + anchors[i, 1] * 128, float(boxes[i][2])

files = sorted(glob.glob(f"{shared}/samples/dev/ai-photo/*") + glob.glob(f"{shared}/samples/dev/real-photo/*")
               + glob.glob(f"{shared}/samples/portraits/*.png") + glob.glob(f"{shared}/samples/portraits/*.jpg"))
shares = [0.06, 0.08, 0.10, 0.12, 0.14, 0.18, 0.25, 0.5, 0.7, 0.85]
found = dict.fromkeys(shares, 0.0)
rng = np.random.default_rng(1)
faces = 0
for f in files:
    im = Image.open(f).convert("RGB")
    w, h = im.size
    side = max(w, h)
    square = Image.new("RGB", (side, side))
    square.paste(im, ((side - w) // 2, (side - h) // 2))
    s, cx, cy, fw = detect(square.resize((128, 128), Image.BILINEAR))
    if s < 0.5:
        continue
    k = side / 128
    cx, cy, fw = cx * k - (side - w) // 2, cy * k - (side - h) // 2, fw * k
    faces += 1
    for share in shares:
        win = fw / share
        hits = 0
        for _ in range(3):
            x0, y0 = cx - win * rng.uniform(.25, .75), cy - win * rng.uniform(.25, .75)
            crop = im.crop((int(x0), int(y0), int(x0 + win), int(y0 + win))).resize((128, 128), Image.BOX)
            hits += detect(crop)[0] >= 0.5
        found[share] += hits / 3
print(f"{faces} faces (found whole), BlazeFace short range, score >= 0.5")
for share in shares:
    print(f"  face {share:.2f} of the window: found in {found[share] / faces:.2f}")
PY
