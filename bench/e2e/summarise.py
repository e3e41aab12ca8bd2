#!/usr/bin/env python3
"""Turns the fio JSON of one bench/run-e2e.sh run into bench/RESULTS.md and a PNG chart.

Every number in the ratios is measured side by side in the same run: for each round, each
target ran each workload once, so a ratio of round means compares runs minutes apart at most.
Standard library only (the harness runs on fresh machines without pip).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

# Row order and labels. A target not listed here (a later replicated row, say "repl-C") is
# still reported, after these, under its own id.
TARGETS = {
    "repl-uring": "repl, io_uring engine (nbd)",
    "repl-fc": "repl, FileChannel engine (nbd)",
    "qemu-nbd": "qemu-nbd --cache=none --aio=io_uring (nbd)",
    "raw-uring": "fio io_uring --direct=1 on the file",
}
WORKLOADS = {
    "randwrite-4k-qd32": "4 KiB random write, QD32",
    "randread-4k-qd32": "4 KiB random read, QD32",
    "randwrite-4k-qd1-sync": "4 KiB random write, QD1, flush after every write",
    "write-1m-qd8": "1 MiB sequential write, QD8",
}
# P1 covers these workloads; P2 the 4 KiB QD32 ones.
SHORT = {
    "randwrite-4k-qd32": "randwrite QD32",
    "randread-4k-qd32": "randread QD32",
    "randwrite-4k-qd1-sync": "randwrite QD1+flush",
    "write-1m-qd8": "write 1M QD8",
}
P1_WORKLOADS = ["randwrite-4k-qd32", "randread-4k-qd32", "write-1m-qd8"]
P2_WORKLOADS = ["randwrite-4k-qd32", "randread-4k-qd32"]
P1_VS_QEMU_MIN = 1.2
P1_VS_RAW_MIN = 0.8
P2_MIN = 1.5
HISTORY_MARKER = "<!-- history: kept across runs by bench/e2e/summarise.py, newest first -->"
FILE_RE = re.compile(r"^fio__(?P<w>[^_]+)__(?P<t>[^_]+)__r(?P<r>\d+)\.json$")


def load(path):
    """One fio JSON file as a flat dict of the numbers the report uses."""
    with open(path) as f:
        text = f.read()
    # fio may print notices before the JSON document.
    j = json.loads(text[text.index("{"):])
    job = j["jobs"][0]
    side = max(("read", "write"), key=lambda k: job[k]["io_bytes"])
    d = job[side]
    pct = d["clat_ns"].get("percentile", {})
    sync = job.get("sync", {}).get("lat_ns", {})
    spct = sync.get("percentile", {}) if sync else {}
    return {
        "iops": d["iops"],
        "mbps": d["bw_bytes"] / 1e6,
        "p50_us": pct.get("50.000000", 0) / 1e3,
        "p99_us": pct.get("99.000000", 0) / 1e3,
        "sync_p50_us": spct.get("50.000000", 0) / 1e3,
        "sync_p99_us": spct.get("99.000000", 0) / 1e3,
        "errors": job.get("error", 0),
        "cpu_sys": job.get("sys_cpu", 0),
        "cpu_usr": job.get("usr_cpu", 0),
    }


def brief(path):
    r = load(path)
    s = f"{r['iops']:.0f} IOPS, {r['mbps']:.1f} MB/s, p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us"
    if r["sync_p50_us"]:
        s += f", flush p50 {r['sync_p50_us']:.0f} us"
    return s


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def collect(run_dir):
    runs = defaultdict(lambda: defaultdict(dict))  # workload -> target -> round -> numbers
    for name in sorted(os.listdir(run_dir)):
        m = FILE_RE.match(name)
        if m:
            runs[m["w"]][m["t"]][int(m["r"])] = load(os.path.join(run_dir, name))
    return runs


def ordered(keys, known):
    return [k for k in known if k in keys] + sorted(k for k in keys if k not in known)


def ratio(runs_w, a, b):
    """Ratio of mean IOPS of a to b, and the per-round ratios (same round = side by side)."""
    if a not in runs_w or b not in runs_w:
        return None, []
    ra, rb = runs_w[a], runs_w[b]
    rounds = sorted(set(ra) & set(rb))
    per = [ra[r]["iops"] / rb[r]["iops"] for r in rounds if rb[r]["iops"] > 0]
    ma, mb = mean([ra[r]["iops"] for r in rounds]), mean([rb[r]["iops"] for r in rounds])
    return (ma / mb if mb else None), per


def fmt_ratio(value, per):
    if value is None:
        return "n/a"
    spread = ""
    if len(per) > 1:
        spread = f" ({min(per):.2f}–{max(per):.2f})"
    return f"**{value:.2f}**{spread}"


def read_meta(run_dir):
    meta = {}
    with open(os.path.join(run_dir, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def workload_table(w, runs_w, meta):
    sync = w.endswith("-sync")
    lines = [f"### {WORKLOADS.get(w, w)} (`{w}`)", ""]
    head = "| target | IOPS | MB/s | p50 µs | p99 µs |"
    rule = "|---|---:|---:|---:|---:|"
    if sync:
        head += " flush p50 µs | flush p99 µs |"
        rule += "---:|---:|"
    head += " IOPS per round |"
    rule += "---|"
    lines += [head, rule]
    for t in ordered(runs_w.keys(), TARGETS):
        rs = [runs_w[t][r] for r in sorted(runs_w[t])]
        row = (f"| {TARGETS.get(t, t)} | {mean([x['iops'] for x in rs]):,.0f} | "
               f"{mean([x['mbps'] for x in rs]):,.1f} | {mean([x['p50_us'] for x in rs]):,.0f} | "
               f"{mean([x['p99_us'] for x in rs]):,.0f} |")
        if sync:
            row += (f" {mean([x['sync_p50_us'] for x in rs]):,.0f} |"
                    f" {mean([x['sync_p99_us'] for x in rs]):,.0f} |")
        row += " " + " / ".join(f"{x['iops']:,.0f}" for x in rs) + " |"
        lines.append(row)
    lines.append("")
    pairs = [("repl-uring", "qemu-nbd", "repl / qemu-nbd"),
             ("repl-uring", "raw-uring", "repl / raw io_uring"),
             ("repl-uring", "repl-fc", "io_uring / FileChannel (repl)"),
             ("qemu-nbd", "raw-uring", "qemu-nbd / raw io_uring")]
    cells = []
    for a, b, label in pairs:
        v, per = ratio(runs_w, a, b)
        if v is not None:
            cells.append(f"{label} {fmt_ratio(v, per)}")
    if cells:
        lines.append("IOPS ratios (mean of rounds; per-round range in brackets): " + "; ".join(cells) + ".")
        lines.append("")
    if sync:
        lines.append("p50/p99 here are of the write alone; the flush that follows each write is in the flush "
                     "columns, and IOPS counts write+flush pairs.")
        lines.append("")
    return lines


def verdicts(runs):
    out = []
    ok, gaps = True, []
    measured = False
    for w in P1_WORKLOADS:
        vq, _ = ratio(runs.get(w, {}), "repl-uring", "qemu-nbd")
        vr, _ = ratio(runs.get(w, {}), "repl-uring", "raw-uring")
        if vq is None or vr is None:
            continue
        measured = True
        good = vq >= P1_VS_QEMU_MIN and vr >= P1_VS_RAW_MIN
        ok &= good
        gaps.append(f"{w}: vs qemu-nbd {vq:.2f} (goal ≥ {P1_VS_QEMU_MIN}, "
                    f"{'met' if vq >= P1_VS_QEMU_MIN else f'short by {P1_VS_QEMU_MIN - vq:.2f}'}), "
                    f"vs raw {vr:.2f} (goal ≥ {P1_VS_RAW_MIN}, "
                    f"{'met' if vr >= P1_VS_RAW_MIN else f'short by {P1_VS_RAW_MIN - vr:.2f}'})")
    if measured:
        out.append(f"- **P1 {'met' if ok else 'NOT met'}.** " + "; ".join(gaps) + ".")
    ok, gaps, measured = True, [], False
    for w in P2_WORKLOADS:
        v, _ = ratio(runs.get(w, {}), "repl-uring", "repl-fc")
        if v is None:
            continue
        measured = True
        ok &= v >= P2_MIN
        gaps.append(f"{w}: {v:.2f}× (goal ≥ {P2_MIN}, "
                    f"{'met' if v >= P2_MIN else f'short by {P2_MIN - v:.2f}'})")
    if measured:
        out.append(f"- **P2 {'met' if ok else 'NOT met'}.** io_uring / FileChannel IOPS: " + "; ".join(gaps) + ".")
    return out


def history_line(runs, meta):
    parts = []
    for w in ["randwrite-4k-qd32", "randread-4k-qd32", "randwrite-4k-qd1-sync", "write-1m-qd8"]:
        vq, _ = ratio(runs.get(w, {}), "repl-uring", "qemu-nbd")
        vf, _ = ratio(runs.get(w, {}), "repl-uring", "repl-fc")
        ru = runs.get(w, {}).get("repl-uring")
        if ru:
            iops = mean([x["iops"] for x in ru.values()])
            s = f"{w} {iops:,.0f}"
            if vq is not None:
                s += f" ×{vq:.2f} qemu"
            if vf is not None:
                s += f" ×{vf:.2f} fc"
            parts.append(s)
    note = meta.get("note") or "(no note)"
    return (f"- {meta.get('date', '?')} `{meta.get('git', '?')}` — {note} — repl io_uring IOPS and ratios: "
            + "; ".join(parts))


def old_history(out_path):
    if not os.path.exists(out_path):
        return []
    with open(out_path) as f:
        text = f.read()
    if HISTORY_MARKER not in text:
        return []
    return [line for line in text.split(HISTORY_MARKER, 1)[1].strip("\n").split("\n") if line.strip()]


def chart(runs, png, run_dir):
    """Two panels: 4 KiB workloads in kIOPS, 1 MiB writes in MB/s; one bar per target."""
    ws = ordered(runs.keys(), WORKLOADS)
    ts = ordered({t for w in ws for t in runs[w]}, TARGETS)
    small = [w for w in ws if not w.startswith("write-1m")]
    big = [w for w in ws if w.startswith("write-1m")]

    def data(name, wl, key, scale):
        path = os.path.join(run_dir, name)
        with open(path, "w") as f:
            f.write("# workload " + " ".join(ts) + "\n")
            for w in wl:
                vals = []
                for t in ts:
                    rs = runs[w].get(t, {})
                    vals.append(f"{mean([x[key] for x in rs.values()]) / scale:.2f}" if rs else "0")
                f.write('"' + SHORT.get(w, w) + '" ' + " ".join(vals) + "\n")
        return path

    d1 = data("chart-small.dat", small, "iops", 1000)
    d2 = data("chart-big.dat", big, "mbps", 1)
    plots = []
    for i, t in enumerate(ts):
        plots.append(f"'{{f}}' using {i + 2}:xtic(1) title '{t}'")
    script = f"""
