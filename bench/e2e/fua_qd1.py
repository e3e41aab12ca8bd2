#!/usr/bin/python3
"""QD1 4 KiB random writes with NBD_CMD_FLAG_FUA through libnbd, for P4.

fio's nbd engine cannot set FUA, so P4's durable write ("QD1 4 KiB with FUA") is measured
here: one synchronous libnbd pwrite with FUA at a time, each timed on its own. The output
is shaped like fio's JSON (one job, its write side) so summarise.py reads it as any run.

Usage: fua_qd1.py URI SIZE_BYTES RUNTIME_S RAMP_S OUT.json
Runs under the system python3, where Debian's python3-libnbd installs the nbd module.
"""
import json
import os
import random
import sys
import time

import nbd

BLOCK = 4096


def percentile(sorted_ns, p):
    if not sorted_ns:
        return 0
    i = min(len(sorted_ns) - 1, int(round(p / 100.0 * (len(sorted_ns) - 1))))
    return sorted_ns[i]


def main():
    uri, size, runtime, ramp, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    h = nbd.NBD()
    h.connect_uri(uri)
    if not h.can_fua():
        sys.exit(f"{uri}: the server does not offer FUA")
    blocks = min(size, h.get_size()) // BLOCK
    buf = bytearray(os.urandom(BLOCK))
    rng = random.Random()
    lat = []
    t_ramp = time.monotonic() + ramp
    while time.monotonic() < t_ramp:
        h.pwrite(buf, rng.randrange(blocks) * BLOCK, nbd.CMD_FLAG_FUA)
    start = time.monotonic()
    end = start + runtime
    while True:
        now = time.monotonic()
        if now >= end:
            break
        off = rng.randrange(blocks) * BLOCK
        buf[0:8] = int(now * 1e9).to_bytes(8, "little")
        t0 = time.perf_counter_ns()
        h.pwrite(buf, off, nbd.CMD_FLAG_FUA)
        lat.append(time.perf_counter_ns() - t0)
    elapsed = time.monotonic() - start
    h.shutdown()
    lat.sort()
    pct = {f"{p:.6f}": percentile(lat, p) for p in (50.0, 99.0)}
    job = {
        "jobname": "fua-4k-qd1",
        "error": 0,
        "read": {"io_bytes": 0, "iops": 0, "bw_bytes": 0, "clat_ns": {}},
        "write": {"io_bytes": len(lat) * BLOCK, "iops": len(lat) / elapsed,
                  "bw_bytes": len(lat) * BLOCK / elapsed,
                  "clat_ns": {"mean": sum(lat) / len(lat) if lat else 0, "percentile": pct}},
    }
    with open(out, "w") as f:
        json.dump({"client": "libnbd pwrite with FUA, QD1", "jobs": [job]}, f)


if __name__ == "__main__":
    main()
