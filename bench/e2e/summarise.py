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

# Row order and labels. A target not listed here is still reported, after these, under its own id.
TARGETS = {
    "repl-uring": "repl, io_uring engine (nbd)",
    "repl-fc": "repl, FileChannel engine (nbd)",
    "repl-aio": "repl, Linux AIO engine (nbd)",
    "qemu-nbd": "qemu-nbd --cache=none --aio=io_uring (nbd)",
    "raw-uring": "fio io_uring --direct=1 on the file",
    "raw-two-writers": "fio io_uring --direct=1 on two files at once, per file",
    "repl-two-alone": "repl, two standalone agents at once, per agent (nbd)",
    "repl-A": "repl, two agents, protocol A (nbd)",
    "repl-B": "repl, two agents, protocol B (nbd)",
    "repl-C": "repl, two agents, protocol C (nbd)",
}
# The single-node tables (P1, P2) and the replicated ones (P3, P4, P5).
SINGLE = ["repl-uring", "repl-aio", "repl-fc", "qemu-nbd", "raw-uring"]
REPLICATED = ["repl-A", "repl-B", "repl-C"]
TWO_WRITERS = "raw-two-writers"
TWO_ALONE = "repl-two-alone"
ALONE = "repl-uring"
WORKLOADS = {
    "randwrite-4k-qd32": "4 KiB random write, QD32",
    "randread-4k-qd32": "4 KiB random read, QD32",
    "randwrite-4k-qd1-sync": "4 KiB random write, QD1, flush after every write",
    "fua-4k-qd1": "4 KiB random write with FUA, QD1 (libnbd client, bench/e2e/fua_qd1.py)",
    "write-1m-qd8": "1 MiB sequential write, QD8",
}
# P1 covers these workloads; P2 and P13 the 4 KiB QD32 ones.
SHORT = {
    "randwrite-4k-qd32": "randwrite QD32",
    "randread-4k-qd32": "randread QD32",
    "randwrite-4k-qd1-sync": "randwrite QD1+flush",
    "fua-4k-qd1": "write+FUA QD1",
    "write-1m-qd8": "write 1M QD8",
}
P1_WORKLOADS = ["randwrite-4k-qd32", "randread-4k-qd32", "write-1m-qd8"]
P2_WORKLOADS = ["randwrite-4k-qd32", "randread-4k-qd32"]
P1_VS_QEMU_MIN = 1.2
P1_VS_RAW_MIN = 0.8
P2_MIN = 1.5
P13_MIN = 1.5          # libaio / FileChannel engine, 4 KiB QD32 IOPS
P3_BOUND_MIN = 0.9     # repl-C / one of two standalone agents driven at once (per agent)
P3_IOPS_MIN = 0.7      # repl-C 4 KiB QD32 randwrite IOPS / repl alone
# P3's bound is judged on these workloads, by this number (equal ratios at a fixed block size;
# MB/s is what a 1 MiB write is read as).
P3_BOUND_WORKLOADS = [("randwrite-4k-qd32", "iops"), ("write-1m-qd8", "mbps")]
P3_LABELS = {"randwrite-4k-qd32": "4 KiB randwrite QD32", "write-1m-qd8": "1 MiB write QD8"}
P4_SLACK_US = 50.0     # p50(repl-C) <= p50(alone) + one loopback round trip + this
P5_MIN = 0.8           # initial sync rate / plain copy rate
HISTORY_MARKER = "<!-- history: kept across runs by bench/e2e/summarise.py, newest first -->"
FILE_RE = re.compile(r"^fio__(?P<w>[^_]+)__(?P<t>[^_]+)__r(?P<r>\d+)\.json$")


def load(path):
    """One fio JSON file as a flat dict of the numbers the report uses."""
    with open(path) as f:
        text = f.read()
    # fio may print notices before the JSON document.
    j = json.loads(text[text.index("{"):])
    # One job, or (raw-two-writers, repl-two-alone) one job per file or agent without
    # group_reporting: then every number is the mean over the jobs, i.e. per file or per agent
    # while all run at once.
    per_job = [one_job(job) for job in j["jobs"]]
    if len(per_job) == 1:
        return per_job[0]
    out = {k: mean([x[k] for x in per_job]) for k in per_job[0]}
    out["errors"] = max(x["errors"] for x in per_job)
    out["jobs"] = len(per_job)
    out["total_mbps"] = sum(x["mbps"] for x in per_job)
    return out


