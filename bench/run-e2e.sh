#!/usr/bin/env bash
# End-to-end benchmark: fio against repl (io_uring, libaio and FileChannel engines), qemu-nbd, the raw
# file, two standalone agents driven at once and two replicated agents (protocol A, B, C), side by
# side in one run, then bench/RESULTS.md and bench/results.png.
# See bench/README.md ("End-to-end harness") for what each row means.
#
# Usage: bench/run-e2e.sh            (from anywhere; about 30 minutes with the defaults)
# Knobs (environment):
#   BENCH_SIZE_GIB=2      size of each backing file
#   BENCH_RUNTIME=15      seconds measured per fio run
#   BENCH_RAMP=3          seconds of ramp before measuring
#   BENCH_ROUNDS=2        every (workload, target) pair runs this many times, order reversed
#                         on odd rounds so drift hits every target alike
#   BENCH_TARGETS="repl-uring repl-aio repl-fc qemu-nbd raw-uring raw-two-writers repl-two-alone repl-A repl-B repl-C"
#                         repl-A/B/C: two agents over loopback, protocol A/B/C, internal
#                         metadata; repl-two-alone: two standalone agents on two files, fio
#                         driving both at once (P3's bound); raw-two-writers: fio io_uring on
#                         two files at once (P3's reference at 1 MiB)
#   BENCH_WORKLOADS="randwrite-4k-qd32 randread-4k-qd32 randwrite-4k-qd1-sync fua-4k-qd1 write-1m-qd8"
#                         fua-4k-qd1 is not fio: bench/e2e/fua_qd1.py sends QD1 4 KiB writes
#                         with NBD's FUA flag through libnbd (P4); only single-export NBD
#                         targets run it
#   BENCH_REPL_WORKLOADS="randwrite-4k-qd32 randwrite-4k-qd1-sync fua-4k-qd1 write-1m-qd8"
#                         the workloads the replicated targets run (if in BENCH_WORKLOADS)
#   BENCH_TWO_ALONE_WORKLOADS="randwrite-4k-qd32 write-1m-qd8"   the workloads repl-two-alone runs
#   BENCH_TWO_WRITERS_WORKLOADS="write-1m-qd8"   the workloads raw-two-writers runs
#   BENCH_WORK=bench/work  where backing files and raw fio output go (real file system, not tmpfs)
#   BENCH_NOTE="..."      one line recorded with this run in the history of RESULTS.md
#   BENCH_JFR=DIR         record a JFR profile (settings=profile) of each repl agent into DIR
#   BENCH_NO_BUILD=1      use the jars already built
#   BENCH_OUT=bench/RESULTS.md, BENCH_PNG=bench/results.png
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
size_gib="${BENCH_SIZE_GIB:-2}"
runtime="${BENCH_RUNTIME:-15}"
ramp="${BENCH_RAMP:-3}"
rounds="${BENCH_ROUNDS:-2}"
targets="${BENCH_TARGETS:-repl-uring repl-aio repl-fc qemu-nbd raw-uring raw-two-writers repl-two-alone repl-A repl-B repl-C}"
workloads="${BENCH_WORKLOADS:-randwrite-4k-qd32 randread-4k-qd32 randwrite-4k-qd1-sync fua-4k-qd1 write-1m-qd8}"
repl_workloads="${BENCH_REPL_WORKLOADS:-randwrite-4k-qd32 randwrite-4k-qd1-sync fua-4k-qd1 write-1m-qd8}"
two_alone_workloads="${BENCH_TWO_ALONE_WORKLOADS:-randwrite-4k-qd32 write-1m-qd8}"
two_writers_workloads="${BENCH_TWO_WRITERS_WORKLOADS:-write-1m-qd8}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"
png="${BENCH_PNG:-$here/results.png}"

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The two-job targets run two fio jobs side by side; fua-4k-qd1 is one libnbd client on one
# export, so it is not one of their workloads.
check_two_job_workloads() {
  local knob="$1" w allowed="randwrite-4k-qd32 randread-4k-qd32 randwrite-4k-qd1-sync write-1m-qd8"
  for w in $2; do
    [[ " $allowed " == *" $w "* ]] \
      || die "$knob: '$w' is not a workload for two fio jobs at once (allowed: $allowed)"
  done
}
check_two_job_workloads BENCH_TWO_ALONE_WORKLOADS "$two_alone_workloads"
check_two_job_workloads BENCH_TWO_WRITERS_WORKLOADS "$two_writers_workloads"

