# Shared by the bench harnesses (bench/run-*.sh other than run-e2e.sh), sourced after they set
# root (the source tree), wd (this run's directory) and bench_name (their log prefix).
# bench_start TOOL... then checks the tools, arranges the cleanup, refuses tmpfs, builds the
# agent unless BENCH_NO_BUILD=1, and lays out its scripts and jars under $wd/dist as the
# tarball does; $dist names that directory.

pids=()

log() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$bench_name" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Stops every process in $pids, deletes the disk images, keeps the logs of a failed run.
bench_cleanup() {
  local rc=$? p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  [ -d "$wd" ] && find "$wd" -name '*.img' -type f -delete 2>/dev/null || true
  rm -rf "$wd/dist"
  [ "$rc" -eq 0 ] || log "failed (exit $rc); logs in $wd"
  exit "$rc"
}

bench_start() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing (bench/run-e2e.sh installs it)"
  done
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$wd"
  case "$(df -T "$wd" | awk 'NR==2 {print $2}')" in
    tmpfs|ramfs) die "$wd is on tmpfs: O_DIRECT is what is measured, use a real file system (BENCH_WORK)";;
  esac
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the agent"
    ( cd "$root" && ./mvnw -B -q -o -pl repl-agent -am package -DskipTests >/dev/null 2>&1 ) || die "build failed"
  fi
  # BENCH_JARS=DIR: the agent's jars from DIR instead (say, a copy of an earlier build, to
  # compare two versions in turn under the same load).
  local jars="${BENCH_JARS:-$root/repl-agent/target/lib}"
  [ -d "$jars" ] || die "no agent jars in $jars; build first"
  dist="$wd/dist"
  mkdir -p "$dist/bin" "$dist/lib"
  cp "$root/bin/repl-launch" "$root/bin/repl-agent" "$root/bin/replctl" "$dist/bin/"
  cp "$jars/"*.jar "$dist/lib/"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pair_config DIR [NET_LINES] [DISK_LINES]: r0.toml for a protocol C pair on loopback (two free
# ports) in DIR/alpha/cfg and DIR/beta/cfg, each node's disk DIR/NODE/disk.img and export
# DIR/NODE/r0.nbd; NET_LINES and DISK_LINES go into [net] and [disk].
pair_config() {
  local d="$1" net_lines="${2:-}" disk_lines="${3:-}" n port_a port_b
  port_a="$(free_port)"
  port_b="$(free_port)"
  while [ "$port_b" = "$port_a" ]; do port_b="$(free_port)"; done
  for n in alpha beta; do mkdir -p "$d/$n/cfg" "$d/$n/state"; done
  {
    echo 'protocol = "C"'
    echo '[net]'
    echo 'shared-secret = "bench"'
    [ -z "$net_lines" ] || echo "$net_lines"
    if [ -n "$disk_lines" ]; then echo '[disk]'; echo "$disk_lines"; fi
    for n in alpha beta; do
      echo "[node.$n]"
      echo "address = \"127.0.0.1:$([ $n = alpha ] && echo "$port_a" || echo "$port_b")\""
      echo "disk = \"$d/$n/disk.img\""
      echo "nbd-socket = \"$d/$n/r0.nbd\""
    done
  } >"$d/alpha/cfg/r0.toml"
  cp "$d/alpha/cfg/r0.toml" "$d/beta/cfg/r0.toml"
}

# ratio EXPR: a Python arithmetic expression, to three decimals.
ratio() { python3 -c "print(f'{$1:.3f}')"; }

# Rows of the results table, each "| # | what | measured | reference | ratio | goal |".
results=()
add() { results+=("$1"); log "$1"; }

# bench_publish NAME TITLE DETAIL: the table under "## TITLE" with the run's facts and DETAIL,
# into the keep:NAME section of $out (BENCH_OUT=- prints it instead).
bench_publish() {
  local section
  section="$(
    echo "## $2"
    echo
    echo "\`bench/$(basename "$0")\`, $(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -r), commit $(git -C "$root" rev-parse --short HEAD), $3."
    echo
    echo "| # | what | measured | reference | ratio | goal |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${results[@]}"
  )"
  if [ "$out" = - ]; then
    echo "$section"
  else
    printf '%s\n' "$section" | python3 "$root/bench/e2e/sections.py" --out "$out" --name "$1"
  fi
  log "done; logs in $wd"
}