def one_job(job):
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
    if r.get("jobs"):
        m = FILE_RE.match(os.path.basename(path))
        each = "agent" if m and m["t"] == TWO_ALONE else "file"
        s += (f" (per {each}, mean of {r['jobs']} jobs running at once; "
              f"{r['iops'] * r['jobs']:.0f} IOPS, {r['total_mbps']:.1f} MB/s in all)")
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


def ratio(runs_w, a, b, key="iops"):
    """Ratio of the mean of key (IOPS unless told) of a to b over the rounds both ran, and the
    per-round ratios (same round = side by side)."""
    if a not in runs_w or b not in runs_w:
        return None, []
    ra, rb = runs_w[a], runs_w[b]
    rounds = sorted(set(ra) & set(rb))
    if not rounds:
        return None, []
    per = [ra[r][key] / rb[r][key] for r in rounds if rb[r][key] > 0]
    ma, mb = mean([ra[r][key] for r in rounds]), mean([rb[r][key] for r in rounds])
    return (ma / mb if mb else None), per


def mean_of(runs_w, t, key):
    rs = runs_w.get(t, {})
    return mean([x[key] for x in rs.values()]) if rs else None


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


def workload_table(w, runs_w, meta, only=None, title=None, pairs=None, key="iops"):
    sync = w.endswith("-sync")
    lines = [f"### {title or WORKLOADS.get(w, w)} (`{w}`)", ""]
    head = "| target | IOPS | MB/s | p50 µs | p99 µs |"
    rule = "|---|---:|---:|---:|---:|"
    if sync:
        head += " flush p50 µs | flush p99 µs |"
        rule += "---:|---:|"
    head += " IOPS per round |"
    rule += "---|"
    lines += [head, rule]
    for t in ordered(runs_w.keys(), TARGETS):
        if only is not None and t not in only:
            continue
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
    if pairs is None:
        pairs = [("repl-uring", "qemu-nbd", "repl / qemu-nbd"),
                 ("repl-uring", "raw-uring", "repl / raw io_uring"),
                 ("repl-uring", "repl-fc", "io_uring / FileChannel (repl)"),
                 ("repl-aio", "repl-fc", "libaio / FileChannel (repl)"),
                 ("qemu-nbd", "raw-uring", "qemu-nbd / raw io_uring")]
    cells = []
    for a, b, label in pairs:
        v, per = ratio(runs_w, a, b, key)
        if v is not None:
            cells.append(f"{label} {fmt_ratio(v, per)}")
    if cells:
        what = "IOPS" if key == "iops" else "MB/s"
        lines.append(f"{what} ratios (mean of rounds; per-round range in brackets): " + "; ".join(cells) + ".")
        lines.append("")
    if sync:
        lines.append("p50/p99 here are of the write alone; the flush that follows each write is in the flush "
                     "columns, and IOPS counts write+flush pairs.")
        lines.append("")
    return lines


def engine_verdict(runs, goal, target, label, minimum):
    """One line: {@code target}'s IOPS over the FileChannel engine's at 4 KiB QD32, against {@code minimum}."""
    ok, gaps = True, []
    for w in P2_WORKLOADS:
        v, _ = ratio(runs.get(w, {}), target, "repl-fc")
        if v is None:
            continue
        ok &= v >= minimum
        gaps.append(f"{w}: {v:.2f}× (goal ≥ {minimum}, "
                    f"{'met' if v >= minimum else f'short by {minimum - v:.2f}'})")
    if not gaps:
        return []
    return [f"- **{goal} {'met' if ok else 'NOT met'}.** {label} / FileChannel IOPS: " + "; ".join(gaps) + "."]


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
    out += engine_verdict(runs, "P2", "repl-uring", "io_uring", P2_MIN)
    out += engine_verdict(runs, "P13", "repl-aio", "libaio", P13_MIN)
    return out


def met(value, goal, higher=True, unit="", digits=2):
    if value is None:
        return "not measured"
    if (value >= goal) if higher else (value <= goal):
        return "met"
    gap = goal - value if higher else value - goal
    return f"short by {gap:.{digits}f}{unit}"


