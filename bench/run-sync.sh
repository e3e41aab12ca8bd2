#!/usr/bin/env bash
# Resync benchmark: P5 (full initial sync against a plain O_DIRECT copy), P7 (checksum resync
# after invalidate on identical replicas) and P8 (LZ4 on the wire for text-like writes), each
# measured side by side in one run on two real agents over loopback TCP.
# See bench/README.md ("Resync harness") for what each number means.
#
# Usage: bench/run-sync.sh          (from anywhere; about 3 minutes with the defaults)
# Knobs (environment):
#   BENCH_SIZE_MIB=1024   size of each backing file
#   BENCH_P8_MIB=512      MiB of text-like data written for P8 (with and without LZ4)
#   BENCH_P8_FILE=PATH    write this file for P8 instead of the generated text (a real corpus)
#   BENCH_PARTS="p5 p7 p8"  which parts to run
#   BENCH_WORK=bench/work  where backing files go (a real file system, not tmpfs)
#   BENCH_NO_BUILD=1      use the jars already built
#   BENCH_AGENT_OPTS="..."  the agents' JVM options (e.g. add -XX:StartFlightRecording=...)
#   BENCH_OUT=bench/RESULTS.md  its section (between keep markers) is replaced; BENCH_OUT=- prints it only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
size_mib="${BENCH_SIZE_MIB:-1024}"
p8_mib="${BENCH_P8_MIB:-512}"
parts="${BENCH_PARTS:-p5 p7 p8}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"
wd="$work/resync-$(date +%Y%m%d-%H%M%S)"
size_bytes=$(( size_mib * 1024 * 1024 ))
bench_name=resync-bench
. "$here/lib.sh"
bench_start fio nbdinfo qemu-img python3 dd

ctl() { "$dist/bin/replctl" --control-socket "$@"; }
now() { date +%s.%N; }
# json DIR EXPR: a field of r0's status on the node in DIR (EXPR indexes r, the resource).
# logtime FILE PATTERN: the agent-log timestamp (seconds) of the last line matching PATTERN.
logtime() {
  grep -- "$2" "$1" | tail -1 | cut -d' ' -f1 | python3 -c 'import sys, datetime
t = sys.stdin.read().strip().rstrip("Z")
d, frac = (t.split(".") + ["0"])[:2]
print(datetime.datetime.fromisoformat(d).replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac))'
}
json() {
  ctl "$1/ctl.sock" status --json | python3 -c "import json,sys; r=json.load(sys.stdin)['resources'][0]; print($2)"
}

# precondition FILE: every block written once with incompressible data.
precondition() {
  fio --name=precondition --filename="$1" --size="$size_bytes" --rw=write --bs=1M --ioengine=io_uring \
      --direct=1 --iodepth=8 --refill_buffers=1 --randseed="$2" --output=/dev/null >/dev/null 2>&1 \
    || die "preconditioning $1 failed"
}

# pair ID "DISK LINES" "NET LINES": two agents, create-md, up, connected. Files must exist.
pair() {
  local id="$1" disk_lines="$2" net_lines="$3" d="$wd/$1" n i
  pair_config "$d" "$net_lines" "$disk_lines"
  for n in alpha beta; do
    REPL_JAVA_OPTS="${BENCH_AGENT_OPTS:--Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m}" \
      "$dist/bin/repl-agent" --config-dir "$d/$n/cfg" --node "$n" --control-socket "$d/$n/ctl.sock" \
      --state-dir "$d/$n/state" --run-dir "$d/$n" >"$d/$n/agent.log" 2>&1 &
    pids+=("$!")
  done
  for n in alpha beta; do
    for i in $(seq 1 150); do [ -S "$d/$n/ctl.sock" ] && break; sleep 0.2; done
    [ -S "$d/$n/ctl.sock" ] || die "$id: agent $n has no control socket; see $d/$n/agent.log"
  done
  for n in alpha beta; do
    ctl "$d/$n/ctl.sock" create-md r0 >/dev/null || die "$id: create-md on $n"
    ctl "$d/$n/ctl.sock" up r0 >/dev/null || die "$id: up on $n"
  done
  for n in alpha beta; do
    ctl "$d/$n/ctl.sock" wait-connect r0 --timeout 60 >/dev/null || die "$id: $n did not connect"
  done
}

