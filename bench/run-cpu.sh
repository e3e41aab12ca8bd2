#!/usr/bin/env bash
# CPU per write, memory and CLI time: P11 (the agents' CPU microseconds per 4 KiB QD32 write, a
# standalone agent against the Primary and the Secondary of a protocol C pair), P9 (their
# resident memory with a 64 GiB volume), P12 (`replctl status` wall time, median of repeated
# runs) and P10 (a switchover by replctl: demote one node, promote the other, first write).
# CPU time is read from /proc/PID/stat (utime+stime) over a fixed number of writes, so the
# figure does not drift with the machine's load the way IOPS do.
# See bench/README.md ("CPU harness").
#
# Usage: bench/run-cpu.sh          (from anywhere; about 3 minutes with the defaults)
# Knobs (environment):
#   BENCH_SIZE_MIB=2048    size of each backing file
#   BENCH_WRITES=200000    writes measured per agent setup (after BENCH_WARMUP ones)
#   BENCH_WRITE_BS=4k BENCH_WRITE_QD=32  P11's write size and depth (say 1M and 8, with fewer
#                          writes, for what a large write costs each node; the goal is set at 4k)
#   BENCH_WARMUP=100000    writes first, unmeasured, so the JIT has compiled the write path
#   BENCH_CLI_RUNS=21      replctl runs for P12
#   BENCH_SWITCHES=8       switchovers for P10, back and forth
#   BENCH_READS=200000     4 KiB random reads measured per server for P1's read row (after
#                          BENCH_WARMUP unmeasured ones)
#   BENCH_P9_MIB=65536     volume size for P9 (sparse files)
#   BENCH_P9_WRITES=20000  random 4 KiB writes spread over the P9 volume before RSS is read (each
#                          allocates a block of a sparse file: a few hundred a second on ext4)
#   BENCH_PARTS="p11 p1r p9 p12 p10"  which parts to run (p1r: CPU per 4 KiB QD32 read, the
#                          standalone agent against qemu-nbd, and fio on the file, each with the
#                          mean depth the disk saw)
#   BENCH_WORK=bench/work  where backing files go (a real file system, not tmpfs)
#   BENCH_NO_BUILD=1       use the jars already built
#   BENCH_JARS=DIR         take the agent's jars from DIR (implies nothing about building)
#   BENCH_AGENT_OPTS="..." the agents' JVM options
#   BENCH_PROFILE=1        also record a call-graph profile of each agent while its writes run
#                          (perf record; the JIT's symbols from a perf map written at exit), and
#                          print each one's top entries; the data stays in the run's directory.
#                          The system calls are then not counted (their tracepoints would fill the
#                          profile); BENCH_PROFILE=syscalls counts and lists them as well
#   BENCH_OUT=bench/RESULTS.md  its section (between keep markers) is replaced; BENCH_OUT=- prints it only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
size_mib="${BENCH_SIZE_MIB:-2048}"
writes="${BENCH_WRITES:-200000}"
warmup="${BENCH_WARMUP:-100000}"
cli_runs="${BENCH_CLI_RUNS:-21}"
parts="${BENCH_PARTS:-p11 p1r p9 p12 p10}"
reads="${BENCH_READS:-200000}"
write_bs="${BENCH_WRITE_BS:-4k}"
write_qd="${BENCH_WRITE_QD:-32}"
switches="${BENCH_SWITCHES:-8}"
p9_mib="${BENCH_P9_MIB:-65536}"
p9_writes="${BENCH_P9_WRITES:-20000}"
work="${BENCH_WORK:-$here/work}"
out="${BENCH_OUT:-$here/RESULTS.md}"
wd="$work/cpu-$(date +%Y%m%d-%H%M%S)"
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_name=cpu-bench
. "$here/lib.sh"
bench_start fio python3
if [[ " $parts " == *" p1r "* ]] && ! command -v qemu-nbd >/dev/null; then
  die "the p1r part compares with qemu-nbd (Debian: qemu-utils; bench/run-e2e.sh installs it)"
fi
# P10's writer is libnbd from the system python3; checked now rather than after the other parts.
if [[ " $parts " == *" p10 "* ]] && ! /usr/bin/python3 -c 'import nbd' 2>/dev/null; then
  die "P10 needs libnbd's python module in /usr/bin/python3 (Debian: python3-libnbd; bench/run-e2e.sh installs it)"