def p4_numbers(runs, meta):
    """P4 for one replicated target against the agent alone, on the QD1 write+flush workload.
    fio's nbd engine has no FUA, so a durable 4 KiB write is a write followed by a flush; its
    p50 is taken as p50(write) + p50(flush) (fio reports the two apart)."""
    w = runs.get("randwrite-4k-qd1-sync", {})
    f = runs.get("fua-4k-qd1", {})
    rtt = float(meta.get("rtt_tcp_us") or 0) or None
    res = {}
    for t in REPLICATED + [ALONE]:
        wr, fl = mean_of(w, t, "p50_us"), mean_of(w, t, "sync_p50_us")
        fua = mean_of(f, t, "p50_us")
        if wr is not None or fua is not None:
            res[t] = {"write": wr, "flush": fl, "durable": (wr or 0) + (fl or 0) if wr is not None else None,
                      "pair_us": 1e6 / mean_of(w, t, "iops") if wr is not None and mean_of(w, t, "iops") else None,
                      "fua": fua}
    return res, rtt


def p5_numbers(meta):
    out = {}
    copy_s = float(meta.get("copy_seconds") or 0)
    copy_b = float(meta.get("copy_bytes") or 0)
    copy_rate = copy_b / copy_s if copy_s else None
    for t in REPLICATED:
        s, b = meta.get(f"sync_{t}_seconds"), meta.get(f"sync_{t}_bytes")
        if s and b:
            rate = float(b) / float(s)
            conc = int(meta.get(f"sync_{t}_concurrent") or 1)
            out[t] = {"seconds": float(s), "bytes": int(b), "rate": rate, "concurrent": conc,
                      "ratio": rate / copy_rate if copy_rate else None}
    return out, copy_rate, copy_s, copy_b


def p3_checks(runs):
    """P3's judged ratios as (what, ratio or None when not measured, goal): repl-C against one of
    two standalone agents driven at once, on each bound workload, and against the agent alone at
    4 KiB QD32."""
    checks = []
    for w, key in P3_BOUND_WORKLOADS:
        v, _ = ratio(runs.get(w, {}), "repl-C", TWO_ALONE, key)
        unit = "IOPS" if key == "iops" else "MB/s"
        checks.append((f"{P3_LABELS[w]}, repl-C {unit} / two-agent bound (per agent)", v, P3_BOUND_MIN))
    v, _ = ratio(runs.get("randwrite-4k-qd32", {}), "repl-C", ALONE)
    checks.append((f"{P3_LABELS['randwrite-4k-qd32']}, repl-C IOPS / agent alone", v, P3_IOPS_MIN))
    return checks


def p3_verdict(runs):
    checks = p3_checks(runs)
    measured = [(v, goal) for _, v, goal in checks if v is not None]
    if not measured:
        return []
    if any(v < goal for v, goal in measured):
        status = "NOT met"
    elif len(measured) == len(checks):
        status = "met"
    else:
        status = "not fully measured (what was measured is met)"
    parts = [f"{what} {v:.2f} (goal ≥ {goal}, {met(v, goal)})" if v is not None else f"{what} not measured"
             for what, v, goal in checks]
    line = f"- **P3 {status}.** " + "; ".join(parts) + "."
    ref, _ = ratio(runs.get("write-1m-qd8", {}), "repl-C", TWO_WRITERS, "mbps")
    if ref is not None:
        line += (f" Reference, not judged: {P3_LABELS['write-1m-qd8']}, repl-C MB/s / raw two-writer "
                 f"bound (fio on two files at once, per file) {ref:.2f}.")
    return [line]


