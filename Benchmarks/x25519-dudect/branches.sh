#!/usr/bin/env bash
# Lists every conditional branch, call, cmov and setcc in the compiled X25519 kernel, each with
# the two instructions before it, so a reader can check that none depends on a secret.
# Usage: Benchmarks/x25519-dudect/branches.sh [object-file]  (default: compile x25519_ifma.c with clang -O2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shim="$here/../../Sources/CCleanRoomShim"
obj="${1:-}"
if [ -z "$obj" ]; then
    obj="${TMPDIR:-/tmp}/cleanroom-x25519_ifma.o"
    "${CC:-clang}" -O2 -I"$shim/include" -c -o "$obj" "$shim/x25519_ifma.c"
fi
for f in cr_x25519_ifma8_core cr_x25519_ifma8; do
    echo "== $f"
    objdump -d --no-show-raw-insn "$obj" | awk "/<$f>:/,/^\$/" |
        grep -B2 -E $'\t(j[a-z]+|call|cmov[a-z]+|set[a-z]+) ' | grep -v '^--$'
done