wait_synced() {
  local d="$1" i
  ctl "$d/beta/ctl.sock" wait-sync r0 --timeout 900 >/dev/null || die "sync did not finish; see $d/*/agent.log"
  for i in $(seq 1 100); do
    [ "$(json "$d/beta" 'r["disk"]')" = UpToDate ] && [ "$(json "$d/alpha" 'r["disk"]')" = UpToDate ] && return 0
    sleep 0.1
  done
  die "not UpToDate after wait-sync; see $d/*/agent.log"
}


# --- P5 and P7: full initial sync, plain copy, then csum resync of the identical result ------
if [[ " $parts " == *" p5 "* || " $parts " == *" p7 "* ]]; then
  d="$wd/sync"
  mkdir -p "$d/alpha" "$d/beta"
  precondition "$d/alpha/disk.img" 1
  precondition "$d/beta/disk.img" 2
  pair sync "" ""
  bytes="$(json "$d/alpha" 'r["sizeBytes"]')"
  ctl "$d/alpha/ctl.sock" primary --force r0 >/dev/null
  wait_synced "$d"
  # From the promotion to the end of the resync, by the agents' own clocks (one machine), so
  # that the start of replctl's JVM is not counted.
  t0="$(logtime "$d/alpha/agent.log" "promoted with --force")"
  t1="$(logtime "$d/beta/agent.log" "resync as target finished")"
  sync_s="$(ratio "$t1 - $t0")"
  sent="$(json "$d/alpha" 'r["traffic"]["resyncBytesOut"]')"
  sync
  t0="$(now)"
  dd if="$d/alpha/disk.img" of="$d/copy.img" bs=1M iflag=direct oflag=direct conv=fsync status=none
  t1="$(now)"
  rm -f "$d/copy.img"
  copy_s="$(ratio "$t1 - $t0")"
  add "| P5 | full initial sync, $((bytes >> 20)) MiB of random data | ${sync_s} s, $(ratio "$bytes / $sync_s / 1e6") MB/s; resync bytes sent $(ratio "$sent / $bytes") of the volume | plain copy (dd O_DIRECT 1 MiB) ${copy_s} s, $(ratio "$size_bytes / $copy_s / 1e6") MB/s | sync rate / copy rate = **$(ratio "($bytes / $sync_s) / ($size_bytes / $copy_s)")** | ≥ 0.8 |"

  if [[ " $parts " == *" p7 "* ]]; then
    # The same pair, now identical, with csums on: down, edit, up, then invalidate beta.
    # pair_config writes a [disk] table only when it has lines for it: add one if it is missing,
    # and make sure the key landed (without it, P7 measured a plain full resync).
    for n in alpha beta; do
      ctl "$d/$n/ctl.sock" down r0 >/dev/null
      if grep -q '^\[disk\]$' "$d/$n/cfg/r0.toml"; then
        sed -i 's/^\[disk\]$/[disk]\ncsums = true/' "$d/$n/cfg/r0.toml"
      else
        printf '[disk]\ncsums = true\n' >>"$d/$n/cfg/r0.toml"
      fi
      grep -q '^csums = true$' "$d/$n/cfg/r0.toml" || die "could not turn csums on in $d/$n/cfg/r0.toml"
    done
    for n in alpha beta; do ctl "$d/$n/ctl.sock" up r0 >/dev/null; done
    for n in alpha beta; do ctl "$d/$n/ctl.sock" wait-connect r0 --timeout 60 >/dev/null; done
    wait_synced "$d"
    ctl "$d/alpha/ctl.sock" primary r0 >/dev/null
    a0="$(json "$d/alpha" 'r["traffic"]["resyncBytesOut"]')"
    b0="$(json "$d/beta" 'r["traffic"]["resyncBytesOut"]')"
    ctl "$d/beta/ctl.sock" invalidate r0 >/dev/null
    wait_synced "$d"
    t0="$(logtime "$d/beta/agent.log" "event before-resync-target")"
    t1="$(logtime "$d/beta/agent.log" "resync as target finished")"
    a1="$(json "$d/alpha" 'r["traffic"]["resyncBytesOut"]')"
    b1="$(json "$d/beta" 'r["traffic"]["resyncBytesOut"]')"
    csum_s="$(ratio "$t1 - $t0")"
    add "| P7 | invalidate with csums on identical replicas, $((bytes >> 20)) MiB | ${csum_s} s ($(ratio "$csum_s / $sync_s") of the full sync); the source sent $((a1 - a0)) bytes, the target $((b1 - b0)) | — | bytes sent / volume = **$(ratio "($a1 - $a0) / $bytes")** (both ways $(ratio "($a1 - $a0 + $b1 - $b0) / $bytes")) | ≤ 0.01 |"
  fi
  for n in alpha beta; do ctl "$d/$n/ctl.sock" down r0 >/dev/null || true; done
  find "$d" -name '*.img' -delete
