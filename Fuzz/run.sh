#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer and runs each for SECONDS (default 600),
# seeded from the golden transcripts (frames) and the bundled collaboration examples.
# Usage: Fuzz/run.sh [SECONDS] [TARGET...]   (targets: FuzzFrames FuzzCollaboration FuzzSession)
set -euo pipefail
# lld links the instrumented executables (gold stops with an internal error on their debug info).
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzFrames FuzzCollaboration FuzzSession)
swift build -c release --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld
bin=.build-fuzz/release
mkdir -p corpus/frames corpus/collaboration corpus/session crashes
python3 seeds.py
for t in "${targets[@]}"; do
    case $t in
        FuzzFrames) corpus=corpus/frames ;;
        FuzzCollaboration) corpus=corpus/collaboration ;;
        FuzzSession) corpus=corpus/session ;;
    esac
    echo "== $t for $seconds s"
    "$bin/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=crashes/"$t"- "$corpus" 2>&1 | tail -n 12
done