# --- tools -------------------------------------------------------------------------------------
# Installs Debian packages only when a tool is missing, with one apt-get update per run.
apt_updated=0
apt_install() {
  local pkg="$1" why="$2"
  command -v apt-get >/dev/null 2>&1 || die "$why missing and no apt-get to install $pkg"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing $pkg (for $why)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
}
need() {
  local tool="$1" pkg="$2"
  command -v "$tool" >/dev/null 2>&1 && return 0
  apt_install "$pkg" "$tool"
  command -v "$tool" >/dev/null 2>&1 || die "installed $pkg but $tool is still missing"
}
need fio fio
need qemu-nbd qemu-utils
need nbdinfo libnbd-bin
need gnuplot gnuplot-nox
need python3 python3
need java openjdk-17-jdk-headless
# The FUA client runs under the system python3, where Debian puts libnbd's nbd module.
if ! /usr/bin/python3 -c 'import nbd' 2>/dev/null; then
  apt_install python3-libnbd "libnbd's python module"
  /usr/bin/python3 -c 'import nbd' 2>/dev/null || die "installed python3-libnbd but /usr/bin/python3 cannot import nbd"
fi
fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd engine (Debian's fio >= 3.24 has it)"

# --- state and cleanup -------------------------------------------------------------------------
run_id="$(date -u +%Y%m%dT%H%M%SZ)"
wd="$work/e2e-$run_id"
pids=()
cleanup() {
  local rc=$?
  # Every agent (both of each replicated pair) and qemu-nbd; the initial syncs running in
  # background subshells are in the list too.
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  # Backing files are big (one per target, two per replicated target and for raw-two-writers
  # and repl-two-alone, and the copy timed for P5); the fio JSON and logs are small and stay
  # for a post-mortem.
  if [ -d "$wd" ]; then
    find "$wd" -name '*.img' -type f -delete 2>/dev/null || true
  fi
  rm -rf "$wd/dist"
  [ "$rc" -eq 0 ] || log "failed (exit $rc); logs in $wd"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$wd"
fstype="$(df -T "$wd" | awk 'NR==2 {print $2}')"
case "$fstype" in
  tmpfs|ramfs) die "$wd is on $fstype: O_DIRECT is what is measured, use a real file system (BENCH_WORK)";;
esac
nfiles=1 # the plain copy P5 compares the initial sync with
for t in $targets; do
  case "$t" in
    repl-[ABC]|raw-two-writers|repl-two-alone) nfiles=$((nfiles + 2)) ;;
    *) nfiles=$((nfiles + 1)) ;;
  esac
done
avail_kib="$(df -k "$wd" | awk 'NR==2 {print $4}')"
need_kib=$(( (size_gib * nfiles + 1) * 1024 * 1024 ))
[ "$avail_kib" -gt "$need_kib" ] || die "need $((need_kib / 1024 / 1024)) GiB free in $wd"

# --- build -------------------------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  log "building the agent"
  ( cd "$root" && ./mvnw -B -q -o -DskipTests package >/dev/null 2>&1 ) || {
    log "full build failed (another module mid-edit?); building the agent's modules only"
    ( cd "$root" && ./mvnw -B -q -o -pl repl-io,repl-protocol,repl-core,fs-hooks install -DskipTests \
      && ./mvnw -B -q -o -pl repl-agent package -DskipTests ) || die "build failed"
  }
fi
[ -d "$root/repl-agent/target/lib" ] || die "no agent jars; build first"
# Others may rebuild this tree while we measure: run from a private copy in the release
# tarball's layout (bin/ beside lib/), which bin/repl-launch prefers.
dist="$wd/dist"
mkdir -p "$dist/bin" "$dist/lib"
cp "$root/bin/repl-launch" "$root/bin/repl-agent" "$root/bin/replctl" "$dist/bin/"
cp "$root/repl-agent/target/lib/"*.jar "$dist/lib/"

