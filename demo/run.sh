#!/usr/bin/env bash
# The demo: two nodes on one machine, each with a plain file as its disk, mirroring one
# resource. Initial sync, writes through NBD on the Primary, the Primary's agent killed with
# SIGKILL, the Secondary promoted, every byte read back from it, then the old Primary
# returns and catches up. Needs root only to install missing packages with apt-get.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="${REPL_DEMO_DIR:-/tmp/repl-demo}"
port_alpha="${REPL_DEMO_PORT_ALPHA:-17788}"
port_beta="${REPL_DEMO_PORT_BETA:-17789}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need nbdcopy || missing+=(libnbd-bin)
need java || missing+=(openjdk-17-jdk-headless)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

say "building (./mvnw -q -DskipTests package)"
./mvnw -B -q -DskipTests package

declare -A pid=()
cleanup() {
  for n in "${!pid[@]}"; do
    kill "${pid[$n]}" 2>/dev/null && wait "${pid[$n]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

rm -rf "$work"; mkdir -p "$work"
for n in alpha beta; do
  mkdir -p "$work/$n"
  truncate -s 256M "$work/$n/disk.img"
done
for n in alpha beta; do
  # The same file on both nodes, as in production.
  cat > "$work/$n/r0.toml" <<TOML
protocol = "C"
[net]
shared-secret = "demo-secret"
connect-retry = "500ms"
[node.alpha]
address = "127.0.0.1:$port_alpha"
disk = "$work/alpha/disk.img"
nbd-socket = "$work/alpha/r0.nbd"
[node.beta]
address = "127.0.0.1:$port_beta"
disk = "$work/beta/disk.img"
nbd-socket = "$work/beta/r0.nbd"
TOML
done

ctl() { local n=$1; shift; bin/replctl --control-socket "$work/$n/ctl.sock" "$@"; }
start_agent() {
  local n=$1
  bin/repl-agent --config-dir "$work/$n" --node "$n" --control-socket "$work/$n/ctl.sock" \
    --state-dir "$work/$n/state" >>"$work/$n/agent.log" 2>&1 &
  pid[$n]=$!
  for _ in $(seq 1 300); do
    ctl "$n" status >/dev/null 2>&1 && return 0
    kill -0 "${pid[$n]}" 2>/dev/null || { cat "$work/$n/agent.log"; echo "agent $n failed to start" >&2; exit 1; }
    sleep 0.1
  done
  echo "agent $n did not answer" >&2; exit 1
}
uri() { echo "nbd+unix:///r0?socket=$work/$1/r0.nbd"; }

say "starting two agents, alpha and beta (logs: $work/*/agent.log)"
start_agent alpha
start_agent beta

say "new disks: create metadata on both, bring r0 up, wait for the peers to connect"
for n in alpha beta; do ctl "$n" create-md r0 >/dev/null; ctl "$n" up r0 >/dev/null; done
ctl alpha wait-connect r0 --timeout 60
ctl alpha status r0

say "alpha becomes Primary (--force: neither disk has data yet) and fully syncs beta"
ctl alpha primary --force r0 >/dev/null
ctl beta wait-sync r0 --timeout 300
ctl alpha status r0

size=$(nbdinfo --size "$(uri alpha)")
say "writing $size bytes of random data through alpha's NBD export"
head -c "$size" /dev/urandom > "$work/payload.bin"
nbdcopy --flush "$work/payload.bin" "$(uri alpha)"
want=$(sha256sum < "$work/payload.bin" | cut -d' ' -f1)
echo "written  $want"

say "beta, the Secondary, serves read-only meanwhile"
nbdinfo "$(uri beta)" | grep -E 'is_read_only'

say "SIGKILL to alpha's agent: the Primary is gone without a word"
kill -9 "${pid[alpha]}"; wait "${pid[alpha]}" 2>/dev/null || true; unset 'pid[alpha]'
for _ in $(seq 1 100); do
  ctl beta status --json r0 | grep -q '"connection" : "Connected"' || break
  sleep 0.1
done
ctl beta status r0

say "promote beta (no --force needed: its data is UpToDate) and read everything back"
# Refused (exit 11) only while beta still applies writes it received: retry briefly.
for _ in $(seq 1 100); do
  ctl beta primary r0 >/dev/null 2>"$work/promote.err" && break
  sleep 0.1
done
ctl beta status --json r0 | grep -q '"role" : "Primary"' || { cat "$work/promote.err"; exit 1; }
ctl beta status r0
got=$(nbdcopy "$(uri beta)" - | sha256sum | cut -d' ' -f1)
echo "written  $want"
echo "on beta  $got"
[ "$got" = "$want" ] || { echo "MISMATCH: acknowledged data lost" >&2; exit 1; }

say "writes go on at beta; alpha comes back, finds beta newer, and resyncs only what changed"
head -c 4M /dev/urandom > "$work/more.bin"
nbdcopy --flush "$work/more.bin" "$(uri beta)"
start_agent alpha
ctl alpha wait-sync r0 --timeout 300
ctl alpha status r0
data=$(ctl beta status --json r0 | sed -n 's/.*"sizeBytes" : \([0-9]*\).*/\1/p')
ha=$(head -c "$data" "$work/alpha/disk.img" | sha256sum | cut -d' ' -f1)
hb=$(head -c "$data" "$work/beta/disk.img" | sha256sum | cut -d' ' -f1)
echo "alpha's disk $ha"
echo "beta's disk  $hb"
[ "$ha" = "$hb" ] || { echo "MISMATCH between the replicas" >&2; exit 1; }

say "demo done: nothing acknowledged was lost, and the replicas are identical again"
