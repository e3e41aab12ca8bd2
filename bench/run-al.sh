#!/usr/bin/env bash
# Activity-log benchmark: 4 KiB random writes at QD32 through a protocol C pair over a span far
# beyond the activity log's reach (1,000 extents of 4 MiB), against the same pair writing inside
# it, with the log's misses and transactions per write; and fio on a file of the wide span, for
# the disk's own rate. Two fresh sparse files per pair, declared identical (no initial sync).
# See bench/README.md ("Activity-log harness").
#
# Usage: bench/run-al.sh            (from anywhere; about 3 minutes with the defaults)
# Knobs (environment):
#   BENCH_WIDE_GIB=64     the wide span (and file size)
#   BENCH_NARROW_GIB=2    the narrow span (and file size)
#   BENCH_RUNTIME=20      seconds measured per fio run (after 3 s of ramp)
#   BENCH_WORK=bench/work  where the files go (a real file system, not tmpfs)
#   BENCH_NO_BUILD=1      use the jars already built; BENCH_JARS=DIR take them from DIR
#   BENCH_OUT=bench/RESULTS.md  its section (between keep markers) is replaced; BENCH_OUT=- prints it only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
wide_gib="${BENCH_WIDE_GIB:-64}"
narrow_gib="${BENCH_NARROW_GIB:-2}"
runtime="${BENCH_RUNTIME:-20}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"
wd="$work/al-$(date +%Y%m%d-%H%M%S)"
bench_name=al-bench
. "$here/lib.sh"
bench_start fio curl python3

ctl() { "$dist/bin/replctl" --control-socket "$@"; }

# fio_iops URI_OR_FILE SPAN_GIB: 4 KiB random writes at QD32, IOPS.
fio_iops() {
  local target="$1" span="$2" engine
  if [[ "$target" == nbd* ]]; then engine=(--ioengine=nbd "--uri=$target"); else engine=(--ioengine=io_uring --direct=1 "--filename=$target"); fi
  fio --name=al --rw=randwrite --bs=4k --iodepth=32 --size="${span}g" --time_based --runtime="$runtime" \
      --ramp_time=3 "${engine[@]}" --output-format=json --output="$wd/fio-$span-$(basename "$target" | tr -c 'a-z0-9' _).json" \
    || die "fio on $target failed"
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' \
      "$wd/fio-$span-$(basename "$target" | tr -c 'a-z0-9' _).json"
}

# metric PORT NAME [LABEL]: one of r0's counters (the sample whose labels hold LABEL).
metric() {
  curl -sf "http://127.0.0.1:$1/metrics" | grep "^$2{" | grep -F "${3:-}" | awk '{print $2; exit}'
}

# pair_run GIB: a connected pair on two GIB-sized sparse files; prints "IOPS MISSES TRANSACTIONS WRITES".
pair_run() {
  local gib="$1" d="$wd/pair-$1" n m_a m_b iops writes
  m_a="$(free_port)"; m_b="$(free_port)"
  pair_config "$d"
  for n in alpha beta; do truncate -s "${gib}G" "$d/$n/disk.img"; done
  for n in alpha beta; do
    local m="$m_a"; [ "$n" = beta ] && m="$m_b"
    REPL_JAVA_OPTS="-Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError" \
      "$dist/bin/repl-agent" --config-dir "$d/$n/cfg" --node "$n" --control-socket "$d/$n/ctl.sock" \
      --state-dir "$d/$n/state" --run-dir "$d/$n" --metrics-listen "127.0.0.1:$m" >"$d/$n/agent.log" 2>&1 &
    pids+=("$!")
  done
  for n in alpha beta; do
    for _ in $(seq 1 150); do [ -S "$d/$n/ctl.sock" ] && break; sleep 0.2; done
    ctl "$d/$n/ctl.sock" create-md r0 >/dev/null || die "create-md on $n failed; see $d/$n"
    ctl "$d/$n/ctl.sock" up r0 >/dev/null || die "up on $n failed; see $d/$n"
  done
  ctl "$d/alpha/ctl.sock" wait-connect r0 --timeout 60 >/dev/null || die "the pair did not connect; see $d"
  ctl "$d/alpha/ctl.sock" new-current-uuid --clear-bitmap r0 >/dev/null || die "new-current-uuid failed"
  ctl "$d/alpha/ctl.sock" primary r0 >/dev/null || die "primary failed"
  for _ in $(seq 1 150); do [ -S "$d/alpha/r0.nbd" ] && break; sleep 0.2; done
  iops="$(fio_iops "nbd+unix:///r0?socket=$d/alpha/r0.nbd" "$gib")"
  writes="$(metric "$m_a" repl_nbd_requests_total 'op="write"')"
  echo "$iops $(metric "$m_a" repl_al_misses_total) $(metric "$m_a" repl_al_transactions_total) $writes"
  for n in alpha beta; do ctl "$d/$n/ctl.sock" down r0 >/dev/null 2>&1 || true; done
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
  rm -f "$d"/*/disk.img
}

read -r wide_iops wide_misses wide_tx wide_writes <<<"$(pair_run "$wide_gib")"
log "pair over $wide_gib GiB: $wide_iops IOPS, $wide_misses misses, $wide_tx transactions"
read -r narrow_iops narrow_misses narrow_tx narrow_writes <<<"$(pair_run "$narrow_gib")"
log "pair over $narrow_gib GiB: $narrow_iops IOPS, $narrow_misses misses, $narrow_tx transactions"
mkdir -p "$wd/raw"
truncate -s "${wide_gib}G" "$wd/raw/wide.img"
raw_iops="$(fio_iops "$wd/raw/wide.img" "$wide_gib")"
rm -f "$wd/raw/wide.img"

add "| A1 | protocol C pair, 4 KiB randwrite QD32 over $wide_gib GiB (IOPS) | $wide_iops | the same pair over $narrow_gib GiB: $narrow_iops | $(ratio "$wide_iops / $narrow_iops") | — |"
add "| A2 | the same over $wide_gib GiB, against fio io_uring on a $wide_gib GiB file (IOPS) | $wide_iops | $raw_iops | $(ratio "$wide_iops / $raw_iops") | — |"
add "| A3 | Primary's activity-log misses per write, over $wide_gib GiB | $(ratio "$wide_misses / max(1, $wide_writes)") | over $narrow_gib GiB: $(ratio "$narrow_misses / max(1, $narrow_writes)") | — | — |"
add "| A4 | misses per activity-log transaction, over $wide_gib GiB | $(ratio "$wide_misses / max(1, $wide_tx)") | 1 if each miss had its own | — | — |"
bench_publish al "Activity log: random writes beyond its reach" \
  "fresh sparse files, ${runtime} s per fio run after 3 s of ramp, counters from the Primary's /metrics over the whole run (ramp included)"