# --- targets -----------------------------------------------------------------------------------
# Each target gets its own directory with its own equal, preconditioned backing file(s).
size_bytes=$(( size_gib * 1024 * 1024 * 1024 ))

precondition() {
  local file="$1"
  # Every block written once with incompressible data, so reads hit allocated blocks and
  # writes never convert unwritten extents.
  fio --name=precondition --filename="$file" --size="$size_bytes" --rw=write --bs=1M \
      --ioengine=io_uring --direct=1 --iodepth=8 --refill_buffers=0 \
      --output="$(dirname "$file")/precondition.log" >/dev/null 2>&1 \
    || die "preconditioning $file failed"
}

wait_socket() {
  local sock="$1" pid="$2" name="$3" i
  for i in $(seq 1 150); do
    if [ -S "$sock" ] && nbdinfo --size "nbd+unix:///r0?socket=$sock" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited during startup; see $(dirname "$sock")"
    sleep 0.2
  done
  die "$name did not start serving on $sock"
}

# launch_agent ID DIR NODE ENGINE: one repl agent with DIR/cfg, DIR/state, DIR/ctl.sock and
# DIR/agent.log, and its r0.state in DIR (not the shared /run/repl, where every agent of the
# run, all serving a resource r0, would overwrite one file). Its pid goes to the cleanup list
# and to $agent_pid.
launch_agent() {
  local id="$1" d="$2" node="$3" engine="$4"
  local opts="${REPL_JAVA_OPTS:--Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError}"
  if [ -n "${BENCH_JFR:-}" ]; then
    mkdir -p "$BENCH_JFR"
    opts="$opts -XX:StartFlightRecording=filename=$BENCH_JFR/$id-$node.jfr,settings=profile,dumponexit=true"
  fi
  local env_extra=()
  [ "$engine" = filechannel ] && env_extra=(REPL_IO_URING_DISABLE=1)
  env "${env_extra[@]}" REPL_JAVA_OPTS="$opts" "$dist/bin/repl-agent" --config-dir "$d/cfg" --node "$node" \
      --control-socket "$d/ctl.sock" --state-dir "$d/state" --run-dir "$d" >"$d/agent.log" 2>&1 &
  agent_pid="$!"
  pids+=("$agent_pid")
}

# start_repl ID ENGINE [DIR]: one standalone agent on DIR/disk.img (default $wd/ID), serving
# DIR/r0.nbd, whose URI goes to DIR/uri. ID names it in the log and its JFR file.
start_repl() {
  local id="$1" engine="$2" d="${3:-$wd/$1}"
  mkdir -p "$d/cfg" "$d/state"
  cat >"$d/cfg/r0.toml" <<EOF
[disk]
io-engine = "$engine"
[node.alpha]
disk = "$d/disk.img"
# The whole file is the volume, as for qemu-nbd: a standalone node needs no metadata.
meta-disk = "none"
nbd-socket = "$d/r0.nbd"
EOF
  launch_agent "$id" "$d" alpha "$engine"
  wait_socket "$d/r0.nbd" "$agent_pid" "repl agent ($id)"
  local got
  got="$("$dist/bin/replctl" --control-socket "$d/ctl.sock" status --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["resources"][0].get("ioEngine"))')"
  [ "$got" = "$engine" ] || die "$id: asked for engine $engine, agent runs $got (see $d/agent.log)"
  echo "nbd+unix:///r0?socket=$d/r0.nbd" >"$d/uri"
  log "$id: repl agent up, engine $got"
}

start_qemu() {
  local id="$1" d="$wd/$1"
  qemu-nbd --cache=none --aio=io_uring -f raw -x r0 -k "$d/r0.nbd" --persistent --shared=4 \
      "$d/disk.img" >"$d/qemu-nbd.log" 2>&1 &
  pids+=("$!")
  wait_socket "$d/r0.nbd" "$!" "qemu-nbd"
  echo "nbd+unix:///r0?socket=$d/r0.nbd" >"$d/uri"
  log "$id: qemu-nbd $(qemu-nbd --version | head -1 | awk '{print $2}') up"
}

