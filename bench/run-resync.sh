#!/usr/bin/env bash
# P6: resync time and bytes against the fraction of the volume dirtied during an outage, on a
# sparse volume; writes its section of bench/RESULTS.md and bench/resync.png.
# See bench/README.md ("Resync after an outage") and bench/e2e/resync.py.
#
# Usage: bench/run-resync.sh       (from anywhere; a few minutes with the defaults)
# Knobs (environment):
#   BENCH_RESYNC_GIB=8                       size of each sparse backing file
#   BENCH_RESYNC_FRACTIONS="0.001 0.01 0.05" fractions of the volume dirtied, one resync each
#   BENCH_WORK=bench/work   BENCH_OUT=bench/RESULTS.md   BENCH_RESYNC_PNG=bench/resync.png
#   BENCH_NOTE="..."   BENCH_NO_BUILD=1
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
missing=()
for pair in fio:fio nbdinfo:libnbd-bin gnuplot:gnuplot-nox ss:iproute2 python3:python3; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
work="${BENCH_WORK:-$here/work}"
mkdir -p "$work"
case "$(df -T "$work" | awk 'NR==2 {print $2}')" in
  tmpfs|ramfs) echo "bench: $work is on tmpfs; O_DIRECT needs a real file system (BENCH_WORK)" >&2; exit 1 ;;
esac
exec python3 "$here/e2e/resync.py"
