#!/usr/bin/env bash
# The demo: two nodes on one machine, each with plain files as disks, mirroring two resources,
# and a witness beside them. r0 has no witness, r1 has one. Initial sync, writes through NBD on
# the Primary, then the Primary's agent killed with SIGKILL:
#   r0: the Secondary refuses to be promoted (exit 17): it cannot know whether the old Primary
#       is dead or still writing alone; the old Primary comes back, the pair resyncs and the
#       promotion goes through, with every byte.
#   r1: the witness agrees that the Secondary holds every acknowledged write, so it is promoted
#       without --force, and every byte is read back from it; the old Primary comes back and
#       catches up.
# Needs root only to install missing packages with apt-get. Runs again from scratch each time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="${REPL_DEMO_DIR:-/tmp/repl-demo}"
port_alpha="${REPL_DEMO_PORT_ALPHA:-17788}"     # r0's peer links; r1's are these plus 2
port_beta="${REPL_DEMO_PORT_BETA:-17789}"
port_witness="${REPL_DEMO_PORT_WITNESS:-17792}"
size="${REPL_DEMO_SIZE:-128M}"                 # each disk file

say() { printf '\n\033[1m== %s\033[0m  [%ds]\n' "$*" "$SECONDS"; }
note() { printf '   %s\n' "$@"; }
die() { printf '\n\033[1;31mDEMO FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

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

# Every process the demo starts, by name; all of them are stopped on exit, however it ends.
declare -A pid=()
stop() {
  local n=$1 p=${pid[$1]:-}
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "pid[$n]"
}
cleanup() {
  local rc=$?
  for n in "${!pid[@]}"; do stop "$n"; done
  [ "$rc" -eq 0 ] || echo "logs: $work/alpha/agent.log $work/beta/agent.log $work/witness/witness.log" >&2
}
trap cleanup EXIT

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or gives up with WHAT.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "no $what within $secs s"
    sleep 0.2
  done
}

rm -rf "$work"; mkdir -p "$work/witness"
for n in alpha beta; do
  mkdir -p "$work/$n"
  truncate -s "$size" "$work/$n/r0.img" "$work/$n/r1.img"
done
# resource_file RES PORT_ALPHA PORT_BETA [WITNESS]: the same file on both nodes (and the
# witness), as in production.
resource_file() {
  local res=$1 pa=$2 pb=$3 witness=${4:-}
  cat <<TOML
protocol = "C"
[net]
shared-secret = "demo-secret-$res"
connect-retry = "500ms"
TOML
  [ -z "$witness" ] || printf '[witness]\naddress = "%s"\n' "$witness"
  for n in alpha beta; do
    local p=$pa; [ "$n" = beta ] && p=$pb
    printf '[node.%s]\naddress = "127.0.0.1:%s"\ndisk = "%s"\nnbd-socket = "%s"\n' \
      "$n" "$p" "$work/$n/$res.img" "$work/$n/$res.nbd"
  done
}
resource_file r0 "$port_alpha" "$port_beta" > "$work/r0.toml"
resource_file r1 $((port_alpha + 2)) $((port_beta + 2)) "127.0.0.1:$port_witness" > "$work/r1.toml"
for d in alpha beta witness; do cp "$work/r0.toml" "$work/r1.toml" "$work/$d/"; done