ctl() { "$dist/bin/replctl" --control-socket "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Replicated target: two agents (alpha, beta) over loopback TCP, the protocol as named, the
# default io_uring engine and internal metadata, each on its own preconditioned file, in
# $wd/ID/alpha and $wd/ID/beta. Brought up and connected here; the initial sync (sync_repl)
# comes once every target is up.
start_repl_pair() {
  local id="$1" proto="$2" d="$wd/$1" n i port_a port_b
  port_a="$(free_port)"
  port_b="$(free_port)"
  while [ "$port_b" = "$port_a" ]; do port_b="$(free_port)"; done
  for n in alpha beta; do mkdir -p "$d/$n/cfg" "$d/$n/state"; done
  cat >"$d/alpha/cfg/r0.toml" <<EOF
protocol = "$proto"
[net]
shared-secret = "bench"
[node.alpha]
address = "127.0.0.1:$port_a"
disk = "$d/alpha/disk.img"
nbd-socket = "$d/alpha/r0.nbd"
[node.beta]
address = "127.0.0.1:$port_b"
disk = "$d/beta/disk.img"
nbd-socket = "$d/beta/r0.nbd"
EOF
  cp "$d/alpha/cfg/r0.toml" "$d/beta/cfg/r0.toml"
  for n in alpha beta; do
    launch_agent "$id" "$d/$n" "$n" io_uring
    echo "$agent_pid" >"$d/$n/pid"
  done
  for n in alpha beta; do
    for i in $(seq 1 150); do
      [ -S "$d/$n/ctl.sock" ] && break
      kill -0 "$(cat "$d/$n/pid")" 2>/dev/null || die "$id: agent $n exited during startup; see $d/$n/agent.log"
      sleep 0.2
    done
    [ -S "$d/$n/ctl.sock" ] || die "$id: agent $n has no control socket; see $d/$n/agent.log"
  done
  for n in alpha beta; do
    ctl "$d/$n/ctl.sock" create-md r0 >"$d/$n/create-md.out" 2>&1 || die "$id: create-md on $n failed; see $d/$n"
    ctl "$d/$n/ctl.sock" up r0 >"$d/$n/up.out" 2>&1 || die "$id: up on $n failed; see $d/$n"
  done
  for n in alpha beta; do
    ctl "$d/$n/ctl.sock" wait-connect r0 --timeout 60 >"$d/$n/wait-connect.out" 2>&1 \
      || die "$id: $n did not connect within 60 s; see $d/$n/agent.log"
  done
  log "$id: two agents up and connected, protocol $proto, loopback ports $port_a/$port_b"
}

now() { date +%s.%N; }

# sync_repl ID CONCURRENT: promote alpha with --force (a full initial sync to beta), wait
# until beta is UpToDate, record the time from just before `primary` to the return of
# `wait-sync` (so it includes one replctl start, a fraction of a second), then write the
# export's URI and size (internal metadata makes it smaller than the file).
sync_repl() {
  local id="$1" concurrent="$2" d="$wd/$1" t0 t1 st disk peer_disk bytes
  t0="$(now)"
  ctl "$d/alpha/ctl.sock" primary --force r0 >"$d/alpha/primary.out" 2>&1 \
    || die "$id: primary --force failed; see $d/alpha"
  ctl "$d/beta/ctl.sock" wait-sync r0 --timeout 600 >"$d/beta/wait-sync.out" 2>&1 \
    || die "$id: initial sync did not finish within 600 s; see $d/*/agent.log"
  t1="$(now)"
  st="$(ctl "$d/beta/ctl.sock" status --json | python3 -c '
import json, sys
r = json.load(sys.stdin)["resources"][0]
print(r["disk"], (r.get("peer") or {}).get("disk"), r["sizeBytes"])')"
  read -r disk peer_disk bytes <<<"$st"
  [ "$disk" = UpToDate ] && [ "$peer_disk" = UpToDate ] \
    || die "$id: after wait-sync beta is $disk and alpha $peer_disk; see $d/*/agent.log"
  wait_socket "$d/alpha/r0.nbd" "$(cat "$d/alpha/pid")" "repl agent ($id alpha)"
  local uri="nbd+unix:///r0?socket=$d/alpha/r0.nbd" size secs
  size="$(nbdinfo --size "$uri")"
  [ "${size:-0}" -gt 0 ] || die "$id: export has no size"
  echo "$uri" >"$d/uri"
  # fio's --size must not exceed the export: round it down to whole MiB.
  echo $(( size / 1048576 * 1048576 )) >"$d/size"
  secs="$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
  {
    echo "sync_${id}_bytes=$bytes"
    echo "sync_${id}_seconds=$secs"
    echo "sync_${id}_concurrent=$concurrent"
  } >>"$wd/extra.txt"
  log "$id: initial sync of $bytes bytes in $secs s ($(python3 -c "print(f'{$bytes / ($t1 - $t0) / 1e6:.0f}')") MB/s)"
}

# P5's reference: a plain copy of a backing file of the same size, O_DIRECT on both sides,
# 1 MiB blocks, fsync at the end, into a new file on the same file system.
time_copy() {
  local src="$1" dst="$wd/copy/copy.img" t0 t1 secs
  mkdir -p "$wd/copy"
  sync
  t0="$(now)"
  dd if="$src" of="$dst" bs=1M iflag=direct oflag=direct conv=fsync status=none \
    || die "plain copy of $src failed"
  t1="$(now)"
  rm -f "$dst"
  secs="$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
  {
    echo "copy_bytes=$size_bytes"
    echo "copy_seconds=$secs"
    echo "copy_method=dd bs=1M iflag=direct oflag=direct conv=fsync of a backing file into a new file"
  } >>"$wd/extra.txt"
  log "plain copy of $size_bytes bytes in $secs s ($(python3 -c "print(f'{$size_bytes / ($t1 - $t0) / 1e6:.0f}')") MB/s)"
}

# One loopback round trip, measured in this run: a TCP ping-pong on 127.0.0.1 (TCP_NODELAY,
# 64-byte messages, python3), median of 2000 exchanges after 200 of warm-up. That is the path
# the agents' peer traffic takes; ICMP ping is recorded too when it is allowed.
measure_rtt() {
  local tcp icmp=""
  tcp="$(python3 -c '
import socket, statistics, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def echo():
    c, _ = srv.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        b = c.recv(64)
        if not b:
            return
        c.sendall(b)
threading.Thread(target=echo, daemon=True).start()
s = socket.create_connection(srv.getsockname()); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg, rtts = b"x" * 64, []
for i in range(2200):
    t = time.perf_counter_ns(); s.sendall(msg)
    got = 0
    while got < 64:
        got += len(s.recv(64 - got))
    if i >= 200:
        rtts.append(time.perf_counter_ns() - t)
print(f"{statistics.median(rtts) / 1e3:.1f}")')"
  if command -v ping >/dev/null 2>&1; then
    icmp="$(ping -n -q -c 50 -i 0.01 127.0.0.1 2>/dev/null \
            | awk -F/ '/^rtt|^round-trip/ {printf "%.1f", $5 * 1000}')" || icmp=""
  fi
  {
    echo "rtt_tcp_us=$tcp"
    echo "rtt_icmp_avg_us=$icmp"
  } >>"$wd/extra.txt"
  log "loopback round trip: TCP ping-pong median $tcp us${icmp:+, ICMP ping mean $icmp us}"
}

: >"$wd/extra.txt"
repl_pairs=()
for t in $targets; do
  mkdir -p "$wd/$t"
  case "$t" in
    repl-[ABC])
      log "$t: preconditioning two ${size_gib} GiB backing files"
      mkdir -p "$wd/$t/alpha" "$wd/$t/beta"
      precondition "$wd/$t/alpha/disk.img"
      precondition "$wd/$t/beta/disk.img"
      ;;
    raw-two-writers)
      log "$t: preconditioning two ${size_gib} GiB backing files"
      mkdir -p "$wd/$t/second"
      precondition "$wd/$t/disk.img"
      precondition "$wd/$t/second/disk.img"
      ;;
    repl-two-alone)
      log "$t: preconditioning two ${size_gib} GiB backing files"
      mkdir -p "$wd/$t/first" "$wd/$t/second"
      precondition "$wd/$t/first/disk.img"
      precondition "$wd/$t/second/disk.img"
      ;;
    *)
      log "$t: preconditioning a ${size_gib} GiB backing file"
      precondition "$wd/$t/disk.img"
      ;;
  esac
  case "$t" in
    repl-uring) start_repl "$t" io_uring ;;
    repl-aio) start_repl "$t" libaio ;;
    repl-fc) start_repl "$t" filechannel ;;
    repl-two-alone)
      # Two independent agents, each as repl-uring is, on its own file.
      start_repl "$t-first" io_uring "$wd/$t/first"
      start_repl "$t-second" io_uring "$wd/$t/second"
      ;;
    qemu-nbd) start_qemu "$t" ;;
    raw-uring|raw-two-writers) : ;;
    repl-[ABC]) start_repl_pair "$t" "${t#repl-}"; repl_pairs+=("$t") ;;
    *) die "unknown target $t" ;;
  esac
