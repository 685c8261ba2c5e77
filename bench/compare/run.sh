#!/usr/bin/env bash
# Side-by-side load latency of an OLD checkout (OLD_CHECKOUT, e.g. commit 1a4062a) and the CURRENT
# one (NEW_CHECKOUT); set-up: bench/compare/README.md, both driven by the SAME driver: main's bench/bench.py + bench/run_info.py
# (copied, byte-identical, into /work/oldbench/bench/), with the same 10-question SCRIPT.
#
#   usage: run.sh [N]          N timed runs per checkout (default 3), alternated old,new,old,new...
#
# Each timed run is  .venv/bot/bin/python bench/bench.py --systems ours --levels 10 --long-session-turns 0
# started from its checkout (so it uses that checkout's venvs, config, data, KB and model cache).
# The driver prints "ours c=10 p50=... p95=... p99=... msg/s errors=..."; that printed line is
# what is parsed (with --long-session-turns 0 an old driver may stop before writing its file).
#
# Before timing, an untimed step trains (or reuses) each checkout's bench model with the driver's
# own train() (cached under <checkout>/bench/models by fingerprint); it is repeated, as a no-op
# "reusing ...", before every timed run, so a run never includes a training. The first call may
# take ~3-5 min per checkout that has no cached model (2 cores).
#
# Output: one line per run appended to runs.log (checkout, commit, model, load, figures); the full
# driver output of every run in out/; at the end a table of the medians over this series' runs.
#
# Environment knobs: OLD_CHECKOUT, NEW_CHECKOUT, MAX_LOAD (default 1.0: wait before each run until
# the 1-minute load average is below it; 0 = don't wait), QUIET_WAIT_S (default 600, then run
# anyway and flag the run), ALLOW_DRIVER_DIFF=1 (run even if the two drivers differ: not fair).
set -uo pipefail

N="${1:-3}"
OLD="${OLD_CHECKOUT:-/work/oldbench}"
NEW="${NEW_CHECKOUT:-/work/main}"
HERE="$(cd "$(dirname "$0")" && pwd)"
LOG="$HERE/runs.log"
OUT="$HERE/out"
MAX_LOAD="${MAX_LOAD:-1.0}"
QUIET_WAIT_S="${QUIET_WAIT_S:-600}"
BENCH_ARGS=(--systems ours --levels 10 --long-session-turns 0)
SERIES="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

# The driver reads these from the environment when set: a value left in the caller's shell
# would make BOTH checkouts use the same KB / texts. Each checkout must use its own .data/.
unset KB_DATABASE_URL DATA_DIR PYTHONPATH
export RASA_TELEMETRY_ENABLED=false

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---------------------------------------------------------------- preflight
for co in "$OLD" "$NEW"; do
  for f in .venv/bot/bin/python .venv/actions/bin/python .data/kb.sqlite3 bench/bench.py \
           bench/run_info.py scripts/readiness.py; do
    [ -e "$co/$f" ] || die "$co/$f is missing (that checkout needs: make env kb)"
  done
done
[ -e "$NEW/.data/generated/patient_texts.json" ] || die "$NEW/.data/generated/patient_texts.json missing (make kb in $NEW)"
[ -e "$OLD/bench/common/patient_texts.py" ] || die "$OLD/bench/common/patient_texts.py (shim) missing"
grep -q "^class PromptInMemoryLockStore" "$OLD/bot/lock_store.py" || die "$OLD/bot/lock_store.py lacks the PromptInMemoryLockStore shim"
for f in bench.py run_info.py; do
  if ! cmp -s "$OLD/bench/$f" "$NEW/bench/$f"; then
    if [ "${ALLOW_DRIVER_DIFF:-0}" = 1 ]; then
      say "WARNING: $OLD/bench/$f differs from $NEW/bench/$f (ALLOW_DRIVER_DIFF=1): not the same driver"
    else
      die "$OLD/bench/$f differs from $NEW/bench/$f: copy main's driver again (cp $NEW/bench/$f $OLD/bench/) and re-check the shims, or set ALLOW_DRIVER_DIFF=1"
    fi
  fi
done

commit_of() {  # short commit, +dirty with the modified tracked files (the old checkout's shims)
  local co="$1" head dirty
  head="$(git -C "$co" rev-parse --short HEAD)"
  dirty="$(git -C "$co" status --porcelain --untracked-files=no | awk '{print $2}' | paste -sd, -)"
  [ -n "$dirty" ] && head="$head+dirty($dirty)"
  printf '%s' "$head"
}