ctl() { local n=$1; shift; bin/replctl --control-socket "$work/$n/ctl.sock" "$@"; }
# launch_agent NODE starts the agent; await_agent NODE waits until it answers (the JVMs of
# several agents start faster side by side); start_agent NODE does both.
launch_agent() {
  local n=$1
  bin/repl-agent --config-dir "$work/$n" --node "$n" --control-socket "$work/$n/ctl.sock" \
    --state-dir "$work/$n/state" >>"$work/$n/agent.log" 2>&1 &
  pid[$n]=$!
}
start_agent() { launch_agent "$1"; await_agent "$1"; }
await_agent() {
  local n=$1 deadline=$((SECONDS + 60))
  until ctl "$n" status >/dev/null 2>&1; do
    kill -0 "${pid[$n]}" 2>/dev/null || { cat "$work/$n/agent.log"; die "agent $n failed to start"; }
    [ "$SECONDS" -lt "$deadline" ] || die "agent $n did not answer within 60 s"
    sleep 0.1
  done
}
start_witness() {
  bin/repl-agent --witness --config-dir "$work/witness" --state-dir "$work/witness/state" \
    >>"$work/witness/witness.log" 2>&1 &
  pid[witness]=$!
  for _ in $(seq 1 300); do
    grep -q 'witness listening on' "$work/witness/witness.log" && return 0
    kill -0 "${pid[witness]}" 2>/dev/null || { cat "$work/witness/witness.log"; die "the witness failed to start"; }
    sleep 0.1
  done
  die "the witness did not listen within 30 s"
}
uri() { echo "nbd+unix:///$2?socket=$work/$1/$2.nbd"; }
# promote NODE RES [--force]: replctl primary, asked again while it is refused with 11 (the
# node is still applying the last writes it received, or still exchanging states); returns
# replctl's exit status, its stderr on stderr.
promote() {
  local n=$1 res=$2; shift 2
  local deadline=$((SECONDS + 30)) rc
  while :; do
    rc=0; ctl "$n" primary "$@" "$res" >/dev/null 2>"$work/primary.err" || rc=$?
    [ "$rc" -eq 11 ] && [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
  done
  cat "$work/primary.err" >&2
  return "$rc"
}
# is NODE RES PATTERN: the human status of RES on NODE matches the extended regex PATTERN.
is() { local out; out=$(ctl "$1" status "$2") && grep -Eq "$3" <<<"$out"; }
sha() { sha256sum | cut -d' ' -f1; }
data_bytes() { ctl "$1" status "$2" | sed -n 's/.* size:\([0-9]*\).*/\1/p'; }

say "three processes on this machine: agents alpha and beta, and a witness"
note "r0: a pair without a witness (fencing = \"outdate\", the default)" \
     "r1: the same pair with [witness] address = \"127.0.0.1:$port_witness\"" \
     "logs: $work/alpha/agent.log, $work/beta/agent.log, $work/witness/witness.log"
launch_agent alpha
launch_agent beta
start_witness
grep -E 'witness (r0|r1):|listening on' "$work/witness/witness.log" | sed 's/^[^ ]* [A-Z]* */   witness: /'
await_agent alpha
await_agent beta

say "new disks: create metadata on both nodes, bring r0 and r1 up, wait for the peers to connect"
for n in alpha beta; do
  for r in r0 r1; do ctl "$n" create-md "$r" >/dev/null; done
  ctl "$n" up all >/dev/null
done
for r in r0 r1; do ctl alpha wait-connect "$r" --timeout 60; done

say "alpha becomes Primary of both (--force: neither disk has data yet) and fully syncs beta"
for r in r0 r1; do ctl alpha primary --force "$r" >/dev/null; done
for r in r0 r1; do ctl beta wait-sync "$r" --timeout 300; done
# An in-sync pair reports its generation to the witness; only then can the witness vouch for
# either node.
wait_for 30 "witness record of the in-sync pair r1" is beta r1 'held by alpha and beta'
ctl alpha status

bytes=$(nbdinfo --size "$(uri alpha r0)")
say "writing $bytes bytes of random data to each resource through alpha's NBD exports"
for r in r0 r1; do
  head -c "$bytes" /dev/urandom > "$work/$r.payload"
  nbdcopy --flush "$work/$r.payload" "$(uri alpha "$r")"
  printf '   %s written  %s\n' "$r" "$(sha < "$work/$r.payload")"
done
want_r0=$(sha < "$work/r0.payload")
want_r1=$(sha < "$work/r1.payload")

say "beta, the Secondary, serves read-only meanwhile"
nbdinfo "$(uri beta r0)" | grep -E 'is_read_only'

say "SIGKILL to alpha's agent: the Primary of both resources is gone without a word"
kill -9 "${pid[alpha]}"; wait "${pid[alpha]}" 2>/dev/null || true; unset 'pid[alpha]'
for r in r0 r1; do wait_for 30 "loss of alpha noticed by beta on $r" is beta "$r" 'disk:Consistent'; done
ctl beta status

say "r0, no witness: promoting beta is refused"
rc=0; promote beta r0 2>"$work/refused.err" || rc=$?
sed 's/^/   | /' "$work/refused.err"
[ "$rc" -eq 17 ] || die "expected exit 17 from 'replctl primary r0' on beta, got $rc"
note "exit $rc. beta cannot tell a crashed alpha from an alpha that is alive behind a broken" \
     "network: under fencing \"outdate\" such an alpha goes on acknowledging writes alone (beta" \
     "made itself unpromotable so that it may). Promoting beta now could throw those writes away." \
     "So beta waits: for alpha to come back (below), or for an operator who knows alpha is dead" \
     "to say --force."
is beta r0 'role:Secondary' || die "beta became Primary of r0 although it refused"

say "r1, with a witness: the same promotion goes through, no --force"
# The witness confirms that beta holds every acknowledged write and records alpha as deposed.
for try in 1 2 3 4 5; do
  wait_for 30 "witness reachable from beta" is beta r1 'witness reachable'
  rc=0; promote beta r1 2>"$work/promote.err" || rc=$?
  [ "$rc" -ne 0 ] || break
  # beta's session with the witness may be in the middle of a reconnect, and then counts as
  # unreachable for a moment: ask again, as an operator would.
  if [ "$try" -lt 5 ] && grep -q 'witness is not reachable' "$work/promote.err"; then
    note "(asked while beta was reconnecting to the witness; asking again)"
    sleep 1
    continue
  fi
  cat "$work/promote.err" >&2
  die "beta was not promoted through the witness (exit $rc)"
done
ctl beta status r1
is beta r1 'record [0-9A-F]+ held by beta\)' || die "the witness does not name beta the only holder of r1"
grep -E 'witness r1: beta (PROMOTE|REPORT)' "$work/witness/witness.log" | tail -1 | sed 's/^[^ ]* [A-Z]* */   witness: /'
got_r1=$(nbdcopy "$(uri beta r1)" - | sha)
echo "   r1 written  $want_r1"
echo "   r1 on beta  $got_r1"
[ "$got_r1" = "$want_r1" ] || die "MISMATCH on r1: acknowledged data lost"

say "writes go on at beta on r1"
head -c 4M /dev/urandom > "$work/r1.more"
nbdcopy --flush "$work/r1.more" "$(uri beta r1)"
want_r1=$({ cat "$work/r1.more"; tail -c +$((4 * 1024 * 1024 + 1)) "$work/r1.payload"; } | sha)

say "alpha comes back: it reconnects on r0 and r1 and resyncs only what changed"
start_agent alpha
for r in r0 r1; do
  ctl alpha wait-connect "$r" --timeout 60
  ctl alpha wait-sync "$r" --timeout 300
done
wait_for 30 "r0 UpToDate on beta" is beta r0 'disk:UpToDate'
# In sync again, the pair reports to the witness, which vouches for both nodes once more.
wait_for 30 "witness record of the in-sync pair r1" is beta r1 'held by alpha and beta'
ctl alpha status

say "r0 is whole again: beta's promotion now needs no --force"
promote beta r0 || die "beta was not promoted on r0 after alpha's return"
ctl beta status r0
got_r0=$(nbdcopy "$(uri beta r0)" - | sha)
echo "   r0 written  $want_r0"
echo "   r0 on beta  $got_r0"
[ "$got_r0" = "$want_r0" ] || die "MISMATCH on r0: acknowledged data lost"

say "both replicas of both resources are identical, and hold what was written"
got_r1=$(nbdcopy "$(uri beta r1)" - | sha)
[ "$got_r1" = "$want_r1" ] || die "MISMATCH on r1 after alpha's return: beta holds $got_r1, expected $want_r1"
for r in r0 r1; do
  data=$(data_bytes beta "$r")
  ha=$(head -c "$data" "$work/alpha/$r.img" | sha)
  hb=$(head -c "$data" "$work/beta/$r.img" | sha)
  echo "   $r alpha's disk $ha"
  echo "   $r beta's disk  $hb"
  [ "$ha" = "$hb" ] || die "MISMATCH between the replicas of $r"
done

say "demo done: without a witness the crash needed alpha back (or an operator's --force);"
note "with one, beta took over on its own. Nothing acknowledged was lost, and the replicas are" \
     "identical again."