done
sync

# Initial syncs. The timed one (P5: repl-C's if it is a target, else the first replicated
# one) runs alone, and the plain copy right after it, also alone. The others then sync at
# the same time to keep the run short; their times are recorded as concurrent, not judged.
if [ "${#repl_pairs[@]}" -gt 0 ]; then
  timed="${repl_pairs[0]}"
  for t in "${repl_pairs[@]}"; do [ "$t" = repl-C ] && timed=repl-C; done
  echo "sync_timed=$timed" >>"$wd/extra.txt"
  log "$timed: initial sync, alone (P5)"
  sync_repl "$timed" 1
  time_copy "$wd/$timed/alpha/disk.img"
  others=()
  for t in "${repl_pairs[@]}"; do [ "$t" = "$timed" ] || others+=("$t"); done
  if [ "${#others[@]}" -gt 0 ]; then
    log "${others[*]}: initial syncs, at the same time"
    sync_pids=()
    for t in "${others[@]}"; do
      sync_repl "$t" "${#others[@]}" &
      sync_pids+=("$!")
      pids+=("$!")
    done
    for p in "${sync_pids[@]}"; do wait "$p" || die "an initial sync failed"; done
  fi
  measure_rtt
fi

# --- workloads ---------------------------------------------------------------------------------
workload_args() {
  case "$1" in
    randwrite-4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
    randread-4k-qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
    randwrite-4k-qd1-sync) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
    write-1m-qd8) echo "--rw=write --bs=1M --iodepth=8" ;;
    fua-4k-qd1) echo "" ;;
    *) die "unknown workload $1" ;;
  esac
}

