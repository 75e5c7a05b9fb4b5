#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer and runs each for SECONDS (default 600),
# seeded from the golden transcripts (frames, CSV rows), the bundled collaboration examples and
# sample data in the format of `cleanroom sample`.
# Usage: Fuzz/run.sh [SECONDS] [TARGET...]   (targets: FuzzFrames FuzzCollaboration FuzzSession FuzzCSV)
set -euo pipefail
# lld links the instrumented executables (gold stops with an internal error on their debug info).
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzFrames FuzzCollaboration FuzzSession FuzzCSV)
swift build -c release --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld
bin=.build-fuzz/release
mkdir -p corpus/frames corpus/collaboration corpus/session corpus/csv crashes
python3 seeds.py
for t in "${targets[@]}"; do
    case $t in
        FuzzFrames) corpus=corpus/frames ;;
        FuzzCollaboration) corpus=corpus/collaboration ;;
        FuzzSession) corpus=corpus/session ;;
        FuzzCSV) corpus=corpus/csv ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    echo "== $t for $seconds s"
    # The summary: the last status lines, without the dictionary libFuzzer recommends at the end.
    "$bin/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=crashes/"$t"- "$corpus" 2>&1 | sed '/Recommended dictionary/,/End of recommended dictionary/d' | tail -n 12
done