def replicated_verdicts(runs, meta):
    out = p3_verdict(runs)
    t = "repl-C"
    p4, rtt = p4_numbers(runs, meta)
    if t in p4 and ALONE in p4 and rtt and p4[t]["fua"] and p4[ALONE]["fua"]:
        c, a = p4[t], p4[ALONE]
        goal = a["fua"] + rtt + P4_SLACK_US
        ok = c["fua"] <= goal
        extra = ""
        if c["durable"] and a["durable"]:
            extra = (f" For comparison, write then flush (fio): repl-C {c['durable']:,.0f} µs vs alone "
                     f"{a['durable']:,.0f} µs (+{c['durable'] - a['durable']:,.0f} µs, two round trips).")
        out.append(f"- **P4 {'met' if ok else 'NOT met'}.** QD1 4 KiB FUA write p50: "
                   f"repl-C {c['fua']:,.0f} µs vs alone {a['fua']:,.0f} µs + loopback round trip "
                   f"{rtt:.0f} µs + {P4_SLACK_US:.0f} µs = {goal:,.0f} µs "
                   f"({'met, ' + format(goal - c['fua'], ',.0f') + ' µs to spare' if ok else 'over by ' + format(c['fua'] - goal, ',.0f') + ' µs'})."
                   + extra)
    elif t in p4 and ALONE in p4 and rtt and p4[t]["durable"] and p4[ALONE]["durable"]:
        c, a = p4[t], p4[ALONE]
        goal = a["durable"] + rtt + P4_SLACK_US
        ok = c["durable"] <= goal
        out.append(f"- **P4 {'met' if ok else 'NOT met'}.** QD1 4 KiB write+flush p50 (write p50 + flush p50): "
                   f"repl-C {c['durable']:,.0f} µs vs alone {a['durable']:,.0f} µs + loopback round trip "
                   f"{rtt:.0f} µs + {P4_SLACK_US:.0f} µs = {goal:,.0f} µs "
                   f"({'met, ' + format(goal - c['durable'], ',.0f') + ' µs to spare' if ok else 'over by ' + format(c['durable'] - goal, ',.0f') + ' µs'}). "
                   f"The write alone: repl-C p50 {c['write']:,.0f} µs vs alone {a['write']:,.0f} µs "
                   f"(+{c['write'] - a['write']:,.0f} µs).")
    p5, copy_rate, _, _ = p5_numbers(meta)
    timed = meta.get("sync_timed")
    if timed in p5 and copy_rate:
        r = p5[timed]
        out.append(f"- **P5 {'met' if r['ratio'] >= P5_MIN else 'NOT met'}.** Initial sync of {timed} "
                   f"{r['rate'] / 1e6:,.0f} MB/s vs plain copy {copy_rate / 1e6:,.0f} MB/s: {r['ratio']:.2f} "
                   f"(goal ≥ {P5_MIN}, {met(r['ratio'], P5_MIN)}).")
    return out