# Does target $1 run workload $2? The replicated targets and the two-job targets run a subset.
runs_workload() {
  local list
  case "$1" in
    repl-[ABC]) list="$repl_workloads" ;;
    repl-two-alone) list="$two_alone_workloads" ;;
    raw-two-writers) list="$two_writers_workloads" ;;
    raw-uring) [ "$2" != fua-4k-qd1 ]; return ;;
    *) return 0 ;;
  esac
  [[ " $list " == *" $2 "* ]]
}

run_fio() {
  local w="$1" t="$2" round="$3" d="$wd/$2"
  local args target_args size="$size_bytes" group="--group_reporting"
  args="$(workload_args "$w")"
  [ -f "$d/size" ] && size="$(cat "$d/size")"
  if [ "$w" = fua-4k-qd1 ]; then
    local json="$wd/fio__${w}__${t}__r$round.json"
    /usr/bin/python3 "$here/e2e/fua_qd1.py" "$(cat "$d/uri")" "$size" "$runtime" "$ramp" "$json" \
        >"$wd/fio__${w}__${t}__r$round.log" 2>&1 \
      || die "fua_qd1.py on $t failed; see $wd/fio__${w}__${t}__r$round.log"
    log "  $w on $t (round $round): $(python3 "$here/e2e/summarise.py" --brief "$json")"
    return
  fi
  case "$t" in
    raw-uring)
      target_args="--ioengine=io_uring --direct=1 --filename=$d/disk.img"
      # The file's own durable write: fdatasync after each write, as repl and qemu-nbd do for FLUSH.
      [ "$w" = randwrite-4k-qd1-sync ] && target_args="$target_args --fdatasync=1"
      ;;
    raw-two-writers)
      # Two jobs, one per file, writing at the same time: the two-writer bound of P3 (both
      # "disks" of a replicated pair are this one disk). Reported per job, so no group_reporting.
      local sync_arg=""
      [ "$w" = randwrite-4k-qd1-sync ] && sync_arg="--fdatasync=1"
      target_args="--ioengine=io_uring --direct=1 $sync_arg --filename=$d/disk.img"
      target_args="$target_args --name=$w-second --ioengine=io_uring --direct=1 $sync_arg"
      target_args="$target_args --filename=$d/second/disk.img"
      group=""
      ;;
    repl-two-alone)
      # Two jobs, one per standalone agent's export, at the same time: what this machine gives
      # each of two independent agents sharing its cores and its disk, P3's bound. Reported per
      # job, i.e. per agent, so no group_reporting.
      local sync_arg=""
      [ "$w" = randwrite-4k-qd1-sync ] && sync_arg="--fsync=1"
      target_args="--ioengine=nbd --uri=$(cat "$d/first/uri") $sync_arg"
      target_args="$target_args --name=$w-second --ioengine=nbd --uri=$(cat "$d/second/uri") $sync_arg"
      group=""
      ;;
    *)
      target_args="--ioengine=nbd --uri=$(cat "$d/uri")"
      # fio's nbd engine has no FUA option: fsync=1 sends NBD_CMD_FLUSH after every write.
      [ "$w" = randwrite-4k-qd1-sync ] && target_args="$target_args --fsync=1"
      ;;
  esac
  local json="$wd/fio__${w}__${t}__r$round.json"
  # Global options before the first --name, so a second job section inherits them.
  # shellcheck disable=SC2086
  fio $args --size="$size" --time_based --runtime="$runtime" --ramp_time="$ramp" \
      --norandommap --randrepeat=0 $group --output-format=json --output="$json" \
      --name="$w" $target_args >"$wd/fio__${w}__${t}__r$round.log" 2>&1 \
    || die "fio $w on $t failed; see $wd/fio__${w}__${t}__r$round.log"
  log "  $w on $t (round $round): $(python3 "$here/e2e/summarise.py" --brief "$json")"
}

