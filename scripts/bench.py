#!/usr/bin/env python3
"""Throughput and peak memory of `kmslens events` on large synthetic inputs.

Builds (once, under $BENCH_DIR, default /tmp/kmslens-bench):
  big.evtx  N real 64 KiB chunks copied from the clean logs of ../shared/corpus/real
            (SPP-bearing Application chunks among them), behind a real file header;
  big.xml   a wevtutil stream of the hand-written fixture events repeated to ~M MB;
  viewer.xml the same events as an Event Viewer "Save as XML" file (UTF-16LE, <Events> root),
            ~X MB.
Then times `kmslens events` (release build) on each, and the Rust `evtx_dump` on big.evtx when it
is installed (`cargo install evtx`, or EVTX_DUMP=path), and prints MB/s and peak RSS.
KMSLENS=path measures that binary instead of building the release one.

usage: scripts/bench.py [--chunks 4096] [--xml-mb 256] [--xml16-mb 1024] [--runs 3]
       scripts/bench.py --dense [--clients 20000] [--small-clients 5000] [--runs 3] [--instructions]

--dense prints the paired ratios of the dense-log targets on fleets `kmslens simulate` writes
(EVTX, one host, 30 days, a dup-cmid fault): evtx_dump time / kmslens events time on the KMS host's
log, `kmslens analyze` wall time / `cat` time of the same files, analyze's peak RSS, and the peak
RSS growth per kept KMS event between a small and a large fleet. evtx_dump is installed with
`cargo install evtx` when missing.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "real")
CLEAN = [
    "fukusuket__evtx-parser/Application.evtx",
    "sans-blue-team__DeepBlueCLI/many-events-application.evtx",
    "omerbenamram__evtx/security.evtx",
    "omerbenamram__evtx/system.evtx",
    "log2timeline__plaso/System.evtx",
    "omerbenamram__evtx/sample-with-irregular-bool-values.evtx",
    "williballenthin__python-evtx/issue_43.evtx",
    "sans-blue-team__DeepBlueCLI/smb-password-guessing-security.evtx",
    "mdecrevoisier__EVTX-to-MITRE-Attack/ID4688-5447-4950-Firewall disabled (command).evtx",
]


def chunks_of(path):
    data = open(path, "rb").read()
    out = []
    for off in range(4096, len(data) - 65535, 65536):
        c = data[off:off + 65536]
        if c[:8] == b"ElfChnk\0":
            out.append(c)
    return out


def make_evtx(path, n):
    pool = [c for f in CLEAN for c in chunks_of(os.path.join(CORPUS, f))]
    header = open(os.path.join(CORPUS, CLEAN[0]), "rb").read()[:4096]
    with open(path, "wb") as f:
        f.write(header)
        for i in range(n):
            f.write(pool[i % len(pool)])


def make_xml(path, mb):
    events = [l for l in open(os.path.join(ROOT, "tests/fixtures/xml/wevtutil-rendered.xml"), encoding="utf-8").read().splitlines() if l]
    block = ("\r\n".join(events) + "\r\n").encode()
    with open(path, "wb") as f:
        written = 0
        while written < mb << 20:
            f.write(block)
            written += len(block)


def make_viewer_xml(path, mb):
    """An Event Viewer "Save as XML" file: UTF-16LE with BOM, declaration, <Events> root."""
    events = [l for l in open(os.path.join(ROOT, "tests/fixtures/xml/wevtutil-rendered.xml"), encoding="utf-8").read().splitlines() if l]
    block = ("\r\n".join(events) + "\r\n").encode("utf-16-le")
    with open(path, "wb") as f:
        f.write(b"\xff\xfe" + '<?xml version="1.0" encoding="UTF-16"?>\r\n<Events>\r\n'.encode("utf-16-le"))
        written = 0
        while written < mb << 20:
            f.write(block)
            written += len(block)
        f.write("</Events>\r\n".encode("utf-16-le"))


def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(peak, before)


def timed(cmd, stdout=subprocess.DEVNULL):
    """Wall seconds and peak RSS (KiB) of one command, measured in a child of its own."""
    code = (
        "import resource,subprocess,time,sys;t=time.perf_counter();"
        f"subprocess.run({cmd!r},stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, rss = r.stdout.split()
    return float(dt), int(rss)


def evtx_dump():
    dump = os.environ.get("EVTX_DUMP") or shutil.which("evtx_dump", path=os.path.expanduser("~/.cargo/bin"))
    if not dump or subprocess.run([dump, "--version"], capture_output=True).returncode != 0:
        subprocess.run(["cargo", "install", "evtx", "--locked", "-q"], check=True)
        dump = os.path.expanduser("~/.cargo/bin/evtx_dump")
    return dump


def fleet(exe, d, clients):
    out = os.path.join(d, f"fleet-{clients}")
    if not os.path.exists(os.path.join(out, "ground-truth.json")):
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([exe, "simulate", "--out", out, "--clients", str(clients), "--hosts", "1",
                        "--days", "30", "--seed", "9", "--fault", "dup-cmid", "--format", "evtx"],
                       stdout=subprocess.DEVNULL, check=True)
    return out


def files_of(root, ext=""):
    return [os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.endswith(ext)]


def cat_time(paths):
    t = time.perf_counter()
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 20):
                pass
    return time.perf_counter() - t


def kept_events(exe, root):
    r = subprocess.run([exe, "events", "-q", "--format", "csv", root], capture_output=True, check=True)
    return max(r.stdout.count(b"\n") - 1, 0)


def instructions(dump, exe, host_log):
    """Instructions each tool runs on the host log, counted by callgrind: the same count whatever
    the machine is doing, where seconds vary by 2x from one day to the next."""
    if not shutil.which("valgrind"):
        print("instructions: valgrind not installed (apt-get install valgrind); skipped")
        return
    counts = {}
    for name, cmd in [("evtx_dump", [dump, "-o", "jsonl", host_log]),
                      ("kmslens events", [exe, "events", "-q", "--format", "jsonl", "-o", os.devnull, host_log])]:
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.devnull] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        refs = [l for l in r.stderr.splitlines() if "refs:" in l]
        counts[name] = int(refs[-1].split()[-1].replace(",", "")) if refs else None
    if None in counts.values():
        print(f"instructions: callgrind gave no count: {counts}")
        return
    print(f"host log instructions: evtx_dump {counts['evtx_dump'] / 1e9:.2f} G, "
          f"kmslens events {counts['kmslens events'] / 1e9:.2f} G: "
          f"ratio {counts['evtx_dump'] / counts['kmslens events']:.2f}")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def dense(a, d, exe):
    dump = evtx_dump()
    big = fleet(exe, d, a.clients)
    small = fleet(exe, d, a.small_clients)
    host_log = os.path.join(big, "kms01", "Key Management Service.evtx")
    print(f"cores: {os.cpu_count()}; host log {os.path.getsize(host_log) / 1e6:.0f} MB; "
          f"fleet of {a.clients} clients: {len(files_of(big, '.evtx'))} EVTX files, {len(files_of(big))} files in all")
    ratios, ours, theirs = [], [], []
    for _ in range(a.runs):  # paired: each kmslens run next to an evtx_dump run
        t_dump, m_dump = timed([dump, "-o", "jsonl", host_log])
        t_ours, m_ours = timed([exe, "events", "-q", "--format", "jsonl", "-o", os.devnull, host_log])
        ratios.append(t_dump / t_ours)
        ours.append((t_ours, m_ours))
        theirs.append((t_dump, m_dump))
    print(f"host log: evtx_dump {median(theirs)[0]:.3f} s / {median(theirs)[1] / 1024:.0f} MiB, "
          f"kmslens events {median(ours)[0]:.3f} s / {median(ours)[1] / 1024:.0f} MiB: "
          f"ratio evtx_dump/kmslens {median(ratios):.2f} (target >= 1.5)")
    if a.instructions:
        instructions(dump, exe, host_log)
    paths = files_of(big)
    cat_time(paths)  # warm the cache
    ratios, runs = [], []
    for _ in range(a.runs):
        t_cat = cat_time(paths)
        t, m = timed([exe, "analyze", "--format", "json", "-o", os.devnull, "--fail-on", "never", big])
        ratios.append(t / t_cat)
        runs.append((t, m, t_cat))
    t, m, t_cat = median(runs)
    print(f"analyze {a.clients} clients: {t:.2f} s (cat {t_cat:.2f} s): ratio {median(ratios):.2f} "
          f"(target <= 3.5); peak RSS {m / 1024:.0f} MiB (target <= 300)")
    _, m_small = timed([exe, "analyze", "--format", "json", "-o", os.devnull, "--fail-on", "never", small])
    e_big, e_small = kept_events(exe, big), kept_events(exe, small)
    per = (m - m_small) * 1024 / max(e_big - e_small, 1)
    # Events `kmslens events` keeps: every KMS event read. `analyze` keeps only those its tables
    # hold (not licensing status checks and other SPP events), so its growth per event it keeps is
    # larger than this figure (README, Performance).
    print(f"peak RSS growth per kept event: {per:.0f} B ({e_small} -> {e_big} events `kmslens events` keeps; target <= 250)")


def kmslens():
    """The binary measured: $KMSLENS when set (another build, say), else the release build."""
    if os.environ.get("KMSLENS"):
        return os.environ["KMSLENS"]
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "kmslens")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=4096)
    ap.add_argument("--xml-mb", type=int, default=256)
    ap.add_argument("--xml16-mb", type=int, default=1024, help="size of the UTF-16 Event Viewer file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dense", action="store_true")
    ap.add_argument("--clients", type=int, default=20000)
    ap.add_argument("--small-clients", type=int, default=5000)
    ap.add_argument("--instructions", action="store_true",
                    help="with --dense: also count the host log's instructions with callgrind")
    a = ap.parse_args()
    if a.dense:
        d = os.environ.get("BENCH_DIR", "/tmp/kmslens-bench")
        os.makedirs(d, exist_ok=True)
        return dense(a, d, kmslens())
    d = os.environ.get("BENCH_DIR", "/tmp/kmslens-bench")
    os.makedirs(d, exist_ok=True)
    evtx, xml = os.path.join(d, f"big-{a.chunks}.evtx"), os.path.join(d, f"big-{a.xml_mb}.xml")
    if not os.path.exists(evtx):
        make_evtx(evtx, a.chunks)
    if not os.path.exists(xml):
        make_xml(xml, a.xml_mb)
    xml16 = os.path.join(d, f"viewer-{a.xml16_mb}.xml")
    if not os.path.exists(xml16):
        make_viewer_xml(xml16, a.xml16_mb)
    exe = kmslens()
    cases = [
        ("kmslens events (evtx, prefilter)", [exe, "events", "-q", evtx], evtx),
        ("kmslens events (evtx, --full-parse)", [exe, "events", "-q", "--full-parse", evtx], evtx),
        ("kmslens events (xml)", [exe, "events", "-q", xml], xml),
        ("kmslens events (xml, UTF-16 viewer)", [exe, "events", "-q", xml16], xml16),
        ("kmslens analyze (evtx)", [exe, "analyze", "--format", "json", "-o", os.devnull, evtx], evtx),
    ]
    # The Rust evtx_dump (python-evtx installs a script of the same name).
    dump = os.environ.get("EVTX_DUMP") or shutil.which("evtx_dump", path=os.path.expanduser("~/.cargo/bin"))
    if dump and subprocess.run([dump, "--version"], capture_output=True).returncode == 0:
        cases.append(("evtx_dump -o jsonl (reference)", [dump, "-o", "jsonl", evtx], evtx))
    print(f"cores: {os.cpu_count()}")
    for name, cmd, path in cases:
        size = os.path.getsize(path) / 1e6
        best = None
        for _ in range(a.runs):
            # Each run in its own process group so ru_maxrss is this command's peak.
            r = subprocess.run([sys.executable, "-c", f"import resource,subprocess,time,sys;t=time.perf_counter();subprocess.run({cmd!r},stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"], capture_output=True, text=True)
            dt, rss = r.stdout.split()
            dt, rss = float(dt), int(rss)
            if best is None or dt < best[0]:
                best = (dt, rss)
        print(f"{name:40s} {size:8.0f} MB  {best[0]:7.2f} s  {size / best[0]:8.0f} MB/s  peak RSS {best[1] / 1024:6.0f} MiB")


if __name__ == "__main__":
    main()
