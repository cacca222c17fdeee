#!/usr/bin/env bash
# The ONNX upscaler benchmark on a GPU machine, in one run, with no network: the
# SRVGGNetCompact-shaped x4 model (random weights) on a 512x512 input, through
# `realskin models bench` with the CUDA execution provider when the ONNX Runtime found
# there offers it, else saying exactly what is missing. Also measured, for scale: the
# same model on that machine's CPUs, and the same network in PyTorch on the GPU
# (fp32, fp16) as an upper reference that is not ONNX Runtime.
#
# Run from the repository root:  bash bench/onnx-gpu.sh
# Files it needs, built on a machine with network (see ONNX-NOTES.md / the README):
#   target/release/realskin                          cargo build --release
#   target/onnx-bench/srvgg-x4.onnx                  scripts/bench-onnx (or make_test_models.py --bench)
#   target/onnxruntime/1.31.1/libonnxruntime.so.*    scripts/fetch-onnxruntime (CPU-only fallback)
# A CUDA-enabled ONNX Runtime >= 1.31 must already be on the machine (pip's
# onnxruntime-gpu, or ORT_DYLIB_PATH): its CUDA provider library is ~280 MB.
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
say() { printf '%s\n' "$*"; }
missing=()

say "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || say "nvidia-smi: not available"
say "cpus: $(nproc)"

bin=target/release/realskin
model=target/onnx-bench/srvgg-x4.onnx
carried_lib=$(ls "$PWD"/target/onnxruntime/1.31.1/libonnxruntime.so.1.31.1 2>/dev/null || true)
[ -x "$bin" ] || missing+=("$bin (cargo build --release, then carry it)")
if [ ! -f "$model" ]; then
  if python3 -c "import onnx, numpy" 2>/dev/null; then
    python3 models/tools/make_test_models.py --bench target/onnx-bench >/dev/null && say "made $model"
  else
    missing+=("$model (scripts/bench-onnx writes it; carry it)")
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "MISSING: ${missing[*]}"
  exit 2
fi
if ! "$bin" --version >/dev/null 2>&1; then
  say "MISSING: $bin does not run here ($("$bin" --version 2>&1 | head -1)); build it on a machine with an older glibc"
  exit 2
fi