ensure_model() {  # untimed: the driver's own train(); prints the model file name
  local co="$1" label="$2"
  (cd "$co" && .venv/bot/bin/python -c '
import sys; sys.path.insert(0, "bench")
import bench
model, seconds = bench.train("ours", bench.SYSTEMS["ours"])
print("MODEL", model.name)' ) >"$OUT/$SERIES-train-$label.log" 2>&1 \
    || die "training/reusing the model in $co failed: see $OUT/$SERIES-train-$label.log"
  awk '/^MODEL /{print $2}' "$OUT/$SERIES-train-$label.log" | tail -1
}

wait_quiet() {
  [ "$MAX_LOAD" = 0 ] && return 0
  local waited=0
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN{exit !(l >= m)}' \
        || pgrep -f "rasa train" >/dev/null; do
    if [ "$waited" -ge "$QUIET_WAIT_S" ]; then
      say "WARNING: machine not quiet after ${QUIET_WAIT_S}s (load $(load1)); running anyway, run flagged"
      return 1
    fi
    [ $((waited % 60)) = 0 ] && say "waiting for a quiet machine (load $(load1), MAX_LOAD=$MAX_LOAD)..."
    sleep 10; waited=$((waited + 10))
  done
  return 0
}

say "series $SERIES: $N runs per checkout; old=$OLD ($(commit_of "$OLD")) new=$NEW ($(commit_of "$NEW"))"
say "untimed model step (trains only when a checkout has no cached model for its inputs)..."
for pair in "old:$OLD" "new:$NEW"; do
  label="${pair%%:*}"; co="${pair#*:}"
  model="$(ensure_model "$co" "$label")" || exit 2
  say "  $label: $model"
done

# ---------------------------------------------------------------- timed runs
for i in $(seq 1 "$N"); do
  for pair in "old:$OLD" "new:$NEW"; do
    label="${pair%%:*}"; co="${pair#*:}"
    model="$(ensure_model "$co" "$label-$i")" || exit 2  # no-op "reusing" unless inputs changed
    quiet=yes; wait_quiet || quiet=no
    commit="$(commit_of "$co")"
    results_before="$(git -C "$co" status --porcelain -- bench/results)"
    load_start="$(load1)"
    runlog="$OUT/$SERIES-$i-$label.log"
    say "run $i/$N $label ($commit, $model, load $load_start)..."
    started=$(date +%s)
    (cd "$co" && .venv/bot/bin/python bench/bench.py "${BENCH_ARGS[@]}") >"$runlog" 2>&1
    rc=$?
    secs=$(( $(date +%s) - started ))
    load_end="$(load1)"
    [ "$(git -C "$co" status --porcelain -- bench/results)" != "$results_before" ] \
      && say "WARNING: the driver changed $co/bench/results (git status); nothing was reverted"
    grep -q "another \`rasa train\` is running" "$runlog" && quiet=no
    line="$(grep -E '^ +ours +c=10 ' "$runlog" | tail -1)"
    if [ -n "$line" ]; then
      figures="$(sed -E 's/.*p50= *([0-9.]+) ms p95= *([0-9.]+) ms p99= *([0-9.]+) ms +([0-9.]+) msg\/s errors=([0-9]+).*/p50_ms=\1 p95_ms=\2 p99_ms=\3 msgs_per_s=\4 errors=\5/' <<<"$line")"
    else
      figures="FAILED(no c=10 line; see $runlog)"
    fi
    printf '%s series=%s run=%d checkout=%s dir=%s commit=%s model=%s %s quiet=%s load_start=%s load_end=%s driver_rc=%d wall_s=%d log=%s\n' \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SERIES" "$i" "$label" "$co" "$commit" "$model" \
      "$figures" "$quiet" "$load_start" "$load_end" "$rc" "$secs" "$runlog" >>"$LOG"
    say "  $label: ${line:-FAILED}"
  done
done

# ---------------------------------------------------------------- table
python3 - "$LOG" "$SERIES" <<'PY' | tee "$HERE/table-$SERIES.txt"
import re, statistics, sys
log, series = sys.argv[1], sys.argv[2]
rows = {"old": [], "new": []}
for line in open(log):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    if f.get("series") == series and "p95_ms" in f:
        rows[f["checkout"]].append(f)
print(f"\nseries {series} (runs.log; c=10, 200 messages a run; medians over runs, [min-max])")
print(f"{'checkout':9} {'commit':28} {'runs':>4} {'p50 ms':>20} {'p95 ms':>20} {'msg/s':>16} {'errors':>6} {'unquiet':>7}")
med = {}
for name, runs in rows.items():
    if not runs:
        print(f"{name:9} no successful runs"); continue
    cell = {}
    for key in ("p50_ms", "p95_ms", "msgs_per_s"):
        vals = [float(r[key]) for r in runs]
        med[name, key] = statistics.median(vals)
        digits = 1 if key == "msgs_per_s" else 0
        cell[key] = f"{med[name, key]:.1f} [{min(vals):.{digits}f}-{max(vals):.{digits}f}]"
    commits = ",".join(sorted({r["commit"].split("+")[0] for r in runs}))
    errors = sum(int(r["errors"]) for r in runs)
    unquiet = sum(r["quiet"] != "yes" for r in runs)
    print(f"{name:9} {commits:28} {len(runs):>4} {cell['p50_ms']:>20} {cell['p95_ms']:>20} "
          f"{cell['msgs_per_s']:>16} {errors:>6} {unquiet:>7}")
if all((n, "p95_ms") in med for n in ("old", "new")):
    print(f"new/old: p50 {med['new','p50_ms']/med['old','p50_ms']:.2f}, "
          f"p95 {med['new','p95_ms']/med['old','p95_ms']:.2f}, "
          f"msg/s {med['new','msgs_per_s']/med['old','msgs_per_s']:.2f} "
          "(latency < 1 and msg/s > 1: new is faster)")
if any(int(r["errors"]) for rs in rows.values() for r in rs):
    print("WARNING: some runs had errors; an error reply (the 'please call' fallback) is fast, "
          "so such a run's latencies are not comparable")
PY