def replicated_section(runs, meta):
    lines = ["## Replicated (P3, P4, P5)", ""]
    shown = REPLICATED + [TWO_ALONE]
    have = any(t in runs.get(w, {}) for w in runs for t in shown)
    if not have:
        return lines + ["Not measured in this run (no `repl-A`/`repl-B`/`repl-C`/`repl-two-alone` in "
                        "`BENCH_TARGETS`).", ""]
    lines += [
        "Two agents per target over loopback TCP (alpha Primary, beta Secondary), protocol as named, "
        "io_uring engine, internal metadata, each node on its own preconditioned backing file; fio "
        "writes through alpha's NBD export. *Alone* is `repl-uring`: one agent, no peer, no metadata. "
        "A pair's two agents share this machine's cores and its one disk, so a replicated write "
        "costs two disk writes and two agents' work. The *two-agent bound* (P3) is `repl-two-alone`: "
        "two standalone agents as *alone*, each on its own file, fio driving both exports at once, "
        "reported per agent (mean of the two jobs). `raw-two-writers` (fio io_uring on two files at "
        "once, reported per file) is what the disk alone gives each of two writers, a reference.",
        "",
    ]
    keep = [ALONE, TWO_ALONE] + REPLICATED
    pairs = ([(t, ALONE, f"{t[-1]} / alone") for t in REPLICATED]
             + [(t, TWO_ALONE, f"{t[-1]} / two-agent bound") for t in REPLICATED])
    for w in ordered(runs.keys(), WORKLOADS):
        if not any(t in runs[w] for t in shown):
            continue
        if w == "write-1m-qd8":
            lines += workload_table(w, runs[w], meta, only=keep + [TWO_WRITERS, "raw-uring"],
                                    pairs=pairs + [(t, TWO_WRITERS, f"{t[-1]} / two-writer bound")
                                                   for t in REPLICATED]
                                    + [(TWO_ALONE, TWO_WRITERS, "two-agent bound / two-writer bound")],
                                    key="mbps")
        else:
            lines += workload_table(w, runs[w], meta, only=keep, pairs=pairs)
    p4, rtt = p4_numbers(runs, meta)
    if p4:
        lines += ["### P4: QD1 4 KiB durable write latency", "",
                  f"Loopback round trip: {meta.get('rtt_tcp_us') or '?'} µs (median of a python3 TCP "
                  "ping-pong on 127.0.0.1, TCP_NODELAY, 64-byte messages, measured in this run)"
                  + (f"; ICMP ping mean {meta['rtt_icmp_avg_us']} µs" if meta.get("rtt_icmp_avg_us") else "")
                  + ". fio's nbd engine has no FUA, so a durable write is a write followed by a flush; "
                  "p50 of the pair is taken as p50(write) + p50(flush). A flush on a replicated "
                  "Primary is a local flush plus a barrier the peer answers, i.e. a second round trip "
                  "that a FUA write does not pay. The FUA column is P4 as defined: one write with "
                  "NBD's FUA flag at a time, sent through libnbd by `bench/e2e/fua_qd1.py` (its python "
                  "loop adds the same few microseconds to every target).", "",
                  "| target | FUA write p50 µs | FUA vs alone µs | goal µs (alone FUA + RTT + 50) | "
                  "write p50 µs | flush p50 µs | write+flush p50 µs | vs alone µs | "
                  "mean write+flush µs (1/IOPS) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        a = p4.get(ALONE)

        def num(v):
            return f"{v:,.0f}" if v is not None else ""

        for t in [ALONE] + REPLICATED:
            if t not in p4:
                continue
            x = p4[t]
            rep = a is not None and t != ALONE
            fua_delta = f"+{x['fua'] - a['fua']:,.0f}" if rep and x["fua"] and a["fua"] else ""
            fua_goal = f"{a['fua'] + rtt + P4_SLACK_US:,.0f}" if rep and rtt and a["fua"] else ""
            delta = f"+{x['durable'] - a['durable']:,.0f}" if rep and x["durable"] and a["durable"] else ""
            lines.append(f"| {t if t != ALONE else 'alone (repl-uring)'} | {num(x['fua'])} | {fua_delta} | "
                         f"{fua_goal} | {num(x['write'])} | {num(x['flush'])} | {num(x['durable'])} | {delta} | "
                         f"{num(x['pair_us'])} |")
        lines.append("")
    p5, copy_rate, copy_s, copy_b = p5_numbers(meta)
    if p5:
        lines += ["### P5: full initial sync", "",
                  "`primary --force` on alpha, timed from just before that command until `wait-sync` on "
                  "beta returns with both UpToDate (includes one `replctl` start, a fraction of a second). "
                  f"Plain copy: {meta.get('copy_method', '?')}, {copy_b / 2**30:.1f} GiB in {copy_s:.1f} s, "
                  "run alone right after the timed sync. Only the sync that ran alone is judged; the others "
                  "ran at the same time as each other.", "",
                  "| target | bytes | seconds | MB/s | / plain copy | ran |",
                  "|---|---:|---:|---:|---:|---|"]
        for t in REPLICATED:
            if t in p5:
                r = p5[t]
                ran = "alone (judged)" if t == meta.get("sync_timed") else f"with {r['concurrent'] - 1} other(s)"
                lines.append(f"| {t} | {r['bytes']:,} | {r['seconds']:.1f} | {r['rate'] / 1e6:,.0f} | "
                             f"{r['ratio']:.2f} | {ran} |")
        if copy_rate:
            lines.append(f"| plain copy | {int(copy_b):,} | {copy_s:.1f} | {copy_rate / 1e6:,.0f} | 1.00 | alone |")
        lines.append("")
    warn = [(k[4:-9], v) for k, v in meta.items() if k.startswith("log_") and k.endswith("_warnings")]
    if warn:
        lines += ["Agent log lines at WARNING or worse up to the end of the measurements, not counting the "
                  "expected `cannot come up: no usable metadata` each agent logs once before `create-md` "
                  "(logs stay in the run directory): "
                  + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(warn)) + ".", ""]
    return lines


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
    rep = []
    vi, _ = ratio(runs.get("randwrite-4k-qd32", {}), "repl-C", ALONE)
    if vi is not None:
        rep.append(f"C/alone randwrite QD32 ×{vi:.2f}")
    for w, key in P3_BOUND_WORKLOADS:
        v2, _ = ratio(runs.get(w, {}), "repl-C", TWO_ALONE, key)
        if v2 is not None:
            rep.append(f"C/two-agent {SHORT[w]} ×{v2:.2f}")
    vb, _ = ratio(runs.get("write-1m-qd8", {}), "repl-C", TWO_WRITERS, "mbps")
    if vb is not None:
        rep.append(f"C/two-writer 1M ×{vb:.2f}")
    p4, rtt = p4_numbers(runs, meta)
    if "repl-C" in p4 and ALONE in p4:
        c, a = p4["repl-C"], p4[ALONE]
        if c["durable"] and a["durable"]:
            rep.append(f"C QD1 write+flush p50 +{c['durable'] - a['durable']:,.0f} µs (RTT {rtt or 0:.0f} µs)")
        if c["fua"] and a["fua"]:
            rep.append(f"C QD1 FUA p50 +{c['fua'] - a['fua']:,.0f} µs")
    p5, _, _, _ = p5_numbers(meta)
    if meta.get("sync_timed") in p5:
        rep.append(f"sync/copy ×{p5[meta['sync_timed']]['ratio']:.2f}")
    note = meta.get("note") or "(no note)"
    return (f"- {meta.get('date', '?')} `{meta.get('git', '?')}` — {note} — repl io_uring IOPS and ratios: "
            + "; ".join(parts) + (" — replicated: " + "; ".join(rep) if rep else ""))


