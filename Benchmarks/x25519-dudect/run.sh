#!/usr/bin/env bash
# Builds the dudect-style harnesses against the kernel sources and runs their tests, each followed
# by a self-test with a deliberate leak, which must report a difference.
#   x25519: dudect_x25519.c on x25519_ifma.c and hash_to_curve_ifma.c (tests scalar, u, h2c);
#   r255:   dudect_r255.c on ristretto255_ifma.c (tests fb and open with the all-zero and with a
#           fixed random scalar, open-msg with M the identity and M = FIXED·B, rerand, and for the
#           OPRF's entry points mul (scalars fixed vs random) and hash (uniform string fixed vs
#           random)), needs libsodium.
# Usage: Benchmarks/x25519-dudect/run.sh [RUNS] [x25519|r255|all]
#        (default 1,000,000 timed calls per test; self-tests RUNS/10; default all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shim="$here/../../Sources/CCleanRoomShim"
runs="${1:-1000000}"
which="${2:-all}"
cc="${CC:-clang}"
cpu="${DUDECT_CPU:-1}"
status=0

selftest() { # binary, label
    if taskset -c "$cpu" "$1" selftest "$(( runs / 10 ))"; then
        echo "self-test ($2): the deliberate leak was not detected"
        status=1
    else
        echo "self-test ($2): the deliberate leak was detected, as it must be"
    fi
}

if [ "$which" = x25519 ] || [ "$which" = all ]; then
    out="${TMPDIR:-/tmp}/cleanroom-dudect-x25519"
    "$cc" -O2 -I"$shim/include" -o "$out" "$here/dudect_x25519.c" "$shim/x25519_ifma.c" "$shim/hash_to_curve_ifma.c" \
        "$shim/fixed_base_ifma.c" \
        -lcrypto -lgmp -lpthread -lm
    taskset -c "$cpu" "$out" scalar "$runs" || status=1
    taskset -c "$cpu" "$out" u "$runs" || status=1
    taskset -c "$cpu" "$out" h2c "$runs" || status=1
    selftest "$out" x25519
fi

if [ "$which" = r255 ] || [ "$which" = all ]; then
    out="${TMPDIR:-/tmp}/cleanroom-dudect-r255"
    "$cc" -O2 -I"$shim/include" -o "$out" "$here/dudect_r255.c" "$shim/ristretto255_ifma.c" "$shim/fixed_base_ifma.c" \
        -lsodium -lcrypto -lgmp -lpthread -lm
    # a fixed scalar drawn once at random (bit 255 clear)
    fixed=ad3ad8bbdf69648074df6c1c63d52b1677a073a4ec4ffa5d956bff7641517462
    taskset -c "$cpu" "$out" fb "$runs" || status=1
    taskset -c "$cpu" "$out" fb "$runs" "$fixed" || status=1
    taskset -c "$cpu" "$out" open "$runs" || status=1
    taskset -c "$cpu" "$out" open "$runs" "$fixed" || status=1
    taskset -c "$cpu" "$out" open-msg "$runs" || status=1
    taskset -c "$cpu" "$out" open-msg "$runs" "$fixed" || status=1
    taskset -c "$cpu" "$out" rerand "$runs" "$fixed" || status=1
    taskset -c "$cpu" "$out" mul "$runs" "$fixed" || status=1
    taskset -c "$cpu" "$out" hash "$runs" || status=1
    taskset -c "$cpu" "$out" hash "$runs" "$fixed" || status=1
    selftest "$out" r255
fi
exit $status
