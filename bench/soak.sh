#!/usr/bin/env bash
# Load and faults, as figures: the real daemon on temporary hotfolders, bounded in size and
# time (a script, not a timed test). Each phase checks that every image gives exactly one
# output and one report (or, for hostile files, one reason in failed/), and prints its
# throughput and the daemon's peak resident memory.
#
#   bench/soak.sh            SOAK_N=10000 (burst size), SOAK_CRASH_N=500, SOAK_KILLS=20
#
#   burst-events  SOAK_N small images dropped in bursts of 500 into nested folders, native events
#   burst-poll    the same with `watch = "poll"`
#   crashes       SOAK_CRASH_N images, SIGKILL SOAK_KILLS times at random moments, restarts
#   full-disk     100 images into a 4 MB tmpfs output that a consumer drains (needs root
#                 or user namespaces; skipped otherwise)
#   hostile       70 hostile files (bombs, truncations, wrong contents) that must each go to
#                 failed/ with a reason, and 30 valid pictures with hostile names or metadata
#                 that must be processed, among 200 good ones; peak memory must stay under 2 GB
set -euo pipefail
cd "$(dirname "$0")/.."
N=${SOAK_N:-10000}
CRASH_N=${SOAK_CRASH_N:-500}
KILLS=${SOAK_KILLS:-20}
cargo build -q --release --bin realskin
bin=$PWD/target/release/realskin
gen=$PWD/bench/soak-files.py
work=$(mktemp -d)
trap 'pkill -KILL -f "$work/" 2>/dev/null || true; [ -n "${SOAK_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
failures=0

config() { # dir watch extra-sections
  mkdir -p "$1"/{in,out,reports,done,failed,state}
  cat > "$1/realskin.toml" <<TOML
[daemon]
state_dir = "state"
workers = 2
rescan_interval = "30s"
retry_backoff = "500ms"
retry_max_backoff = "2s"
yield_above_cpu = 0
yield_below_free_memory_mb = 0

[api]
enabled = false

[upscale]
min_long_edge = 96
target_long_edge = 96

[[hotfolder]]
name = "soak"
input = "in"
output = "out"
reports = "reports"
done = "done"
failed = "failed"
settle = "300ms"
poll_interval = "500ms"
watch = "$2"
$3
TOML
}

start() { # dir; sets $pid (the daemon logs to dir/daemon.log)
  (cd "$1" && HOME="$1" RUST_LOG=info,notify=warn exec "$bin" run --config "$1/realskin.toml" >>"$1/daemon.log" 2>&1) &
  pid=$!
}

count() { find "$1" -type f ! -name '.*' "${@:2}" -printf . 2>/dev/null | wc -c; }
peak_mb() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status" 2>/dev/null || echo "?"; }
now() { date +%s.%N; }

wait_for() { # dir want timeout_s -> 0 when done/ + failed/ originals reach want
  local end=$(( $(date +%s) + $3 ))
  while [ "$(( $(count "$1/done") + $(count "$1/failed" ! -name '*.error.txt') ))" -lt "$2" ]; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
  done
}

check_once() { # phase dir n-processed n-failed
  local outs reps done failed temps
  outs=$(count "$2/out" ! -name '*.c2pa')
  reps=$(count "$2/reports" -name '*.json')
  done=$(count "$2/done")
  failed=$(count "$2/failed" ! -name '*.error.txt')
  temps=$(find "$2" -name '.realskin-tmp-*' -printf . | wc -c)
  staged=$(find "$2/in/.realskin" -type f -printf . 2>/dev/null | wc -c)
  local ok=yes
  [ "$outs" -eq "$3" ] && [ "$done" -eq "$3" ] && [ "$failed" -eq "$4" ] \
    && [ "$reps" -eq $(( $3 + $4 )) ] && [ "$temps" -eq 0 ] && [ "$staged" -eq 0 ] || ok=NO
  printf '  %-13s outputs %s, reports %s, done %s, failed %s, temporary files %s, left in staging %s: exactly once %s\n' \
    "$1" "$outs" "$reps" "$done" "$failed" "$temps" "$staged" "$ok"
  [ "$ok" = yes ] || failures=$((failures + 1))
}

