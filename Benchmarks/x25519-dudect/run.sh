#!/usr/bin/env bash
# Builds the dudect-style harness against the kernel source and runs both tests (default fixed
# values), then the self-test with a deliberate leak, which must report a difference.
# Usage: Benchmarks/x25519-dudect/run.sh [RUNS]   (default 1,000,000 timed calls per test)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shim="$here/../../Sources/CCleanRoomShim"
out="${TMPDIR:-/tmp}/cleanroom-dudect-x25519"
runs="${1:-1000000}"
cc="${CC:-clang}"
"$cc" -O2 -I"$shim/include" -o "$out" "$here/dudect_x25519.c" "$shim/x25519_ifma.c" "$shim/hash_to_curve_ifma.c" \
    "$shim/fixed_base_ifma.c" \
    -lcrypto -lgmp -lpthread -lm
status=0
taskset -c "${DUDECT_CPU:-1}" "$out" scalar "$runs" || status=1
taskset -c "${DUDECT_CPU:-1}" "$out" u "$runs" || status=1
taskset -c "${DUDECT_CPU:-1}" "$out" h2c "$runs" || status=1
if taskset -c "${DUDECT_CPU:-1}" "$out" selftest "$(( runs / 10 ))"; then
    echo "self-test: the deliberate leak was not detected"
    status=1
else
    echo "self-test: the deliberate leak was detected, as it must be"
fi
exit $status
