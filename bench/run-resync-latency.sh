#!/usr/bin/env bash
# Application write latency during a resync: fio 4 KiB random writes at QD1 and QD4 against a
# Primary whose peer is in sync (idle), and the same while its peer is SyncTarget of a full
# resync (after `invalidate`), once with the resync rate controller (the defaults) and once
# with it off (c-plan-ahead = "0", the resync at resync-rate-max: only c-fill-target bounds it).
# Writes its tables into a section of bench/RESULTS.md. See bench/README.md ("Write latency
# during a resync").
#
# Usage: bench/run-resync-latency.sh      (about 3 minutes with the defaults)
# Knobs (environment):
#   BENCH_SIZE_MIB=2048   size of each backing file; the fixed-rate resync must outlast a run
#   BENCH_RUNTIME=4       seconds measured per fio run
#   BENCH_RESYNC_MODES="controller fixed"
#   BENCH_FILL=""         a c-fill-target for both modes (default: the default, 8M)
#   BENCH_WORK=bench/work, BENCH_NO_BUILD=1, BENCH_OUT=bench/RESULTS.md, BENCH_NOTE="..."
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
size_mib="${BENCH_SIZE_MIB:-2048}"
runtime="${BENCH_RUNTIME:-4}"
modes="${BENCH_RESYNC_MODES:-controller fixed}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"

wd="$work/resync-latency-$(date -u +%Y%m%dT%H%M%SZ)"
bench_name=resync-latency
. "$here/lib.sh"
bench_start fio nbdinfo python3
ctl() { "$dist/bin/replctl" --control-socket "$wd/$1/ctl.sock" "${@:2}"; }
field() { ctl "$1" status --json | python3 -c "import json,sys; r=json.load(sys.stdin)['resources'][0]; print($2)"; }
wait_until() { # NODE PYTHON-EXPR VALUE WHAT
  local i
  for i in $(seq 1 600); do
    [ "$(field "$1" "$2" 2>/dev/null || true)" = "$3" ] && return 0
    sleep 0.2
  done
  die "$4"
}

for n in alpha beta; do
  mkdir -p "$wd/$n"
  fio --name=precondition --filename="$wd/$n/disk.img" --size="${size_mib}M" --rw=write --bs=1M \
      --ioengine=io_uring --direct=1 --iodepth=8 --output="$wd/$n/precondition.log" >/dev/null 2>&1 \
    || die "preconditioning $n failed"
done

# start_pair MODE: two agents over loopback with MODE's rate keys, in sync, alpha Primary.
start_pair() {
  local mode="$1" rate="" port_a port_b n i
  [ "$mode" = fixed ] && rate='c-plan-ahead = "0"'
  [ -n "${BENCH_FILL:-}" ] && rate="$rate"$'\n'"c-fill-target = \"$BENCH_FILL\""
  port_a="$(free_port)"
  port_b="$(free_port)"
  for n in alpha beta; do
    mkdir -p "$wd/$n/cfg-$mode" "$wd/$n/state-$mode"
    cat >"$wd/$n/cfg-$mode/r0.toml" <<EOF
protocol = "C"
[net]
shared-secret = "bench"
[disk]
$rate
[node.alpha]
address = "127.0.0.1:$port_a"
disk = "$wd/alpha/disk.img"
nbd-socket = "$wd/alpha/r0.nbd"
[node.beta]
address = "127.0.0.1:$port_b"
disk = "$wd/beta/disk.img"
nbd-socket = "$wd/beta/r0.nbd"
EOF
    "$dist/bin/repl-agent" --config-dir "$wd/$n/cfg-$mode" --node "$n" --control-socket "$wd/$n/ctl.sock" \
        --state-dir "$wd/$n/state-$mode" --run-dir "$wd/$n" >"$wd/$n/agent-$mode.log" 2>&1 &
    pids+=("$!")
    echo "$!" >"$wd/$n/pid"
  done
  for n in alpha beta; do
    for i in $(seq 1 150); do [ -S "$wd/$n/ctl.sock" ] && break; sleep 0.2; done
    # From the second mode on the agent brings r0 up from its old metadata: fresh metadata instead.
    ctl "$n" down r0 >/dev/null 2>&1 || true
    ctl "$n" create-md --force r0 >/dev/null 2>&1 || die "$mode: create-md on $n failed"
    ctl "$n" up r0 >/dev/null 2>&1 || die "$mode: up on $n failed; see $wd/$n/agent-$mode.log"
  done
  for n in alpha beta; do ctl "$n" wait-connect r0 --timeout 60 >/dev/null || die "$mode: $n did not connect"; done
  # Identical preconditioned files: no initial sync needed, both UpToDate at once.
  ctl alpha new-current-uuid --clear-bitmap r0 >/dev/null || die "$mode: clear-bitmap failed"
  wait_until beta 'r["disk"]' UpToDate "$mode: beta not UpToDate after clear-bitmap"
  ctl alpha primary r0 >/dev/null || die "$mode: primary failed"
  uri="nbd+unix:///r0?socket=$wd/alpha/r0.nbd"
  for i in $(seq 1 150); do nbdinfo --size "$uri" >/dev/null 2>&1 && break; sleep 0.2; done
  size=$(( $(nbdinfo --size "$uri") / 1048576 * 1048576 ))
  log "$mode: pair up, in sync, alpha Primary, export $size bytes"
}