burst() { # phase watch
  local d=$work/$1
  config "$d" "$2" ""
  local t0 t1
  start "$d"
  sleep 1.5
  python3 "$gen" photos "$d/stage" "$N" 2
  t0=$(now)
  # Bursts of 500 files, moved in (renames, as a sync client finishes files), nested folders kept.
  (cd "$d/stage" && find . -name '*.png' | sort) > "$d/list"
  split -l 500 "$d/list" "$d/part."
  for part in "$d"/part.*; do
    while read -r f; do
      mkdir -p "$d/in/$(dirname "$f")"
      mv "$d/stage/$f" "$d/in/$f"
    done < "$part"
    sleep 0.2
  done
  if wait_for "$d" "$N" $(( N / 5 + 120 )); then :; else echo "  $1: timed out"; fi
  t1=$(now)
  local peak; peak=$(peak_mb "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  printf '%s: %d images in %.1f s = %.1f images/s; daemon peak RSS %s MB\n' \
    "$1" "$N" "$(echo "$t1 - $t0" | bc)" "$(echo "$N / ($t1 - $t0)" | bc -l)" "$peak"
  check_once "$1" "$d" "$N" 0
}

crashes() {
  local d=$work/crashes
  config "$d" events ""
  python3 "$gen" photos "$d/in" "$CRASH_N" 1
  local t0 t1 k
  t0=$(now)
  start "$d"
  for k in $(seq 1 "$KILLS"); do
    sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + 2.5 * rand() }')"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    start "$d"
  done
  wait_for "$d" "$CRASH_N" 600 || echo "  crashes: timed out"
  t1=$(now)
  kill -TERM "$pid"; wait "$pid" || true
  local set_aside
  set_aside=$(cat "$d"/failed/*.error.txt 2>/dev/null | grep -c "times in a row" || true)
  printf 'crashes: %d images, %d SIGKILLs at random moments, all finished in %.1f s; set aside after two crashes in a row: %d\n' \
    "$CRASH_N" "$KILLS" "$(echo "$t1 - $t0" | bc)" "$set_aside"
  check_once crashes "$d" $(( CRASH_N - set_aside )) "$set_aside"
}

full_disk() {
  local d=$work/full-disk
  config "$d" events ""
  mkdir -p "$d/drained"
  if ! unshare -m --propagation private true 2>/dev/null; then
    echo "full-disk: skipped (needs root or user namespaces to mount a tmpfs)"
    return
  fi
  # 600 px outputs of about 0.6 MB each: a 4 MB output holds a handful. A consumer drains it
  # every 3 s, as a sync client would; realskin retries the others until space returns.
  sed -i 's/^min_long_edge = 96/min_long_edge = 600/; s/^target_long_edge = 96/target_long_edge = 600/' "$d/realskin.toml"
  python3 "$gen" photos "$d/in" 100 0
  (cd "$d" && HOME="$d" RUST_LOG=info,notify=warn exec unshare -m --propagation private sh -c "
    mount -t tmpfs -o size=4m tmpfs '$d/out' || exit 3
    (while sleep 3; do for f in '$d'/out/*.realskin.png; do [ -e \"\$f\" ] && mv \"\$f\" '$d/drained/'; done; done) &
    exec '$bin' run --config '$d/realskin.toml'" >>"$d/daemon.log" 2>&1) &
  pid=$!
  wait_for "$d" 100 600 || echo "  full-disk: timed out"
  sleep 4 # the last drain
  local full; full=$(grep -c "is full" "$d/daemon.log" || true)
  kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  local drained; drained=$(count "$d/drained")
  local bad=0
  for f in "$d"/drained/*.png; do
    python3 - "$f" <<'PY' || bad=$((bad + 1))
import sys, zlib
b = open(sys.argv[1], "rb").read()
sys.exit(0 if b.startswith(b"\x89PNG") and b.endswith(b"IEND\xaeB`\x82") else 1)
PY
  done
  local ok=yes
  [ "$drained" -eq 100 ] && [ "$bad" -eq 0 ] && [ "$(count "$d/done")" -eq 100 ] \
    && [ "$(count "$d/reports" -name '*.json')" -eq 100 ] || ok=NO
  printf 'full-disk: 100 images through a 4 MB output drained every 3 s; "disk is full" logged %s times; outputs %s (truncated %s), done %s: exactly once %s\n' \
    "$full" "$drained" "$bad" "$(count "$d/done")" "$ok"
  [ "$ok" = yes ] || failures=$((failures + 1))
}

hostile() {
  local d=$work/hostile
  config "$d" events ""
  python3 "$gen" photos "$d/stage" 200 0
  read -r nfail nnames < <(python3 "$gen" hostile "$d/stage")
  local t0 t1
  start "$d"
  sleep 1.5
  t0=$(now)
  find "$d/stage" -type f -print0 | shuf -z | xargs -0 mv -t "$d/in/"
  local total=$(( 200 + nfail + nnames ))
  wait_for "$d" "$total" 900 || echo "  hostile: timed out"
  t1=$(now)
  local peak; peak=$(peak_mb "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  local reasons; reasons=$(count "$d/failed" -name '*.error.txt')
  printf 'hostile: %d hostile files, and %d valid pictures with hostile names or metadata, among 200 good images in %.1f s; daemon peak RSS %s MB (limit 2048); reasons in failed/: %s\n' \
    "$nfail" "$nnames" "$(echo "$t1 - $t0" | bc)" "$peak" "$reasons"
  check_once hostile "$d" $(( 200 + nnames )) "$nfail"
  [ "$reasons" -eq "$nfail" ] || { echo "  hostile: $reasons reasons for $nfail failures"; failures=$((failures + 1)); }
  [ "$peak" != "?" ] && [ "$peak" -lt 2048 ] || { echo "  hostile: peak memory over 2 GB"; failures=$((failures + 1)); }
}

phases=${SOAK_PHASES:-burst-events burst-poll crashes full-disk hostile}
for p in $phases; do
  case $p in
    burst-events) burst burst-events events ;;
    burst-poll) burst burst-poll poll ;;
    crashes) crashes ;;
    full-disk) full_disk ;;
    hostile) hostile ;;
  esac
done
echo "soak: $failures phase(s) failed"
[ "$failures" -eq 0 ]