fi

ctl() { "$dist/bin/replctl" --control-socket "$@"; }
# cpu_ticks PID: utime+stime of the process, in clock ticks, less that of its live JIT compiler
# threads (the JVM's "C1/C2 CompilerThreadN"). Compiling the hot path is a start-up cost; at
# 1 MiB, where a run is a few thousand writes, C2 was still at it and took a fifth of the
# samples of a profile. GC and every other thread stay counted. (A compiler thread that exits
# during the run takes its ticks out of the subtraction: the figure errs high, never low.)
cpu_ticks() {
  local total jit t
  total="$(awk '{print $14 + $15}' "/proc/$1/stat")"
  jit=0
  for t in /proc/"$1"/task/*; do
    case "$(cat "$t/comm" 2>/dev/null)" in
      "C1 CompilerThre"*|"C2 CompilerThre"*)
        jit=$((jit + $(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0))) ;;
    esac
  done
  echo $((total - jit))
}
tck="$(getconf CLK_TCK)"
# counts_start PID NAME / counts_stop / per_write NAME N: the system calls and context switches
# of PID while the writes run, counted by perf (where it is installed and allowed), per write.
# In a VM every system call and every switch costs an exit to the hypervisor or more, so
# these two counts explain most of the CPU figure.
# A profiled run records only the profile: the system-call tracepoints that count and list the
# calls run in the kernel on every call, and with them about half of each profile's samples
# landed in perf's own event code (perf_swevent_event). BENCH_PROFILE=syscalls adds them back.
perf_pids=()
counts_start() {
  command -v perf >/dev/null || return 0
  if [ "${BENCH_PROFILE:-0}" = 0 ] || [ "${BENCH_PROFILE:-0}" = syscalls ]; then
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$1" -o "$wd/perf-$2.csv" >/dev/null 2>&1 &
    perf_pids+=("$!")
  fi
  if [ "${BENCH_PROFILE:-0}" != 0 ]; then
    perf record -q -g -F 999 -p "$1" -o "$wd/profile-$2.data" >/dev/null 2>&1 &
    perf_pids+=("$!")
    profiled+=("$2:$1")
  fi
  if [ "${BENCH_PROFILE:-0}" = syscalls ]; then
    perf trace -s -p "$1" -o "$wd/syscalls-$2.txt" >/dev/null 2>&1 &
    perf_pids+=("$!")
  fi
}
profiled=()
# profiles_report: once the agents have exited (and written their perf maps), the top of each
# profile by symbol, children excluded, so that kernel and JIT-compiled code sit side by side.
profiles_report() {
  local e name pid i
  for e in "${profiled[@]:-}"; do
    [ -n "$e" ] || continue
    name="${e%%:*}"
    pid="${e#*:}"
    for i in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    echo "== $name (pid $pid): $wd/profile-$name.data"
    awk '$2 ~ /^[0-9]+$/ && $1 !~ /^-/ {print "   ", $1, $2}' "$wd/syscalls-$name.txt" 2>/dev/null | sort -k3 -n -r | head -12 || true
    perf report -i "$wd/profile-$name.data" --no-children --sort sym --stdio 2>/dev/null \
      | awk '/^ +[0-9]/ && n++ < 40' || true
  done
}
counts_stop() {
  local p
  for p in "${perf_pids[@]:-}"; do [ -n "$p" ] && kill -INT "$p" 2>/dev/null || true; done
  for p in "${perf_pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  perf_pids=()
}
per_write() {
  [ -s "$wd/perf-$1.csv" ] || { echo "n/a"; return 0; }
  awk -F, -v n="$2" '$3 ~ /sys_enter/ {s=$1} $3 ~ /context-switches/ {c=$1}
    END {if (s == "" || s ~ /not/) print "n/a"; else printf "%.1f syscalls, %.1f switches", s / n, c / n}' "$wd/perf-$1.csv"
}

precondition() {
  fio --name=precondition --filename="$1" --size="${size_mib}M" --rw=write --bs=1M --ioengine=io_uring \
      --direct=1 --iodepth=8 --refill_buffers=1 --output=/dev/null >/dev/null 2>&1 \
    || die "preconditioning $1 failed"
}

# agent DIR NODE: starts an agent on DIR/cfg; its pid in $agent_pid.
agent() {
  local d="$1" n="$2" i
  mkdir -p "$d/state"
  local opts="${BENCH_AGENT_OPTS:--Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m}"
  [ "${BENCH_PROFILE:-0}" != 0 ] && opts="$opts -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer"
  REPL_JAVA_OPTS="$opts" \
    "$dist/bin/repl-agent" --config-dir "$d/cfg" --node "$n" --control-socket "$d/ctl.sock" \
    --state-dir "$d/state" --run-dir "$d" >"$d/agent.log" 2>&1 &
  agent_pid="$!"
  pids+=("$agent_pid")
  for i in $(seq 1 150); do [ -S "$d/ctl.sock" ] && return 0; sleep 0.2; done
  die "agent $n has no control socket; see $d/agent.log"
}

# standalone_up DIR: one agent alone on DIR/disk.img, the whole file its volume and no
# metadata (P3's reference agent), its export DIR/r0.nbd; its pid in $agent_pid.
standalone_up() {
  local d="$1" i
  mkdir -p "$d/cfg"
  cat >"$d/cfg/r0.toml" <<EOF
[node.alpha]
disk = "$d/disk.img"
meta-disk = "none"
nbd-socket = "$d/r0.nbd"
EOF
  agent "$d" alpha
  for i in $(seq 1 100); do [ -S "$d/r0.nbd" ] && return 0; sleep 0.1; done
  die "the agent in $d exports nothing; see $d/agent.log"
}

# fio_writes URI N SEED [MIB]: N random writes of BENCH_WRITE_BS at BENCH_WRITE_QD (4 KiB at
# QD32) through NBD, over the first MIB (default: the bench's size) of the volume.
fio_writes() {
  fio --name=cpu --ioengine=nbd --uri="$1" --rw=randwrite --bs="$write_bs" --iodepth="$write_qd" \
      --number_ios="$2" --size="${4:-$size_mib}M" --randseed="$3" --norandommap --randrepeat=0 \
      --time_based=0 --output-format=json --output="$wd/fio-$3.json" >/dev/null 2>&1 \
    || die "fio failed; see $wd/fio-$3.json"
  python3 -c "import json; j=json.load(open('$wd/fio-$3.json'))['jobs'][0]['write']; print(j['total_ios'])"
}


# pair_up DIR precondition|sparse [MIB]: a protocol C pair over loopback in DIR (internal
# metadata, the initial sync skipped, alpha Primary) on files of MIB (default: the bench's
# size), preconditioned or sparse; the agents' pids in $prim_pid and $sec_pid.
pair_up() {
  local p="$1" mib="${3:-$size_mib}" n
  for n in alpha beta; do
    mkdir -p "$p/$n/cfg"
    if [ "$2" = precondition ]; then
      precondition "$p/$n/disk.img"
    else
      truncate -s "${mib}M" "$p/$n/disk.img"
    fi
  done
  pair_config "$p"
  agent "$p/alpha" alpha
  prim_pid="$agent_pid"
  agent "$p/beta" beta
  sec_pid="$agent_pid"
  for n in alpha beta; do
    ctl "$p/$n/ctl.sock" create-md r0 >/dev/null || die "create-md on $n"
    ctl "$p/$n/ctl.sock" up r0 >/dev/null || die "up on $n"
  done
  for n in alpha beta; do
    ctl "$p/$n/ctl.sock" wait-connect r0 --timeout 60 >/dev/null || die "$n did not connect"
  done
  ctl "$p/alpha/ctl.sock" new-current-uuid --clear-bitmap r0 >/dev/null
  ctl "$p/beta/ctl.sock" wait-sync r0 --timeout 120 >/dev/null || die "pair did not reach UpToDate"
  ctl "$p/alpha/ctl.sock" primary r0 >/dev/null
}

if [[ " $parts " == *" p11 "* ]]; then
  # Standalone: the whole file is the volume, no metadata, as the P3 reference agent.
  s="$wd/alone"
  mkdir -p "$s"
  precondition "$s/disk.img"
  standalone_up "$s"
  alone_pid="$agent_pid"
  uri="nbd+unix:///r0?socket=$s/r0.nbd"
  fio_writes "$uri" "$warmup" 1 >/dev/null
  counts_start "$alone_pid" alone
  c0="$(cpu_ticks "$alone_pid")"
  n="$(fio_writes "$uri" "$writes" 2)"
  c1="$(cpu_ticks "$alone_pid")"
  counts_stop
  alone_counts="$(per_write alone "$n")"
  alone_us="$(ratio "($c1 - $c0) / $tck * 1e6 / $n")"
  ctl "$s/ctl.sock" down r0 >/dev/null || true
  kill "$alone_pid" 2>/dev/null || true
  rm -f "$s/disk.img"

  pair_up "$wd/pair" precondition
  p="$wd/pair"
  uri="nbd+unix:///r0?socket=$p/alpha/r0.nbd"
  fio_writes "$uri" "$warmup" 3 >/dev/null
  counts_start "$prim_pid" primary
  counts_start "$sec_pid" secondary
  a0="$(cpu_ticks "$prim_pid")"
  b0="$(cpu_ticks "$sec_pid")"
  n="$(fio_writes "$uri" "$writes" 4)"
  a1="$(cpu_ticks "$prim_pid")"
  b1="$(cpu_ticks "$sec_pid")"
  counts_stop
  prim_us="$(ratio "($a1 - $a0) / $tck * 1e6 / $n")"
  sec_us="$(ratio "($b1 - $b0) / $tck * 1e6 / $n")"
  add "| P11 | CPU per $([ "$write_bs" = 4k ] && echo "4 KiB" || echo "$write_bs") QD${write_qd} write, protocol C pair over loopback ($n writes after $warmup unmeasured) | Primary ${prim_us} µs ($(per_write primary "$n")), Secondary ${sec_us} µs ($(per_write secondary "$n")) | standalone agent ${alone_us} µs (${alone_counts}) | Primary / standalone **$(ratio "$prim_us / $alone_us")**; Secondary / standalone **$(ratio "$sec_us / $alone_us")** | ≤ 1.2; ≤ 1.0 |"
  for n in alpha beta; do ctl "$p/$n/ctl.sock" down r0 >/dev/null || true; done
  kill "$prim_pid" "$sec_pid" 2>/dev/null || true
  rm -f "$p/alpha/disk.img" "$p/beta/disk.img"
  profiles_report >&2
fi

if [[ " $parts " == *" p1r "* ]]; then
  # Reads: what a 4 KiB random read at QD32 costs the server that answers it, the standalone
  # agent against qemu-nbd on the same preconditioned file, and fio's own io_uring on that file
  # as the bound. Besides CPU, the mean number of requests the disk held while the reads ran
  # (its /sys inflight count, sampled): what a server keeps queued outside the disk at the
  # same client depth shows there.
  r="$wd/reads"
  mkdir -p "$r"
  precondition "$r/disk.img"
  src="$(df --output=source "$r" | tail -1)"
  inflight="/sys/class/block/$(basename "$src")/inflight"
  [ -r "$inflight" ] || inflight=""
  # fio_reads URI|FILE N SEED: N random 4 KiB reads at QD32 (through NBD for a URI, io_uring
  # with O_DIRECT for a file); prints "reads IOPS mean-latency-us fio-cpu-us-per-read".
  fio_reads() {
    local how
    case "$1" in
      nbd*) how=(--ioengine=nbd --uri="$1");;
      *) how=(--ioengine=io_uring --direct=1 --filename="$1");;
    esac
    fio --name=reads "${how[@]}" --rw=randread --bs=4k --iodepth=32 --number_ios="$2" --size="${size_mib}M" \
        --randseed="$3" --norandommap --randrepeat=0 --output-format=json --output="$r/fio-$3.json" \
        >/dev/null 2>&1 || die "fio reads failed; see $r/fio-$3.json"
    python3 -c "import json; j=json.load(open('$r/fio-$3.json'))['jobs'][0]; d=j['read']
print(d['total_ios'], round(d['iops']), round(d['lat_ns']['mean'] / 1000),
      round((j['usr_cpu'] + j['sys_cpu']) / 100 * d['runtime'] * 1e3 / max(1, d['total_ios']), 2))"
  }
  # depth_start / depth_stop: the disk's mean in-flight count over the measured reads.
  depth_start() {
    [ -n "$inflight" ] || return 0
    ( while :; do awk '{print $1}' "$inflight"; sleep 0.05; done >"$r/depth" ) &
    depth_pid="$!"
  }
  depth_stop() {
    [ -n "$inflight" ] || { echo "n/a"; return 0; }
    kill "$depth_pid" 2>/dev/null || true
    wait "$depth_pid" 2>/dev/null || true
    awk '{s += $1; n++} END {if (n) printf "%.1f", s / n; else print "n/a"}' "$r/depth"
  }
  # read_server PID URI NAME: warms PID's server up, then measures; sets read_row, read_us, read_iops.
  read_server() {
    fio_reads "$2" "$warmup" 11 >/dev/null
    counts_start "$1" "$3"
    depth_start
    local c0 c1 out n
    c0="$(cpu_ticks "$1")"
    out="$(fio_reads "$2" "$reads" 12)"
    c1="$(cpu_ticks "$1")"
    read_depth="$(depth_stop)"
    counts_stop
    n="${out%% *}"
    read_us="$(ratio "($c1 - $c0) / $tck * 1e6 / $n")"
    read_iops="$(echo "$out" | awk '{print $2}')"
    read_row="${read_us} µs ($(per_write "$3" "$n")), $(echo "$out" | awk '{printf "%d IOPS, mean %d µs", $2, $3}'), disk depth ${read_depth}"
  }
  standalone_up "$r"
  read_server "$agent_pid" "nbd+unix:///r0?socket=$r/r0.nbd" reads-repl
  repl_row="$read_row" repl_us="$read_us" repl_iops="$read_iops"
  ctl "$r/ctl.sock" down r0 >/dev/null || true
  kill "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
  qemu-nbd --cache=none --aio=io_uring -f raw -k "$r/q.sock" -e 4 -t "$r/disk.img" >"$r/qemu-nbd.log" 2>&1 &
  q_pid="$!"
  pids+=("$q_pid")
  for i in $(seq 1 100); do [ -S "$r/q.sock" ] && break; sleep 0.1; done
  read_server "$q_pid" "nbd+unix:///?socket=$r/q.sock" reads-qemu
  q_row="$read_row" q_us="$read_us" q_iops="$read_iops"
  kill "$q_pid" 2>/dev/null || true
  wait "$q_pid" 2>/dev/null || true
  fio_reads "$r/disk.img" "$warmup" 21 >/dev/null
  depth_start
  raw="$(fio_reads "$r/disk.img" "$reads" 22)"
  raw_depth="$(depth_stop)"
  raw_iops="$(echo "$raw" | awk '{print $2}')"
  add "| P1 | CPU per 4 KiB QD32 random read of the server that answers it, fio through NBD ($reads reads after $warmup unmeasured, O_DIRECT) | standalone agent ${repl_row} | qemu-nbd --cache=none --aio=io_uring ${q_row}; fio io_uring on the file: $(echo "$raw" | awk '{printf "%d IOPS, mean %d µs, fio'"'"'s own CPU %s µs per read", $2, $3, $4}'), disk depth ${raw_depth} | CPU repl / qemu-nbd **$(ratio "$repl_us / $q_us")**; IOPS in this run: repl / qemu-nbd $(ratio "$repl_iops / $q_iops"), repl / fio on the file $(ratio "$repl_iops / $raw_iops") | IOPS ≥ 1.2× qemu-nbd and ≥ 0.8 of the file, judged by bench/run-e2e.sh |"
  rm -f "$r/disk.img"
fi

if [[ " $parts " == *" p9 "* ]]; then
  # Resident memory with a large volume: sparse files, random writes spread over all of it.
  pair_up "$wd/p9" sparse "$p9_mib"
  write_bs=4k write_qd=32 fio_writes "nbd+unix:///r0?socket=$wd/p9/alpha/r0.nbd" "$p9_writes" 5 "$p9_mib" >/dev/null
  rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
  add "| P9 | agent RSS, protocol C pair, $((p9_mib >> 10)) GiB volume, after $p9_writes random 4 KiB writes over all of it | Primary **$(rss "$prim_pid") MiB**, Secondary **$(rss "$sec_pid") MiB** | — | — | ≤ 200 MiB |"
  for n in alpha beta; do ctl "$wd/p9/$n/ctl.sock" down r0 >/dev/null || true; done
  rm -f "$wd/p9/alpha/disk.img" "$wd/p9/beta/disk.img"
fi

if [[ " $parts " == *" p12 "* ]]; then
  # replctl status against a running agent with one resource, as an operator or a script runs it.
  c="$wd/cli"
  mkdir -p "$c"
  truncate -s 64M "$c/disk.img"
  standalone_up "$c"
  for i in $(seq 1 100); do ctl "$c/ctl.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
  times=()
  cpus=()
  for i in $(seq 1 "$cli_runs"); do
    t0="$(date +%s%N)"
    if [ -x /usr/bin/time ]; then
      # The client's own CPU (user + system), which a busy machine inflates less than wall time.
      /usr/bin/time -f "%U %S" -o "$c/time" "$dist/bin/replctl" --control-socket "$c/ctl.sock" status >/dev/null
    else
      ctl "$c/ctl.sock" status >/dev/null
    fi
    t1="$(date +%s%N)"
    times+=("$(( (t1 - t0) / 1000000 ))")
    [ -s "$c/time" ] && cpus+=("$(awk '{printf "%d", ($1 + $2) * 1000}' "$c/time")")
  done
  sorted="$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')"
  median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  cpu="—"
  if [ "${#cpus[@]}" -gt 0 ]; then
    cpu="user+sys median $(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms"
    cpu="$cpu (all: $(printf '%s\n' "${cpus[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'))"
  fi
  add "| P12 | \`replctl status\` wall time, ${cli_runs} runs against a running agent | median **${median} ms** (all: ${sorted% }) | ${cpu} | — | ≤ 150 ms |"
fi

if [[ " $parts " == *" p10 "* ]]; then
  # A switchover as an operator does it: 'replctl secondary' on the Primary, 'replctl primary' on
  # the other node, then one 4 KiB write through its export (libnbd from Python: connect, write,
  # disconnect). Timed from the start of the first command to the end of the write; the same
  # write against a node that is Primary already is timed too, as what the client alone costs.
  pair_up "$wd/p10" sparse 64
  p="$wd/p10"
  write4k() {
    /usr/bin/python3 -c 'import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"\1" * 4096, 0)
h.shutdown()' "nbd+unix:///r0?socket=$p/$1/r0.nbd"
  }
  ms() { echo $(( ($2 - $1) / 1000000 )); }
  from=alpha to=beta
  sw=() demote=() promote=() first=() wr=()
  for i in $(seq 1 "$switches"); do
    ctl "$p/$to/ctl.sock" wait-sync r0 --timeout 60 >/dev/null || die "$to not in sync before switchover $i"
    t0="$(date +%s%N)"
    ctl "$p/$from/ctl.sock" secondary r0 >/dev/null || die "secondary on $from"
    t1="$(date +%s%N)"
    ctl "$p/$to/ctl.sock" primary r0 >/dev/null || die "primary on $to"
    t2="$(date +%s%N)"
    write4k "$to" || die "write on $to after switchover $i"
    t3="$(date +%s%N)"
    write4k "$to" || die "second write on $to"
    t4="$(date +%s%N)"
    sw+=("$(ms "$t0" "$t3")")
    demote+=("$(ms "$t0" "$t1")")
    promote+=("$(ms "$t1" "$t2")")
    first+=("$(ms "$t2" "$t3")")
    wr+=("$(ms "$t3" "$t4")")
    tmp="$from" from="$to" to="$tmp"
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  add "| P10 | switchover of a connected protocol C pair: \`replctl secondary\` on one node, \`replctl primary\` on the other, first 4 KiB write through its export (libnbd, Python), ${switches} times back and forth | median **$(median "${sw[@]}") ms** (all: ${sw[*]}); medians of its steps: secondary $(median "${demote[@]}"), primary $(median "${promote[@]}"), first write $(median "${first[@]}") ms | the same write to a node already Primary (the client's own cost): median $(median "${wr[@]}") ms | — | ≤ 1 s |"
  for n in alpha beta; do ctl "$p/$n/ctl.sock" down r0 >/dev/null || true; done
  kill "$prim_pid" "$sec_pid" 2>/dev/null || true
  rm -f "$p/alpha/disk.img" "$p/beta/disk.img"
fi

bench_publish cpu "CPU per write and per read, memory and the CLI (P11, P1, P9, P12, P10)" "load average before the run ${load0}"
