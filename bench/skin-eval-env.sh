# Sourced by the benches that measure with shared/tools/skin_eval.py: finds the shared
# folder (SHARED, ../shared or /work/shared) and makes target/skin-eval-venv with the
# Python packages skin_eval needs. Sets `shared` and `venv`.
shared=${SHARED:-}
for d in "$shared" ../shared /work/shared; do
  [ -n "$d" ] && [ -f "$d/tools/skin_eval.py" ] && { shared=$d; break; }
done
[ -f "$shared/tools/skin_eval.py" ] || { echo "shared/tools/skin_eval.py not found: set SHARED" >&2; exit 2; }

venv=target/skin-eval-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import skimage, scipy, PIL' 2>/dev/null; then
  echo "installing skin_eval's Python packages into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy scipy pillow scikit-image
fi
