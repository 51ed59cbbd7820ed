#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each (default 60), one after the other, and prints
# per target the runs, the corpus size and the crashes found. Needs a nightly toolchain (rustup);
# installs cargo-fuzz when missing. Seeds come from samples/, the simulator and ../shared/corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Crashes are written to fuzz/artifacts/TARGET/; replay one with
#   cargo +nightly fuzz run -s none -a TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "scripts/fuzz.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# --- seeds -------------------------------------------------------------------------------------
cargo build --quiet
seeds=fuzz/corpus
sim=$(mktemp -d)
trap 'rm -rf "$sim"' EXIT
target/debug/kmslens simulate --out "$sim/evtx" --clients 6 --days 3 --format evtx --fault dup-cmid >/dev/null
target/debug/kmslens simulate --out "$sim/xml" --clients 6 --days 3 --zip-some >/dev/null
python3 - "$seeds" "$sim" <<'PY'
import hashlib, os, pathlib, sys
seeds, sim = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def put(target, data, prefix=b""):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    data = prefix + data
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
small = lambda p: p.is_file() and p.stat().st_size <= 256 * 1024
roots = [pathlib.Path("samples"), pathlib.Path("tests/fixtures"), sim / "xml"]
for root in roots:
    for p in filter(small, root.rglob("*")):
        data = p.read_bytes()
        put("sniffed_bytes", data)
        if data[:2] == b"PK":
            put("zip_walker", data)
        elif b"<Event" in data or b"<\x00E\x00v\x00" in data:
            mode = 1 if data[:2] == b"\xff\xfe" else 2 if data[:2] == b"\xfe\xff" else 0
            put("xml_events", data, bytes([mode | 4]))
        elif b"slmgr" in str(p).encode() or b"Activation ID" in data:
            put("slmgr", data)
        elif p.suffix == ".txt":
            put("text_renderings", data)
# EVTX: the chunks that hold licensing records, cut from simulated and real logs.
spp = "Security-SPP".encode("utf-16-le")
logs = list((sim / "evtx").rglob("*.evtx")) + list(pathlib.Path("../shared/corpus/real").rglob("*.evtx"))
for p in logs:
    data = p.read_bytes()
    chunks = [data[o:o + 65536] for o in range(4096, len(data), 65536)]
    keep = [c for c in chunks if spp in c][:3] or chunks[:1]
    for c in keep:
        put("evtx_chunks", c)
PY

# --- runs --------------------------------------------------------------------------------------
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$seeds/$t" "fuzz/artifacts/$t"
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    log="fuzz/artifacts/$t.log"
    # -s none: kmslens is safe Rust; debug assertions (-a) catch overflow. A run over 20 s on one
    # input counts as a hang, over 4 GiB as a memory blow-up.
    set +e
    cargo +nightly fuzz run -s none -a "$t" "$seeds/$t" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len=262144 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    found=$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))
    printf '%-16s %4ss  runs %-9s corpus %-6s new crashes %s%s\n' "$t" "$secs" "$runs" \
        "$(ls "$seeds/$t" | wc -l)" "$found" "$([ $rc -ne 0 ] && echo " (exit $rc, see $log)")"
    if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then failed=1; fi
done
exit $failed