def old_history(out_path):
    if not os.path.exists(out_path):
        return []
    with open(out_path) as f:
        text = f.read()
    if HISTORY_MARKER not in text:
        return []
    return [line for line in text.split(HISTORY_MARKER, 1)[1].strip("\n").split("\n") if line.strip()]


def kept_sections(out_path):
    """Blocks other harnesses wrote between keep markers (bench/e2e/resync.py: P6), carried over."""
    if not os.path.exists(out_path):
        return []
    with open(out_path) as f:
        text = f.read()
    kept = []
    for m in re.finditer(r"<!-- keep:([\w-]+) -->.*?<!-- /keep:\1 -->", text, re.S):
        kept += [m.group(0), ""]
    return kept


def chart(runs, png, run_dir):
    """Two panels: 4 KiB workloads in kIOPS, 1 MiB writes in MB/s; one bar per target."""
    ws = ordered(runs.keys(), WORKLOADS)
    ts = ordered({t for w in ws for t in runs[w]}, TARGETS)
    small = [w for w in ws if not w.startswith("write-1m")]
    big = [w for w in ws if w.startswith("write-1m")]
    # A target keeps its colour in both panels; a panel shows only the targets it has data for.
    colour = {t: i + 1 for i, t in enumerate(ts)}

    def data(name, wl, key, scale):
        tp = [t for t in ts if any(t in runs[w] for w in wl)]
        path = os.path.join(run_dir, name)
        with open(path, "w") as f:
            f.write("# workload " + " ".join(tp) + "\n")
            for w in wl:
                vals = []
                for t in tp:
                    rs = runs[w].get(t, {})
                    vals.append(f"{mean([x[key] for x in rs.values()]) / scale:.2f}" if rs else "0")
                f.write('"' + SHORT.get(w, w) + '" ' + " ".join(vals) + "\n")
        plots = [f"'{path}' using {i + 2}:xtic(1) title '{t}' lc {colour[t]}" for i, t in enumerate(tp)]
        return ", ".join(plots) if wl and tp else None

    p1 = data("chart-small.dat", small, "iops", 1000)
    p2 = data("chart-big.dat", big, "mbps", 1)
    panels = []
    if p1:
        panels.append("set title '4 KiB workloads (replicated rows: writes only; repl-two-alone: per agent)'\n"
                      f"set ylabel 'kIOPS'\nplot {p1}")
    if p2:
        panels.append("set title '1 MiB sequential write, QD8 (two at once: per file or agent)'\n"
                      f"set ylabel 'MB/s'\nplot {p2}")
    script = f"""
set terminal pngcairo size 1400,560 font ',10'
set output '{png}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key outside bottom center horizontal
set yrange [0:*]
set multiplot layout 1,{max(len(panels), 1)} title 'repl end-to-end ({run_dir.rsplit("/", 1)[-1]})'
{chr(10).join(panels)}
unset multiplot
"""
    gp = os.path.join(run_dir, "chart.gp")
    with open(gp, "w") as f:
        f.write(script)
    res = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if res.returncode != 0:
        # pngcairo is in gnuplot-nox; fall back to the plain png terminal if it is not.
        with open(gp, "w") as f:
            f.write(script.replace("pngcairo size 1400,560 font ',10'", "png size 1400,560"))
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
    lines += (verdicts(runs) + replicated_verdicts(runs, meta)) or ["- nothing to judge in this run"]
    lines += ["", f"![IOPS and throughput per target]({os.path.basename(png)})", "",
              "## Single node, no peer (P1, P2)", ""]
    single = [t for t in {t for w in runs for t in runs[w]}
              if t not in REPLICATED and t not in (TWO_WRITERS, TWO_ALONE)]
    for w in ordered(runs.keys(), WORKLOADS):
        if any(t in runs[w] for t in single):
            lines += workload_table(w, runs[w], meta, only=single)
    lines += replicated_section(runs, meta)
    lines += kept_sections(out_path)
    lines += [
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