set terminal pngcairo size 1200,520 font ',10'
set output '{png}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key outside bottom center horizontal
set yrange [0:*]
set multiplot layout 1,2 title 'repl end-to-end ({run_dir.rsplit("/", 1)[-1]})'
set title '4 KiB workloads'
set ylabel 'kIOPS'
plot {", ".join(p.replace("{f}", d1) for p in plots)}
set title '1 MiB sequential write, QD8'
set ylabel 'MB/s'
plot {", ".join(p.replace("{f}", d2) for p in plots)}
unset multiplot
"""
    gp = os.path.join(run_dir, "chart.gp")
    with open(gp, "w") as f:
        f.write(script)
    res = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if res.returncode != 0:
        # pngcairo is in gnuplot-nox; fall back to the plain png terminal if it is not.
        with open(gp, "w") as f:
            f.write(script.replace("pngcairo size 1200,520 font ',10'", "png size 1200,520"))
        subprocess.run(["gnuplot", gp], check=True)


def report(run_dir, out_path, png):
    runs = collect(run_dir)
    meta = read_meta(run_dir)
    lines = [
        "# End-to-end results",
        "",
        "Written by `bench/run-e2e.sh` (see `bench/README.md`); everything above the history is",
        "replaced on every run. All ratios compare targets measured side by side in the same run.",
        "",
        "## Machine",
        "",
        f"- CPU: {meta.get('cpu')}, {meta.get('cores')} cores",
        f"- kernel {meta.get('kernel')}, file system {meta.get('fs')}",
        f"- JDK: {meta.get('jdk')}; {meta.get('fio')}; {meta.get('qemu')}",
        f"- run {meta.get('date')} at `{meta.get('git')}`: {meta.get('size_gib')} GiB preconditioned backing file "
        f"per target, {meta.get('rounds')} rounds of {meta.get('runtime')} s (+{meta.get('ramp')} s ramp) per "
        f"workload and target, target order reversed every other round",
    ]
    if meta.get("note"):
        lines.append(f"- note: {meta['note']}")
    lines += ["", "## Verdicts", ""]
    lines += verdicts(runs) or ["- nothing to judge in this run"]
    lines += ["", f"![IOPS and throughput per target]({os.path.basename(png)})", "",
              "## Single node, no peer (P1, P2)", ""]
    for w in ordered(runs.keys(), WORKLOADS):
        lines += workload_table(w, runs[w], meta)
    lines += [
        "## Replicated (P3, P4)",
        "",
        "Not measured yet. Rows for two agents over loopback (protocol A, B, C) go in the workload",
        "tables above as further targets (`repl-A`, `repl-B`, `repl-C`), with their ratios to",
        "`repl-uring` (the agent alone) and to the two-writer bound here.",
        "",
        "## History",
        "",
        HISTORY_MARKER,
        history_line(runs, meta),
    ]
    lines += old_history(out_path)
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1, default=dict)
    chart(runs, png, run_dir)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--brief", help="print one line for one fio JSON file")
    p.add_argument("--dir", help="run directory with fio-*.json and meta.txt")
    p.add_argument("--out", default="bench/RESULTS.md")
    p.add_argument("--png", default="bench/results.png")
    a = p.parse_args()
    if a.brief:
        print(brief(a.brief))
    elif a.dir:
        report(a.dir, a.out, os.path.abspath(a.png))
    else:
        p.error("give --brief FILE or --dir RUN_DIR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
