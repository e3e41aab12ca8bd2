#!/usr/bin/env bash
# End-to-end benchmark: fio against repl (io_uring and FileChannel engines), qemu-nbd and the
# raw file, side by side in one run, then bench/RESULTS.md and bench/results.png.
# See bench/README.md ("End-to-end harness") for what each row means.
#
# Usage: bench/run-e2e.sh            (from anywhere; about 12 minutes with the defaults)
# Knobs (environment):
#   BENCH_SIZE_GIB=2      size of each backing file
#   BENCH_RUNTIME=15      seconds measured per fio run
#   BENCH_RAMP=3          seconds of ramp before measuring
#   BENCH_ROUNDS=2        every (workload, target) pair runs this many times, order reversed
#                         on odd rounds so drift hits every target alike
#   BENCH_TARGETS="repl-uring repl-fc qemu-nbd raw-uring"
#   BENCH_WORKLOADS="randwrite-4k-qd32 randread-4k-qd32 randwrite-4k-qd1-sync write-1m-qd8"
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
targets="${BENCH_TARGETS:-repl-uring repl-fc qemu-nbd raw-uring}"
workloads="${BENCH_WORKLOADS:-randwrite-4k-qd32 randread-4k-qd32 randwrite-4k-qd1-sync write-1m-qd8}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"
png="${BENCH_PNG:-$here/results.png}"

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------
# Installs Debian packages only when a tool is missing, with one apt-get update per run.
apt_updated=0
need() {
  local tool="$1" pkg="$2"
  command -v "$tool" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "$tool missing and no apt-get to install $pkg"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing $pkg (for $tool)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
  command -v "$tool" >/dev/null 2>&1 || die "installed $pkg but $tool is still missing"
}
need fio fio
need qemu-nbd qemu-utils
need nbdinfo libnbd-bin
need gnuplot gnuplot-nox
need python3 python3
need java openjdk-17-jdk-headless
fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd engine (Debian's fio >= 3.24 has it)"

# --- state and cleanup -------------------------------------------------------------------------
run_id="$(date -u +%Y%m%dT%H%M%SZ)"
wd="$work/e2e-$run_id"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  # Backing files are big; the fio JSON and logs are small and stay for a post-mortem.
  rm -f "$wd"/*/disk.img 2>/dev/null || true
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
avail_kib="$(df -k "$wd" | awk 'NR==2 {print $4}')"
need_kib=$(( (size_gib * 4 + 1) * 1024 * 1024 ))
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
# Each target gets its own directory with its own equal, preconditioned backing file.
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

start_repl() {
  local id="$1" engine="$2" d="$wd/$1"
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
  local opts="${REPL_JAVA_OPTS:--Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError}"
  if [ -n "${BENCH_JFR:-}" ]; then
    mkdir -p "$BENCH_JFR"
    opts="$opts -XX:StartFlightRecording=filename=$BENCH_JFR/$id.jfr,settings=profile,dumponexit=true"
  fi
  local env_extra=()
  [ "$engine" = filechannel ] && env_extra=(REPL_IO_URING_DISABLE=1)
  env "${env_extra[@]}" REPL_JAVA_OPTS="$opts" "$dist/bin/repl-agent" --config-dir "$d/cfg" --node alpha \
      --control-socket "$d/ctl.sock" --state-dir "$d/state" >"$d/agent.log" 2>&1 &
  pids+=("$!")
  wait_socket "$d/r0.nbd" "$!" "repl agent ($id)"
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

for t in $targets; do
  mkdir -p "$wd/$t"
  log "$t: preconditioning a ${size_gib} GiB backing file"
  precondition "$wd/$t/disk.img"
  case "$t" in
    repl-uring) start_repl "$t" io_uring ;;
    repl-fc) start_repl "$t" filechannel ;;
    qemu-nbd) start_qemu "$t" ;;
    raw-uring) : ;;
    *) die "unknown target $t" ;;
  esac
done
sync

# --- workloads ---------------------------------------------------------------------------------
workload_args() {
  case "$1" in
    randwrite-4k-qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
    randread-4k-qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
    randwrite-4k-qd1-sync) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
    write-1m-qd8) echo "--rw=write --bs=1M --iodepth=8" ;;
    *) die "unknown workload $1" ;;
  esac
}

run_fio() {
  local w="$1" t="$2" round="$3" d="$wd/$2"
  local args target_args
  args="$(workload_args "$w")"
  if [ "$t" = raw-uring ]; then
    target_args="--ioengine=io_uring --direct=1 --filename=$d/disk.img"
    # The file's own durable write: fdatasync after each write, as repl and qemu-nbd do for FLUSH.
    [ "$w" = randwrite-4k-qd1-sync ] && target_args="$target_args --fdatasync=1"
  else
    target_args="--ioengine=nbd --uri=$(cat "$d/uri")"
    # fio's nbd engine has no FUA option: fsync=1 sends NBD_CMD_FLUSH after every write.
    [ "$w" = randwrite-4k-qd1-sync ] && target_args="$target_args --fsync=1"
  fi
  local json="$wd/fio__${w}__${t}__r$round.json"
  # shellcheck disable=SC2086
  fio --name="$w" $args $target_args --size="$size_bytes" --time_based --runtime="$runtime" \
      --ramp_time="$ramp" --norandommap --randrepeat=0 --group_reporting \
      --output-format=json --output="$json" >"$wd/fio__${w}__${t}__r$round.log" 2>&1 \
    || die "fio $w on $t failed; see $wd/fio__${w}__${t}__r$round.log"
  log "  $w on $t (round $round): $(python3 "$here/e2e/summarise.py" --brief "$json")"
}

read -r -a tlist <<<"$targets"
total=$(( rounds * $(wc -w <<<"$workloads") * ${#tlist[@]} ))
log "$total fio runs of $((runtime + ramp)) s each"
for round in $(seq 1 "$rounds"); do
  order=("${tlist[@]}")
  if [ $((round % 2)) -eq 0 ]; then
    order=()
    for ((i = ${#tlist[@]} - 1; i >= 0; i--)); do order+=("${tlist[$i]}"); done
  fi
  for w in $workloads; do
    for t in "${order[@]}"; do
      run_fio "$w" "$t" "$round"
    done
  done
done

# --- report ------------------------------------------------------------------------------------
{
  echo "cpu=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
  echo "cores=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "fs=$fstype on $(df "$wd" | awk 'NR==2 {print $1}')"
  echo "jdk=$(java -version 2>&1 | head -1)"
  echo "fio=$(fio --version)"
  echo "qemu=$(qemu-nbd --version | head -1)"
  echo "git=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$root" && git diff --quiet -- repl-agent/src/main/java/io/repl/agent/nbd repl-agent/src/main/java/io/repl/agent/volume repl-io 2>/dev/null || echo '+dirty')"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "size_gib=$size_gib"
  echo "runtime=$runtime"
  echo "ramp=$ramp"
  echo "rounds=$rounds"
  echo "note=${BENCH_NOTE:-}"
} >"$wd/meta.txt"
python3 "$here/e2e/summarise.py" --dir "$wd" --out "$out" --png "$png"
log "wrote $out and $png (raw fio output in $wd)"