say "== ONNX Runtime"
py_ort=$(python3 - <<'PY' 2>/dev/null
import importlib.util, glob, os
spec = importlib.util.find_spec("onnxruntime")
if spec and spec.submodule_search_locations:
    d = spec.submodule_search_locations[0]
    libs = sorted(glob.glob(os.path.join(d, "capi", "libonnxruntime.so*")), key=len)
    try:
        import onnxruntime as o
        v, eps = o.__version__, ",".join(o.get_available_providers())
    except Exception as e:
        v, eps = "?", "import failed: %s" % e
    print("%s|%s|%s" % (libs[-1] if libs else "", v, eps))
PY
)
py_lib=${py_ort%%|*}; rest=${py_ort#*|}; py_ver=${rest%%|*}; py_eps=${rest#*|}
[ -n "$py_ort" ] && say "python onnxruntime: $py_ver at ${py_lib:-?} providers: $py_eps" || say "python onnxruntime: not installed"

# torch's CUDA libraries (cuBLAS, cuDNN, runtime) for ONNX Runtime's CUDA provider.
extra=$(python3 - <<'PY' 2>/dev/null
import glob, os, importlib.util
dirs = []
for name in ("nvidia", "torch"):
    spec = importlib.util.find_spec(name)
    for loc in (spec.submodule_search_locations or []) if spec else []:
        dirs += glob.glob(os.path.join(loc, "*", "lib")) + [os.path.join(loc, "lib")]
print(":".join(d for d in dirs if os.path.isdir(d)))
PY
)
export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

ok_version() { python3 -c "import sys; v=sys.argv[1].split('.'); sys.exit(0 if (int(v[0]),int(v[1]))>=(1,31) else 1)" "$1" 2>/dev/null; }
cuda_lib=""
cuda_why=""
if [ -n "${ORT_DYLIB_PATH:-}" ]; then
  cuda_lib=$ORT_DYLIB_PATH
elif [ -n "$py_lib" ] && [[ "$py_eps" == *CUDAExecutionProvider* ]]; then
  if ok_version "$py_ver"; then cuda_lib=$py_lib; else cuda_why="the installed onnxruntime-gpu is $py_ver; realskin needs 1.31 or newer"; fi
elif [ -n "$py_lib" ]; then
  cuda_why="the installed onnxruntime $py_ver is CPU-only (providers: $py_eps); the CUDA provider comes with onnxruntime-gpu >= 1.31 (for CUDA 13 + cuDNN 9), which is not installed and is too large (~256 MB wheel) to carry"
else
  cuda_why="no onnxruntime package; onnxruntime-gpu >= 1.31 is needed for the CUDA provider"
fi
cpu_lib=""
if [ -n "$py_lib" ] && ok_version "$py_ver"; then cpu_lib=$py_lib; else cpu_lib=$carried_lib; fi

cuda_result="not measured"
if [ -n "$cuda_lib" ]; then
  say "== realskin models doctor ($cuda_lib)"
  ORT_DYLIB_PATH=$cuda_lib "$bin" models doctor 2>&1 | sed -n '1,5p'
  say "== ONNX Runtime, CUDA provider"
  out=$(ORT_DYLIB_PATH=$cuda_lib timeout 240 "$bin" models bench "$model" --device cuda --size 512 --tile 256 --runs "$RUNS" 2>&1)
  say "$out"
  if [[ "$out" == *"on cuda"* ]]; then
    cuda_result=$(printf '%s\n' "$out" | grep -E '^(untiled|tiled):' | tr -s ' ' | paste -sd ';' -)
  else
    cuda_why="the CUDA provider did not start: $(printf '%s\n' "$out" | grep -o 'requested provider failed: .*' | head -c 400)"
  fi
fi

say "== ONNX Runtime, CPU provider on this machine ($cpu_lib)"
if [ -n "$cpu_lib" ]; then
  ORT_DYLIB_PATH=$cpu_lib timeout 240 "$bin" models bench "$model" --device cpu --size 512 --tile 256 --runs 3 2>&1
else
  say "no ONNX Runtime >= 1.31 here and none carried (target/onnxruntime/1.31.1/)"
fi

say "== PyTorch reference (not ONNX Runtime): the same network, random weights"
timeout 180 python3 - "$RUNS" <<'PY' 2>&1 || say "PyTorch reference failed"
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
runs = int(sys.argv[1])
if not torch.cuda.is_available():
    print("torch sees no CUDA device"); sys.exit(0)
class SRVGG(nn.Module):
    def __init__(s, feat=64, convs=16, scale=4):
        super().__init__()
        layers = [nn.Conv2d(3, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(convs):
            layers += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        layers += [nn.Conv2d(feat, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale)]
        s.body, s.scale = nn.Sequential(*layers), scale
    def forward(s, x):
        return s.body(x) + F.interpolate(x, scale_factor=s.scale, mode="nearest")
torch.backends.cudnn.benchmark = True
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
for dtype in (torch.float32, torch.float16):
    m = SRVGG().cuda().eval().to(dtype)
    x = torch.rand(1, 3, 512, 512, device="cuda", dtype=dtype)
    with torch.inference_mode():
        for _ in range(3): m(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(runs): m(x)
        torch.cuda.synchronize(); dt = (time.perf_counter() - t) / runs
    print("torch %-8s %8.2f ms  %9.1f MP/s out" % (str(dtype).split(".")[1], dt * 1e3, 2048 * 2048 / dt / 1e6))
PY

say "== summary"
if [ "$cuda_result" != "not measured" ]; then
  say "CUDA provider: $cuda_result"
else
  say "CUDA provider: NOT MEASURED: ${cuda_why:-unknown reason}"
fi
