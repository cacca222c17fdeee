#!/usr/bin/env bash
# A fleet on this machine: 1, 2 and 3 realskin daemons on one shared hotfolder, their ledger
# in a throwaway PostgreSQL cluster (Debian's package, fsync on, Unix socket), against one
# daemon on its own SQLite ledger. IMAGES small generated photos (no people, so no skin
# engine: the ledger and the hand-over between machines weigh most) are dropped in bursts
# of BURST; the time runs from the first drop to the last original in done/.
# Prints images per second for each run, images per node, and the checks: exactly one
# output and one report per image, nothing left in the input.
#   IMAGES=1000 BURST=100 WORKERS=1 bench/fleet.sh
# On a 2-core machine three nodes share two cores: the rows say what the ledger and the
# claim cost, not how a fleet of real machines scales.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${IMAGES:-300}
burst=${BURST:-50}
workers=${WORKERS:-1}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "installing postgresql (the fleet's database)..." >&2
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
cargo build -q --release --bin realskin --example photo_fixture

work=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
stop_all() {
  pkill -f "realskin run --config $work" 2>/dev/null || true
  as_pg "$bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop_all EXIT
as_pg "$bin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$bin/pg_ctl" -D "$work/pg" -o "-k $work -c listen_addresses=''" -l "$work/pg.log" -w start >/dev/null
psql_() { psql -h "$work" -U postgres -qAt "$@"; }

# The pictures, made once, each of its own size (so none is a duplicate of another).
mkdir -p "$work/src"
for i in $(seq "$images"); do
  target/release/examples/photo_fixture $((96 + i % 100)) $((64 + i / 100)) "$work/src/p$i.png" >/dev/null
done

now_ms() { date +%s%3N; }

run() { # run NAME NODES DATABASE(empty = SQLite)
  local name=$1 nodes=$2 db=$3 root="$work/$1"
  mkdir -p "$root"/{in,out,reports,done,failed}
  local pids=()
  for k in $(seq "$nodes"); do
    local fleet=""
    [ -n "$db" ] && fleet=$'[fleet]\n'"database = \"$db\""$'\n'"node = \"node$k\""$'\n'"lease = \"30s\""
    cat > "$root/node$k.toml" <<EOF
[daemon]
state_dir = "state$k"
workers = $workers
rescan_interval = "1h"
yield_above_cpu = 0
yield_below_free_memory_mb = 0
[api]
enabled = false
[upscale]
min_long_edge = 64
[[hotfolder]]
name = "bench"
input = "in"
output = "out"
reports = "reports"
done = "done"
failed = "failed"
settle = "200ms"
$fleet
EOF
    RUST_LOG=warn target/release/realskin run --config "$root/node$k.toml" 2>"$root/node$k.log" &
    pids+=($!)
  done
  sleep 2
  local t0; t0=$(now_ms)
  local i=0
  while [ "$i" -lt "$images" ]; do
    for _ in $(seq "$burst"); do
      i=$((i + 1)); [ "$i" -le "$images" ] || break
      cp "$work/src/p$i.png" "$root/in/.p$i.png" && mv "$root/in/.p$i.png" "$root/in/p$i.png"
    done
    sleep 0.2
  done
  while [ "$(find "$root/done" -type f | wc -l)" -lt "$images" ]; do sleep 0.05; done
  local t1; t1=$(now_ms)
  kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  local outs reps left
  outs=$(find "$root/out" -type f | wc -l)
  reps=$(find "$root/reports" -name '*.json' -type f | wc -l)
  left=$(find "$root/in" -type f -name '*.png' | wc -l)
  local per=""
  if [ -n "$db" ]; then
    per=$(psql_ -d "${db##*dbname=}" -c "SELECT string_agg(node || ' ' || n, ', ' ORDER BY node) FROM (SELECT node, COUNT(*) n FROM jobs WHERE state = 'done' GROUP BY node) t" || true)
  fi
  printf '%-28s %5d images in %7.2f s: %6.1f images/s  outputs %d, reports %d, left %d  %s\n' \
    "$name" "$images" "$(echo "($t1 - $t0) / 1000" | bc -l)" "$(echo "$images * 1000 / ($t1 - $t0)" | bc -l)" \
    "$outs" "$reps" "$left" "${per:+per node: $per}"
  [ "$outs" = "$images" ] && [ "$reps" = "$images" ] && [ "$left" = 0 ] || { echo "  CHECK FAILED" >&2; exit 1; }
}

echo "$images images in bursts of $burst, $workers worker(s) per node, $(nproc) cores"
run "sqlite-1-node" 1 ""
for n in 1 2 3; do
  psql_ -d postgres -c "CREATE DATABASE fleet$n"
  run "postgres-$n-node" "$n" "host=$work user=postgres dbname=fleet$n"
done