fi

# --- P8: text-like writes with LZ4 and without -------------------------------------------
if [[ " $parts " == *" p8 "* ]]; then
  text="${BENCH_P8_FILE:-$wd/text.bin}"
  [ -n "${BENCH_P8_FILE:-}" ] || {
  # Text-like: log lines, JSON records and prose, as a volume of logs and documents holds
  # (bench/README.md, "P8 data"; lz4 -1 takes it to about 0.3 at 64 KiB to 1 MiB blocks).
  python3 - "$text" "$p8_mib" <<'PY'
import random, sys, json
# Text-like: what a volume holding logs, JSON documents and prose carries. Seeded, so every
# run writes the same bytes. Application log lines (increasing timestamps, levels, threads,
# loggers, message templates with ids and durations), JSON records (fields repeat, values
# vary) and prose whose words follow a Zipf-like law, as real text does.
random.seed(8)
levels = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2 + ["ERROR"]
loggers = ["o.e.orders.OrderService", "o.e.orders.PaymentClient", "o.e.http.AccessLog", "o.e.db.Pool",
           "o.e.cache.Evictor", "o.e.auth.TokenFilter", "o.e.jobs.Scheduler", "o.e.mail.Outbox"]
templates = [
    "order {a} for user {b} accepted in {c} ms",
    "payment {a} authorised, amount {c}.{d:02d} EUR, card ending {e:04d}",
    "GET /api/v1/orders/{a} status=200 bytes={f} latency_ms={c} user_id={b}",
    "POST /api/v1/carts/{b}/items status=201 bytes={f} latency_ms={c}",
    "connection pool: {d} active, {e} idle, waited {c} ms",
    "evicted {f} entries from cache 'sessions' ({c} ms)",
    "token for user {b} expires in {f} s",
    "job reconcile-{d} finished: {f} rows checked, {e} updated",
    "mail {a} to user {b} queued, {d} in outbox",
    "slow query on table orders took {c} ms (rows={f})",
]
words = ("the of and to a in is that for it as was with be by on not he this are or his from at which "
         "but have an they you were her she there been one all we their has would when if so no will "
         "more out up into do any your what some can time only other new could these two may first then "
         "do like over such our man me even most made after also did many before must through back "
         "years where much your way well down should because each just those people how too little state "
         "good very make world still own see men work long get here between both life being under never "
         "day same another know while last might us great old year off come since against go came right "
         "used take three system program replica disk volume write block node primary secondary network").split()
weights = [1.0 / (i + 1) for i in range(len(words))]
t = 1764633600.0
def ts():
    global t
    t += random.expovariate(200.0)
    s = int(t)
    return "2026-12-02T%02d:%02d:%02d.%03dZ" % ((s // 3600) % 24, (s // 60) % 60, s % 60, int((t - s) * 1000))
def nums():
    return dict(a=random.randint(100000, 999999), b=random.randint(1000, 99999), c=random.randint(0, 900),
                d=random.randint(0, 99), e=random.randint(0, 9999), f=random.randint(0, 65535))
def log_lines(n):
    return "".join("%s %-5s [worker-%d] %s - %s\n" % (ts(), random.choice(levels), random.randint(1, 16),
                   random.choice(loggers), random.choice(templates).format(**nums())) for _ in range(n))
def json_lines(n):
    out = []
    for _ in range(n):
        x = nums()
        out.append(json.dumps({"id": x["a"], "user": "u%d" % x["b"], "created": ts(),
            "status": random.choice(["new", "paid", "shipped", "delivered", "cancelled"]),
            "items": [{"sku": "SKU-%05d" % random.randint(0, 20000), "qty": random.randint(1, 5),
                       "price": round(random.uniform(1, 200), 2)} for _ in range(random.randint(1, 4))],
            "total": round(random.uniform(1, 800), 2), "currency": "EUR"}) + "\n")
    return "".join(out)
def prose(n):
    return " ".join(random.choices(words, weights, k=n)) + ".\n"
with open(sys.argv[1], "wb") as f:
    left = int(sys.argv[2]) << 20
    while left > 0:
        kind = random.random()
        part = (log_lines(400) if kind < 0.5 else json_lines(150) if kind < 0.8 else prose(4000)).encode()
        part = part[:left]
        f.write(part)
        left -= len(part)
PY
  }
  p8_mib="$(ratio "$(stat -c %s "$text") / 1048576")"
  p8_what="text-like data (logs, JSON, prose)"
  [ -z "${BENCH_P8_FILE:-}" ] || p8_what="$(basename "$text")"
  # What LZ4 itself makes of the same bytes, in the 1 MiB blocks the agent sends at most.
  p8_cli="n/a"
  if command -v lz4 >/dev/null; then
    p8_cli="$(ratio "$(lz4 -q -c -1 -B1048576 "$text" | wc -c) / $(stat -c %s "$text")")"
  fi
  for mode in none lz4; do
    d="$wd/p8-$mode"
    mkdir -p "$d/alpha" "$d/beta"
    for n in alpha beta; do truncate -s "$size_bytes" "$d/$n/disk.img"; done
    pair "p8-$mode" "" "compression = \"$mode\""
    ctl "$d/alpha/ctl.sock" new-current-uuid --clear-bitmap r0 >/dev/null
    wait_synced "$d"
    ctl "$d/alpha/ctl.sock" primary r0 >/dev/null
    w0="$(json "$d/alpha" 'r["traffic"]["bytesOut"]')"
    p0="$(json "$d/alpha" 'r["traffic"]["blockBytesOut"]')"
    t0="$(now)"
    qemu-img convert -n -t none -f raw -O raw "$text" "nbd+unix:///r0?socket=$d/alpha/r0.nbd"
    t1="$(now)"
    w1="$(json "$d/alpha" 'r["traffic"]["bytesOut"]')"
    p1="$(json "$d/alpha" 'r["traffic"]["blockBytesOut"]')"
    secs="$(ratio "$t1 - $t0")"
    eval "p8_${mode}_wire=$(ratio "($w1 - $w0) / ($p1 - $p0)")"
    eval "p8_${mode}_mbs=$(ratio "$p8_mib * 1048576 / $secs / 1e6")"
    for n in alpha beta; do ctl "$d/$n/ctl.sock" down r0 >/dev/null || true; done
    find "$d" -name '*.img' -delete
  done
  add "| P8 | ${p8_mib} MiB of ${p8_what} written through the Primary (qemu-img convert, protocol C) | LZ4: wire / payload ${p8_lz4_wire}, ${p8_lz4_mbs} MB/s (lz4 -1 on the file, 1 MiB blocks: ${p8_cli}) | none: wire / payload ${p8_none_wire}, ${p8_none_mbs} MB/s | wire / payload with LZ4 = **${p8_lz4_wire}**; throughput LZ4 / none = **$(ratio "$p8_lz4_mbs / $p8_none_mbs")** | ≤ 0.5; ≥ 1.0 |"
fi

bench_publish sync "Resync (P5, P7, P8)" "volumes of ${size_mib} MiB"
