#!/usr/bin/env bash
# Rebuilds models/face/*.onnx from MediaPipe's TensorFlow Lite files and checks them.
#
# The wheel and the three .tflite files inside it are pinned by SHA-256. tf2onnx does not
# write byte-identical files from run to run (node names), so each rebuilt model is checked
# against the committed one by running both with ONNX Runtime on the same random inputs:
# every output must agree within 1e-5. Needs Python 3.11 and PyPI.
#
#     models/tools/make_face_models.sh            # rebuild into a temp folder and compare
#     models/tools/make_face_models.sh --install  # and copy the rebuilt files into models/face/
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$work/venv/bin/pip" install -q 'tensorflow-cpu==2.21.0' 'tf2onnx==1.17.0' 'onnx==1.23.2' \
  'onnxruntime==1.32.0' 'numpy==2.4.6'
"$work/venv/bin/pip" download -q --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux2014_x86_64 'mediapipe==0.10.14' -d "$work/wheel"

check() { # FILE SHA256
  echo "$2  $1" | sha256sum --check --quiet || { echo "hash mismatch: $1" >&2; exit 1; }
}
whl="$(ls "$work"/wheel/mediapipe-0.10.14-*.whl)"
check "$whl" a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4
(cd "$work" && python3 -m zipfile -e "$whl" x >/dev/null)
m="$work/x/mediapipe/modules"
check "$m/face_detection/face_detection_short_range.tflite" bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8
check "$m/face_landmark/face_landmark.tflite" 1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814
check "$m/selfie_segmentation/selfie_segmentation.tflite" 9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c

for src in face_detection/face_detection_short_range face_landmark/face_landmark \
           selfie_segmentation/selfie_segmentation; do
  name="$(basename "$src")"
  "$py" -m tf2onnx.convert --tflite "$m/$src.tflite" --opset 17 \
    --output "$work/$name.onnx" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  if [ "$name" = selfie_segmentation ]; then
    "$py" models/tools/fix_selfie_segmentation.py "$work/$name.onnx" "$work/$name.onnx"
  fi
  "$py" - "$work/$name.onnx" "models/face/$name.onnx" <<'PY'
import sys, numpy as np, onnxruntime as ort
a, b = (ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for p in sys.argv[1:3])
rng = np.random.default_rng(7)
for _ in range(3):
    feed = {i.name: rng.random(i.shape, dtype=np.float32) for i in a.get_inputs()}
    for x, y in zip(a.run(None, feed), b.run(None, feed)):
        assert np.allclose(x, y, atol=1e-5), f"{sys.argv[2]}: outputs differ by {np.abs(x - y).max()}"
print(f"ok  {sys.argv[2]}: same outputs as the rebuilt model")
PY
  if [ "${1:-}" = "--install" ]; then cp "$work/$name.onnx" "models/face/$name.onnx"; fi
done
