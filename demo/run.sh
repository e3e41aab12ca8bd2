#!/usr/bin/env bash
# The demo: builds repl, starts an agent serving a volume kept on a plain file, writes data
# through NBD with a real client, stops and restarts the agent, and reads it all back.
# Needs root only to install missing packages (libnbd-bin) with apt-get.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="${REPL_DEMO_DIR:-/tmp/repl-demo}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nbdinfo || ! need nbdcopy; then
  say "installing libnbd-bin (nbdinfo, nbdcopy)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends libnbd-bin
fi
if ! need java; then
  say "installing a Java 17 runtime"
  apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless
fi

say "building (./mvnw -q -DskipTests package)"
./mvnw -B -q -DskipTests package

agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

rm -rf "$work"; mkdir -p "$work/conf"
truncate -s 132M "$work/alpha-disk.img"
cat > "$work/conf/r0.toml" <<TOML
# A standalone volume: one node, its data on a plain file, metadata at the file's tail.
[node.alpha]
disk = "$work/alpha-disk.img"
nbd-socket = "$work/r0.nbd"
TOML
ctl() { bin/replctl --control-socket "$work/ctl.sock" "$@"; }
start_agent() {
  bin/repl-agent --config-dir "$work/conf" --node alpha --control-socket "$work/ctl.sock" \
    --state-dir "$work/state" >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 300); do
    ctl status >/dev/null 2>&1 && return 0
    kill -0 "$agent_pid" 2>/dev/null || { cat "$work/agent.log"; echo "agent failed to start" >&2; exit 1; }
    sleep 0.1
  done
  echo "agent did not answer" >&2; exit 1
}

say "starting the agent (log: $work/agent.log)"
start_agent
ctl status || true

say "the new disk has no metadata yet: create it, then bring the resource up"
ctl create-md r0 | head -8
ctl up r0
uri="nbd+unix:///r0?socket=$work/r0.nbd"

say "what an NBD client sees: nbdinfo $uri"
nbdinfo "$uri" | sed -n '1,12p'

size=$(nbdinfo --size "$uri")
say "writing $size bytes of random data (the whole volume) through NBD with nbdcopy"
head -c "$size" /dev/urandom > "$work/payload.bin"
nbdcopy --flush "$work/payload.bin" "$uri"
want=$(sha256sum < "$work/payload.bin" | cut -d' ' -f1)

say "reading it back through NBD"
nbdcopy "$uri" - | sha256sum | cut -d' ' -f1 > "$work/got1"
echo "sent     $want"; echo "received $(cat "$work/got1")"
[ "$(cat "$work/got1")" = "$want" ] || { echo "MISMATCH" >&2; exit 1; }

say "stopping the agent (SIGTERM: it flushes and releases the disk) and starting it again"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
start_agent
ctl status --json | head -20

say "reading the data back after the restart"
got=$(nbdcopy "$uri" - | sha256sum | cut -d' ' -f1)
echo "after restart $got"
[ "$got" = "$want" ] || { echo "MISMATCH after restart" >&2; exit 1; }

say "demo done: every byte written through NBD came back, before and after a restart"
