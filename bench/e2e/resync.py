#!/usr/bin/env python3
"""P6: resync after an outage, against the fraction of the volume dirtied while apart.

Two repl agents (alpha, beta, protocol C, loopback) on sparse backing files of
BENCH_RESYNC_GIB (8) GiB with internal metadata. The initial full sync (alpha promoted with
--force) is timed as the reference. Then, for each fraction in BENCH_RESYNC_FRACTIONS:

1. beta disconnects;
2. fio writes that fraction of the volume through alpha's export, 4 KiB random writes with
   fio's random map (every block at most once, so the dirtied bytes are exactly the bytes
   written);
3. beta connects, and the resync runs to the end.

Times come from the SyncTarget's own log (from "event before-resync-target" to "resync as
target finished", nanosecond timestamps), so no replctl start-up is counted. Bytes are the
TCP bytes alpha's agent sent on its peer connection during the resync (tcp_info bytes_sent
of its sockets, read with `ss`, before the connect and after the end), protocol and bitmap
exchange included.

The result goes into RESULTS.md as a section that the end-to-end harness keeps, and a PNG.
"""
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sections import replace_section  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
GIB = 1 << 30

size_gib = int(os.environ.get("BENCH_RESYNC_GIB", "8"))
fractions = [float(f) for f in os.environ.get("BENCH_RESYNC_FRACTIONS", "0.001 0.01 0.05").split()]
work = os.environ.get("BENCH_WORK", os.path.join(BENCH, "work"))
out = os.environ.get("BENCH_OUT", os.path.join(BENCH, "RESULTS.md"))
png = os.environ.get("BENCH_RESYNC_PNG", os.path.join(BENCH, "resync.png"))
note = os.environ.get("BENCH_NOTE", "")

run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
wd = os.path.join(work, "resync-" + run_id)
procs = []


