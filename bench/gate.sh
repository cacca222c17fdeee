#!/usr/bin/env bash
# The per-face gate on the labelled development set: runs the default pipeline
# (`realskin process`, default config) on every picture in shared/samples/dev/{ai-photo,
# real-photo,not-photo} and prints, per class, how many pictures were treated (a face passed
# the gate), how many of those the engine then left as they were (nothing to add: the skin
# already has real skin's texture) and why the others were not treated, then one line per
# picture with each face's figures.
#
# Goal: every photographed face of 64 px or more treated (ai-photo, real-photo), no
# non-photograph treated (not-photo).
#
#   bench/gate.sh                  (SHARED=/path/to/shared to point elsewhere)
#   bench/gate.sh DIR...           (any folders laid out as DIR/{ai-photo,real-photo,not-photo},
#                                   holding pictures or links to them)
#   bench/gate.sh --variants [DIR] (each picture halved, doubled, recompressed, turned 90°,
#                                   mirrored and turned 20°, greyed and warm-graded, by
#                                   examples/gate_variants.rs: do the verdicts generalise?)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-}
for d in "$shared" ../shared /work/shared; do
  [ -n "$d" ] && [ -d "$d/samples/dev" ] && { shared=$d; break; }
done
if [ "${1:-}" = --variants ]; then
  shift
  [ $# -le 1 ] || { echo "--variants takes one folder" >&2; exit 2; }
  src=${1:-$shared/samples/dev}
  [ -d "$src" ] || { echo "$src not found: set SHARED or name a folder" >&2; exit 2; }
  cargo build -q --release --example gate_variants
  rm -rf target/gate-variants
  target/release/examples/gate_variants "$src" target/gate-variants
  set -- target/gate-variants
fi
roots=("$@")
if [ ${#roots[@]} -eq 0 ]; then
  [ -d "$shared/samples/dev" ] || { echo "shared/samples/dev not found: set SHARED or name folders" >&2; exit 2; }
  roots=("$shared/samples/dev")
fi
cargo build -q --release --bin realskin
out=target/gate
rm -rf "$out"; mkdir -p "$out"
for root in "${roots[@]}"; do
  for class in ai-photo real-photo not-photo; do
    [ -d "$root/$class" ] || continue
    mkdir -p "$out/$class"
    find -L "$root/$class" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.webp' -o -iname '*.tif' -o -iname '*.tiff' \) -print0 \
      | sort -z | xargs -0 -r ./target/release/realskin process -o "$out/$class" >/dev/null 2>&1 || true
  done
done
python3 - "$out" <<'PY'
import json, pathlib, sys, collections
out = pathlib.Path(sys.argv[1])
rows, tally = [], collections.OrderedDict()
for cls in ("ai-photo", "real-photo", "not-photo"):
    for rep in sorted((out / cls).glob("*.realskin.json")):
        d = json.loads(rep.read_text())
        skin = next((s for s in d.get("stages", []) if s["stage"] == "skin"), None)
        det = (skin or {}).get("details") or {}
        # Treated: a face passed the gate. Changed: the engine then had something to add (skin
        # that already has real skin's texture, no cast and its own grain is left as it was).
        treated = any(c["treated"] for c in det.get("face_checks", []))
        changed = bool(skin and skin["status"] == "applied")
        why = "treated" if treated else (skin["summary"] if skin else (d.get("error") or {}).get("message", "failed"))
        faces = " ".join(
            f"[{c['face']['w']:.0f}px {'treated' if c['treated'] else 'no'} step {c['verdict']['step_sharpness']:.2f} C* {c['verdict'].get('skin_chroma', 0):.0f}"
            + (f" iris {100 * c['verdict']['iris_to_face']:.1f}%" if c['verdict'].get('iris_to_face') is not None else "") + "]"
            for c in det.get("face_checks", []))
        t = tally.setdefault(cls, [0, 0, 0, collections.Counter()])
        t[0] += 1
        t[1] += treated
        t[2] += treated and not changed
        if not treated:
            # "no photographed face: drawn, not photographed: the irises are ..." -> "drawn: the irises are ..."
            parts = [p.strip() for p in why.split(":")]
            # "... rendered, not photographed: ..." -> "rendered: ..."
            key = parts[0] if len(parts) < 3 else f"{parts[1].split(',')[0]}: {parts[2].split('(')[0].strip()}"
            t[3][key] += 1
        verdict = ("TREATED" if changed else "treated, nothing added") if treated else "skipped"
        note = f"  ({why})" if not treated else ("" if changed else f"  ({skin['summary']})")
        rows.append(f"{cls:10} {rep.name.replace('.realskin.json', ''):44} {verdict}  {faces}" + note)
print(f"{'class':10} {'pictures':>8} {'treated':>8} {'nothing added':>13}  why the others were not")
for cls, (n, tr, same, why) in tally.items():
    print(f"{cls:10} {n:8} {tr:8} {same:13}  " + "; ".join(f"{k} ×{v}" for k, v in why.items()))
print()
print("\n".join(rows))
PY
