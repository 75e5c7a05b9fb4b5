#!/usr/bin/env python3
"""Side-by-side benchmark of CleanRoom against peer implementations, measured in one run.

- OpenMined PSI (pip `openmined-psi`): a full cardinality session (server setup, client request,
  server response, client result) in one process, exact (RAW) representation, as its Python users
  run it. Timed with wall clock and process CPU time.
- CleanRoom: `cleanroom bench psi --size N --json` (two processes over loopback TLS, the real
  runner); CPU time is the sum of both processes.
- python-paillier (pip `phe`): public-key encryption at 2048 bits, beside CleanRoom's key-owner
  encryption from `cleanroom bench crypto`.

Writes Benchmarks/peers/results.md (a Markdown table) and Benchmarks/peers/throughput.svg (elements
per second against set size), and prints the table.

Usage (from the package root, after `swift build -c release`):
    python3 -m pip install openmined-psi phe
    python3 Benchmarks/peers/run_peers.py [--sizes 10000 100000] [--cleanroom .build/release/cleanroom]
"""
import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def openmined_cardinality(n):
    import private_set_intersection.python as psi
    client_items = ["user%d@example.com" % i for i in range(n)]
    server_items = ["user%d@example.com" % i for i in range(n // 2, n + n // 2)]
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    client = psi.client.CreateWithNewKey(False)
    server = psi.server.CreateWithNewKey(False)
    setup = server.CreateSetupMessage(1e-9, len(client_items), server_items, psi.DataStructure.RAW)
    request = client.CreateRequest(client_items)
    response = server.ProcessRequest(request)
    size = client.GetIntersectionSize(setup, response)
    wall = time.perf_counter() - start
    end_cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end_cpu.ru_utime - start_cpu.ru_utime) + (end_cpu.ru_stime - start_cpu.ru_stime)
    assert size == n // 2, size
    return wall, cpu


def cleanroom_psi(binary, n):
    out = subprocess.run([binary, "bench", "psi", "--size", str(n), "--json"], check=True, capture_output=True, text=True)
    d = json.loads(out.stdout)
    cpu = sum(p["cpu_user_seconds"] + p["cpu_system_seconds"] for p in d["parties"].values())
    return d["wall_seconds"], cpu, d["ratio_to_ideal"], d["x25519_microseconds"]


def phe_encrypt_microseconds(count=100):
    import phe
    public, _ = phe.generate_paillier_keypair(n_length=2048)
    values = [secrets.randbelow(1 << 40) for _ in range(count)]
    start = time.perf_counter()
    for v in values:
        public.encrypt(v)
    return (time.perf_counter() - start) / count * 1e6


def cleanroom_crypto(binary):
    out = subprocess.run([binary, "bench", "crypto", "--json", "--seconds", "1", "--paillier-bits", "2048"],
                         check=True, capture_output=True, text=True)
    rows = {r["operation"]: r["microseconds"] for r in json.loads(out.stdout)}
    # "key owner (CRT + fixed base)", or "key owner, IFMA (CRT + fixed base)" on AVX-512 IFMA CPUs,
    # where "key owner, portable (OpenSSL BN)" is measured as well.
    owner_label = next(k for k in rows if k.startswith("paillier-2048 encrypt, key owner") and k.endswith("(CRT + fixed base)"))
    portable = next((v for k, v in rows.items() if k.startswith("paillier-2048 encrypt, key owner, portable")), None)
    textbook = next(v for k, v in rows.items() if k.startswith("paillier-2048 encrypt, textbook"))
    return owner_label.replace("paillier-2048 encrypt, ", ""), rows[owner_label], portable, textbook


def svg(points, path):
    """A small line chart: elements/s against set size (log x), one line per implementation."""
    width, height, left, bottom, top, right = 700, 360, 70, 50, 30, 190
    sizes = sorted({s for series in points.values() for s, _ in series})
    ymax = max(v for series in points.values() for _, v in series) * 1.15
    import math
    xs = [math.log10(s) for s in sizes]
    x0, x1 = min(xs) - 0.2, max(xs) + 0.2

    def px(s):
        return left + (math.log10(s) - x0) / (x1 - x0) * (width - left - right)

    def py(v):
        return height - bottom - v / ymax * (height - top - bottom)

    colors = {"CleanRoom (TLS, 2 processes)": "#1f6feb", "OpenMined PSI 2.0.6 (1 process)": "#d1242f"}
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="18" font-size="14">Cardinality PSI throughput, N x N elements (this machine)</text>' % left,
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, height - bottom, width - right, height - bottom),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, height - bottom)]
    for s in sizes:
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(s), height - bottom + 18, "{:,}".format(s)))
    for i in range(5):
        v = ymax * i / 4
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, py(v) + 4, "{:,.0f}".format(v)))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, py(v), width - right, py(v)))
    parts.append('<text x="%d" y="%d" text-anchor="middle">set size N (each party)</text>' % ((left + width - right) // 2, height - 12))
    parts.append('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">elements/s (2N / wall time)</text>' % (height // 2, height // 2))
    for k, (name, series) in enumerate(points.items()):
        color = colors.get(name, "#555")
        pts = " ".join("%.1f,%.1f" % (px(s), py(v)) for s, v in sorted(series))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, pts))
        for s, v in series:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(s), py(v), color))
        parts.append('<rect x="%d" y="%d" width="12" height="3" fill="%s"/>' % (width - right + 10, top + 20 + 22 * k, color))
        parts.append('<text x="%d" y="%d">%s</text>' % (width - right + 26, top + 25 + 22 * k, name.split(" (")[0]))
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--cleanroom", default=".build/release/cleanroom")
    args = ap.parse_args()
    if not os.path.exists(args.cleanroom):
        sys.exit("build first: swift build -c release (no %s)" % args.cleanroom)
    cores = os.cpu_count()
    rows, points = [], {"CleanRoom (TLS, 2 processes)": [], "OpenMined PSI 2.0.6 (1 process)": []}
    for n in args.sizes:
        ours_wall, ours_cpu, ratio_ideal, x25519 = cleanroom_psi(args.cleanroom, n)
        theirs_wall, theirs_cpu = openmined_cardinality(n)
        rows.append((n, ours_wall, ours_cpu, ratio_ideal, theirs_wall, theirs_cpu))
        points["CleanRoom (TLS, 2 processes)"].append((n, 2 * n / ours_wall))
        points["OpenMined PSI 2.0.6 (1 process)"].append((n, 2 * n / theirs_wall))
        print("N=%d: CleanRoom %.2f s (cpu %.2f s), OpenMined %.2f s (cpu %.2f s)" % (n, ours_wall, ours_cpu, theirs_wall, theirs_cpu), file=sys.stderr)
    owner_label, owner, portable, textbook = cleanroom_crypto(args.cleanroom)
    phe_us = phe_encrypt_microseconds()
    lines = ["Measured %s on %d cores (`python3 Benchmarks/peers/run_peers.py --sizes %s`)." % (time.strftime("%Y-%m-%d"), cores, " ".join(map(str, args.sizes))),
             "",
             "| N × N cardinality | CleanRoom wall | CleanRoom CPU | ratio to X25519 ideal | OpenMined PSI wall | OpenMined CPU | speed-up (wall) | speed-up per CPU-second |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, ow, oc, ri, tw, tc in rows:
        lines.append("| {:,} | {:.2f} s | {:.2f} s | {:.2f}× | {:.2f} s | {:.2f} s | {:.2f}× | {:.2f}× |".format(n, ow, oc, ri, tw, tc, tw / ow, tc / oc))
    lines += ["",
              "| Paillier-2048 encryption | µs/op | CleanRoom key owner is |",
              "|---|---:|---:|",
              "| CleanRoom {} | {:.0f} | 1× |".format(owner_label, owner)]
    if portable is not None:
        lines.append("| CleanRoom key owner, portable path (OpenSSL BN Montgomery) | {:.0f} | {:.1f}× faster |".format(portable, portable / owner))
    lines += ["| CleanRoom textbook (1+mn)·rⁿ | {:.0f} | {:.1f}× faster |".format(textbook, textbook / owner),
              "| python-paillier 1.5.0 `encrypt` | {:.0f} | {:.1f}× faster |".format(phe_us, phe_us / owner)]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(text)
    svg(points, os.path.join(HERE, "throughput.svg"))
    print(text)


if __name__ == "__main__":
    main()
