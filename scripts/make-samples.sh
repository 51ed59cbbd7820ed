#!/usr/bin/env bash
# Writes samples/: a simulated support bundle (one KMS host, 40 clients, 3 days; one machine in
# three as .evtx, the others as exported XML, every third machine's folder zipped) with five
# faults injected, and its ground-truth.json. Deterministic; run from the repository root.
set -euo pipefail
rm -rf samples
cargo run --quiet -- simulate --out samples --clients 40 --days 3 --seed 2026 \
    --fault dup-cmid --fault no-response --fault dns-publish --fault clock-skew --fault rejected-product \
    --format mixed --zip-some