def log(msg):
    print(time.strftime("%H:%M:%S") + " resync bench: " + msg, file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    raise SystemExit(1)


def run(*args, check=True, **kw):
    res = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        die(f"{' '.join(args)} exited {res.returncode}: {res.stderr.strip() or res.stdout.strip()}")
    return res


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build():
    if os.environ.get("BENCH_NO_BUILD") == "1":
        return
    log("building the agent")
    if subprocess.run(["./mvnw", "-B", "-q", "-o", "-DskipTests", "package"], cwd=ROOT,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        die("build failed (./mvnw -o -DskipTests package)")


def make_dist():
    """A private copy in the tarball's layout, so a rebuild during the run changes nothing."""
    dist = os.path.join(wd, "dist")
    os.makedirs(os.path.join(dist, "bin"))
    shutil.copytree(os.path.join(ROOT, "repl-agent", "target", "lib"), os.path.join(dist, "lib"))
    for f in ("repl-launch", "repl-agent", "replctl"):
        shutil.copy2(os.path.join(ROOT, "bin", f), os.path.join(dist, "bin", f))
    return dist


class Node:
    def __init__(self, dist, name, config):
        self.name = name
        self.dir = os.path.join(wd, name)
        os.makedirs(os.path.join(self.dir, "cfg"))
        os.makedirs(os.path.join(self.dir, "state"))
        self.disk = os.path.join(self.dir, "disk.img")
        with open(self.disk, "wb") as f:
            f.truncate(size_gib * GIB)
        with open(os.path.join(self.dir, "cfg", "r0.toml"), "w") as f:
            f.write(config)
        self.ctl_sock = os.path.join(self.dir, "ctl.sock")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.dist = dist
        env = dict(os.environ, REPL_JAVA_OPTS="-Xms64m -Xmx256m -XX:MaxDirectMemorySize=512m "
                                              "-XX:+ExitOnOutOfMemoryError")
        self.proc = subprocess.Popen(
            [os.path.join(dist, "bin", "repl-agent"), "--config-dir", os.path.join(self.dir, "cfg"),
             "--node", name, "--control-socket", self.ctl_sock, "--state-dir", os.path.join(self.dir, "state")],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, env=env)
        procs.append(self.proc)
        for _ in range(300):
            if os.path.exists(self.ctl_sock):
                break
            if self.proc.poll() is not None:
                die(f"agent {name} exited during start-up; see {self.log_path}")
            time.sleep(0.1)
        else:
            die(f"agent {name} has no control socket; see {self.log_path}")

    def ctl(self, *args, check=True):
        return run(os.path.join(self.dist, "bin", "replctl"), "--control-socket", self.ctl_sock, *args, check=check)

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)["resources"][0]

    def tcp_bytes_sent(self):
        """Sum of tcp_info bytes_sent over this agent's TCP sockets (its peer connection)."""
        text = run("ss", "-tinpH", "state", "established").stdout
        total, mine = 0, False
        for line in text.split("\n"):
            if not line.strip():
                continue
            if not line[0].isspace():
                mine = f"pid={self.proc.pid}," in line
                continue
            if mine:
                m = re.search(r"\bbytes_sent:(\d+)", line)
                if m:
                    total += int(m.group(1))
        return total

    def sync_seconds_since(self, mark):
        """Seconds from the last 'before-resync-target' to 'resync as target finished' after byte
        offset {@code mark} of the log."""
        with open(self.log_path) as f:
            f.seek(mark)
            text = f.read()
        start = end = None
        for line in text.split("\n"):
            if "event before-resync-target" in line:
                start = stamp(line)
            elif "resync as target finished" in line:
                end = stamp(line)
        if start is None or end is None:
            die(f"no resync start and end in {self.log_path} after byte {mark}")
        return end - start

    def log_size(self):
        return os.path.getsize(self.log_path)


def stamp(line):
    ts = line.split(" ", 1)[0]
    m = re.match(r"(\d+-\d+-\d+T\d+:\d+:\d+)(?:\.(\d+))?Z", ts)
    if not m:
        die("unexpected log time stamp " + ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    frac = int((m.group(2) or "0").ljust(9, "0")[:9])
    return base.timestamp() + frac / 1e9


def wait_for(what, check, timeout=900):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    die("timed out waiting for " + what)


def start_pair(dist):
    port_a, port_b = free_port(), free_port()
    while port_b == port_a:
        port_b = free_port()
    config = f"""protocol = "C"
[net]
shared-secret = "bench"
[node.alpha]
address = "127.0.0.1:{port_a}"
disk = "{wd}/alpha/disk.img"
nbd-socket = "{wd}/alpha/r0.nbd"
[node.beta]
address = "127.0.0.1:{port_b}"
disk = "{wd}/beta/disk.img"
nbd-socket = "{wd}/beta/r0.nbd"
"""
    alpha, beta = Node(dist, "alpha", config), Node(dist, "beta", config)
    for n in (alpha, beta):
        n.ctl("create-md", "r0")
        n.ctl("up", "r0")
    for n in (alpha, beta):
        n.ctl("wait-connect", "r0", "--timeout", "60")
    return alpha, beta


def synced(alpha, beta):
    a, b = alpha.status(), beta.status()
    return (a["replication"] == "Established" and b["replication"] == "Established"
            and a["disk"] == "UpToDate" and b["disk"] == "UpToDate")


def resync(alpha, beta, connect):
    """Runs {@code connect} (which starts a resync) and returns (seconds, bytes alpha sent)."""
    mark = beta.log_size()
    sent0 = alpha.tcp_bytes_sent()
    connect()
    beta.ctl("wait-sync", "r0", "--timeout", "900")
    wait_for("both UpToDate and Established", lambda: synced(alpha, beta))
    sent = alpha.tcp_bytes_sent() - sent0
    return beta.sync_seconds_since(mark), sent


def disk_bound(volume, dirtied, fraction):
    """What the resync cannot beat on this machine: fio reading as many random 4 KiB blocks from
    alpha's file while writing as many to beta's (the agents down), both at queue depth 32 with
    O_DIRECT, at once. Returns the seconds the slower of the two took."""
    out_json = f"{wd}/fio-disks-{fraction}.json"
    common = ["--bs=4k", "--iodepth=32", "--ioengine=io_uring", "--direct=1", f"--size={volume // 4096 * 4096}",
              f"--io_size={dirtied}", "--randrepeat=0", "--norandommap=0"]
    run("fio", "--output-format=json", f"--output={out_json}",
        "--name=source-reads", f"--filename={wd}/alpha/disk.img", "--rw=randread", *common,
        "--name=target-writes", f"--filename={wd}/beta/disk.img", "--rw=randwrite", *common)
    with open(out_json) as f:
        jobs = json.load(f)["jobs"]
    return max(j["job_runtime"] for j in jobs) / 1000.0


def main():
    os.makedirs(wd)
    build()
    dist = make_dist()
    alpha, beta = start_pair(dist)
    log(f"pair up on {size_gib} GiB sparse files in {wd}")
    full_s, full_bytes = resync(alpha, beta, lambda: alpha.ctl("primary", "--force", "r0"))
    volume = alpha.status()["sizeBytes"]
    log(f"full sync of {volume} bytes: {full_s:.2f} s, {full_bytes} bytes on the wire")
    uri = f"nbd+unix:///r0?socket={wd}/alpha/r0.nbd"
    rows = []
    for fraction in fractions:
        blocks = max(1, int(volume * fraction) // 4096)
        dirtied = blocks * 4096
        beta.ctl("disconnect", "r0")
        wait_for("alpha to lose beta", lambda: alpha.status()["connection"] != "Connected")
        run("fio", "--name=dirty", "--ioengine=nbd", f"--uri={uri}", "--rw=randwrite", "--bs=4k",
            "--iodepth=32", f"--size={volume // 4096 * 4096}", f"--io_size={dirtied}",
            "--randrepeat=0", "--refill_buffers=1", "--output-format=json",
            f"--output={wd}/fio-dirty-{fraction}.json")
        marked = alpha.status()["outOfSyncBytes"]
        secs, sent = resync(alpha, beta, lambda: beta.ctl("connect", "r0"))
        rows.append({"fraction": fraction, "dirtied": dirtied, "marked": marked, "seconds": secs, "sent": sent})
        log(f"{fraction * 100:g} % dirtied ({dirtied} bytes, {marked} marked): resync {secs:.3f} s "
            f"({secs / full_s * 100:.2f} % of full), {sent} bytes sent ({sent / dirtied:.3f} x dirtied)")
    for n in (alpha, beta):
        n.ctl("down", "r0", check=False)
    for row in rows:
        row["disk_seconds"] = disk_bound(volume, row["dirtied"], row["fraction"])
        log(f"{row['fraction'] * 100:g} %: the disks alone take {row['disk_seconds']:.3f} s "
            f"(resync / disks {row['seconds'] / row['disk_seconds']:.2f})")
    result = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
              "git": run("git", "-C", ROOT, "rev-parse", "--short", "HEAD").stdout.strip(),
              "size_gib": size_gib, "volume": volume, "full_seconds": full_s, "full_sent": full_bytes,
              "rows": rows, "note": note}
    with open(os.path.join(wd, "resync.json"), "w") as f:
        json.dump(result, f, indent=1)
    write_section(result)
    plot(result)
    log(f"wrote {out} (section P6) and {png}")


def write_section(r):
    lines = [
        "## Resync after an outage (P6)",
        "",
        f"Written by `bench/run-resync.sh` on {r['date']} at `{r['git']}`"
        + (f" ({r['note']})" if r["note"] else "") + f": a protocol C pair on loopback, "
        f"{r['size_gib']} GiB sparse backing files, internal metadata. Full sync (reference): "
        f"{r['full_seconds']:.2f} s, {r['full_sent'] / 1e6:.1f} MB on the wire. Each row dirties the fraction "
        "with 4 KiB random writes on alpha while beta is disconnected (every block once), then "
        "connects; time from the SyncTarget's log, bytes are the TCP bytes alpha sent during the resync. "
        "`disks alone`: fio, after the agents are down, reading as many random 4 KiB blocks from alpha's "
        "file while writing as many to beta's, QD32 each, O_DIRECT, at once: the work a resync cannot skip, "
        "without the agents.",
        "",
        "| dirtied | bytes dirtied | marked out of sync | resync s | % of full sync (goal ≤ 3 % at 1 %) "
        "| disks alone s | resync / disks alone | bytes sent | sent / dirtied (goal ≤ 1.1) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        disks = row.get("disk_seconds")
        versus = f"| {disks:.3f} | {row['seconds'] / disks:.2f} " if disks else "| - | - "
        lines.append(f"| {row['fraction'] * 100:g} % | {row['dirtied']:,} | {row['marked']:,} | {row['seconds']:.3f} "
                     f"| {row['seconds'] / r['full_seconds'] * 100:.2f} % " + versus
                     + f"| {row['sent']:,} | {row['sent'] / row['dirtied']:.3f} |")
    one = [row for row in r["rows"] if abs(row["fraction"] - 0.01) < 1e-9]
    if one:
        t = one[0]["seconds"] / r["full_seconds"]
        b = one[0]["sent"] / one[0]["dirtied"]
        verdict = "met" if t <= 0.03 and b <= 1.1 else "NOT met"
        lines += ["", f"**P6 {verdict}** at 1 %: resync time {t * 100:.2f} % of the full sync (goal ≤ 3 %), "
                      f"bytes sent {b:.3f} × dirtied (goal ≤ 1.1)."]
    lines += ["", f"![resync time and bytes against the dirty fraction]({os.path.basename(png)})"]
    replace_section(out, "p6", lines)


def plot(r):
    dat = os.path.join(wd, "resync.dat")
    with open(dat, "w") as f:
        for row in r["rows"]:
            f.write(f"{row['fraction'] * 100:g} {row['seconds'] / r['full_seconds'] * 100:.4f} "
                    f"{row['sent'] / row['dirtied']:.4f}\n")
    gp = os.path.join(wd, "resync.gp")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 900,420 font ',10'
set output '{png}'
set title 'Resync after an outage, {r['size_gib']} GiB volume ({r['git']})'
set xlabel 'dirtied while disconnected, % of the volume'
set logscale x
set ylabel 'resync time, % of full sync'
set y2label 'bytes sent / bytes dirtied'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top left
plot '{dat}' using 1:2 with linespoints title 'time, % of full sync', \\
     '{dat}' using 1:3 axes x1y2 with linespoints title 'bytes sent / dirtied', \\
     3 with lines dashtype 2 title 'P6 time goal (3 %)'
""")
    subprocess.run(["gnuplot", gp], check=True)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    for name in ("alpha", "beta"):
        disk = os.path.join(wd, name, "disk.img")
        if os.path.exists(disk):
            os.remove(disk)
    shutil.rmtree(os.path.join(wd, "dist"), ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