read -r -a tlist <<<"$targets"
total=0
for w in $workloads; do
  for t in "${tlist[@]}"; do
    if runs_workload "$t" "$w"; then total=$((total + 1)); fi
  done
done
total=$((total * rounds))
log "$total fio runs of $((runtime + ramp)) s each"
for round in $(seq 1 "$rounds"); do
  order=("${tlist[@]}")
  if [ $((round % 2)) -eq 0 ]; then
    order=()
    for ((i = ${#tlist[@]} - 1; i >= 0; i--)); do order+=("${tlist[$i]}"); done
  fi
  for w in $workloads; do
    for t in "${order[@]}"; do
      if runs_workload "$t" "$w"; then run_fio "$w" "$t" "$round"; fi
    done
  done
done

# --- report ------------------------------------------------------------------------------------
# How many lines each replicated agent logged at WARNING or worse (the logs stay in $wd), not
# counting the error every agent logs once at start, before create-md: no metadata yet.
for t in "${repl_pairs[@]:-}"; do
  [ -n "$t" ] || continue
  for n in alpha beta; do
    c="$(grep -E 'WARN|SEVERE|ERROR|Exception' "$wd/$t/$n/agent.log" 2>/dev/null \
         | grep -c -v 'cannot come up: no usable metadata' || true)"
    echo "log_${t}_${n}_warnings=${c:-0}" >>"$wd/extra.txt"
  done
done
{
  echo "cpu=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
  echo "cores=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "fs=$fstype on $(df "$wd" | awk 'NR==2 {print $1}')"
  echo "jdk=$(java -version 2>&1 | head -1)"
  echo "fio=$(fio --version)"
  echo "qemu=$(qemu-nbd --version | head -1)"
  echo "git=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$root" && git diff --quiet -- repl-agent/src/main/java/io/repl/agent/nbd repl-agent/src/main/java/io/repl/agent/volume repl-io repl-core/src/main/java/io/repl/core/replication 2>/dev/null || echo '+dirty')"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "size_gib=$size_gib"
  echo "runtime=$runtime"
  echo "ramp=$ramp"
  echo "rounds=$rounds"
  echo "note=${BENCH_NOTE:-}"
  cat "$wd/extra.txt"
} >"$wd/meta.txt"
python3 "$here/e2e/summarise.py" --dir "$wd" --out "$out" --png "$png"
log "wrote $out and $png (raw fio output in $wd)"