stop_pair() {
  local n
  for n in alpha beta; do kill "$(cat "$wd/$n/pid")" 2>/dev/null || true; done
  for n in alpha beta; do wait "$(cat "$wd/$n/pid")" 2>/dev/null || true; rm -f "$wd/$n/ctl.sock"; done
}

# run MODE PHASE QD: one fio run; during a resync also beta's sync status before and after.
run() {
  local mode="$1" phase="$2" qd="$3" name="$1__$2__qd$3"
  # The resync of the run before ends first (at full speed once fio stopped).
  ctl beta wait-sync r0 --timeout 600 >/dev/null || die "$mode: the previous resync did not end"
  if [ "$phase" = resync ]; then
    ctl beta invalidate r0 >/dev/null || die "$mode: invalidate failed"
    wait_until beta 'r["replication"]' SyncTarget "$mode: beta did not become SyncTarget"
    ctl beta status --json >"$wd/$name.before.json"
  fi
  fio --name="$name" --ioengine=nbd --uri="$uri" --rw=randwrite --bs=4k --iodepth="$qd" --size="$size" \
      --time_based --runtime="$runtime" --norandommap --randrepeat=0 --percentile_list=50:99:99.9 \
      --output-format=json --output="$wd/$name.json" >/dev/null 2>&1 || die "fio $name failed"
  [ "$phase" = resync ] && ctl beta status --json >"$wd/$name.after.json"
  log "  $name done"
}

for mode in $modes; do
  start_pair "$mode"
  for qd in 1 4; do
    run "$mode" idle "$qd"
    run "$mode" resync "$qd"
  done
  stop_pair
done

python3 - "$wd" "$out" "$runtime" "$size_mib" "${BENCH_NOTE:-}" "${BENCH_FILL:-8M (default)}" "$here/e2e" <<'EOF'
import json, os, re, sys, subprocess, datetime
wd, out, runtime, size_mib, note, fill, lib = sys.argv[1:8]
sys.path.insert(0, lib)
from sections import replace_section
rows = []
for f in sorted(os.listdir(wd)):
    m = re.match(r"(\w+)__(\w+)__qd(\d+)\.json$", f)
    if not m:
        continue
    mode, phase, qd = m.groups()
    job = json.load(open(os.path.join(wd, f)))["jobs"][0]["write"]
    p = job["clat_ns"]["percentile"]
    us = lambda k: p[k] / 1000
    sync = ""
    if phase == "resync":
        before = json.load(open(os.path.join(wd, f.replace(".json", ".before.json"))))["resources"][0]
        after = json.load(open(os.path.join(wd, f.replace(".json", ".after.json"))))["resources"][0]
        s = after.get("sync") or {}
        still = after["replication"] == "SyncTarget"
        done = (s.get("percent", 100.0) - ((before.get("sync") or {}).get("percent", 0.0)))
        mib = lambda v: "-" if v is None else f"{v / 1048576:.1f}"
        sync = (f"{'yes' if still else 'no, ended'} | {done:.1f} | {mib(s.get('bytesPerSecond'))} | "
                f"{mib(s.get('controllerBytesPerSecond'))} | {mib(s.get('inFlightBytes'))}")
    else:
        sync = "- | - | - | - | -"
    rows.append((mode, qd, phase, job["iops"], us("50.000000"), us("99.000000"), us("99.900000"), sync))
git = subprocess.run(["git", "-C", os.path.dirname(out), "rev-parse", "--short", "HEAD"], capture_output=True,
                     text=True).stdout.strip()
lines = ["## Write latency during a resync", "",
         f"{datetime.datetime.utcnow():%Y-%m-%d %H:%MZ}, git {git}, {size_mib} MiB volume, protocol C, "
         f"{runtime} s per fio run, c-fill-target {fill}. {note}".rstrip(), "",
         "fio 4 KiB randwrite through the Primary's export; `idle`: the peer in sync; `resync`: the peer "
         "SyncTarget of a full resync started just before (`invalidate`). `controller`: the defaults "
         "(floor 4M/s while the application writes); `fixed`: `c-plan-ahead = \"0\"`, the resync at "
         "`resync-rate-max`, bounded only by `c-fill-target`. Sync columns: still SyncTarget at the end, "
         "points of the volume done between the status snapshots around the run (they include replctl's start, with no writes, so more than the run's share), beta's measured rate, controller rate and bytes in "
         "flight at the end (MiB, MiB/s).", "",
         "| mode | QD | phase | IOPS | p50 µs | p99 µs | p99.9 µs | still syncing | % done | rate | controller | in flight |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
order = {"idle": 0, "resync": 1}
for r in sorted(rows, key=lambda r: (r[0], int(r[1]), order[r[2]])):
    lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]:.0f} | {r[7]} |")
# Between keep markers, which run-e2e.sh carries over when it rewrites the file.
replace_section(out, "latency", lines)
print("\n".join(lines))
EOF
log "wrote $out (raw fio output in $wd)"
