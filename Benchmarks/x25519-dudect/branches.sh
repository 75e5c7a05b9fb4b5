#!/usr/bin/env bash
# Lists every conditional branch, call, cmov and setcc in the compiled kernels, each with the two
# instructions before it, so a reader can check that none depends on a secret.
# Usage: Benchmarks/x25519-dudect/branches.sh [x25519|r255|all] [object-file]
#   x25519: cr_x25519_ifma8_core and cr_x25519_ifma8 of x25519_ifma.c;
#   r255:   every function of ristretto255_ifma.c (the table builder, the three kernels, their
#           cores and helpers), then a summary: each conditional jump with the instruction that
#           set its flags, every setcc and cmov, and the call targets;
#   all (default): both. Without an object file the source is compiled with clang -O2.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shim="$here/../../Sources/CCleanRoomShim"
which="${1:-all}"
obj="${2:-}"
pattern=$'\t(j[a-z]+|call|cmov[a-z]+|set[a-z]+) '

list() { # object, function...
    local o="$1"; shift
    for f in "$@"; do
        echo "== $f"
        objdump -d --no-show-raw-insn "$o" | awk "/<$f>:/,/^\$/" | grep -B2 -E "$pattern" | grep -v '^--$' || true
    done
}

if [ "$which" = x25519 ] || [ "$which" = all ]; then
    o="$obj"
    if [ -z "$o" ] || [ "$which" = all ]; then
        o="${TMPDIR:-/tmp}/cleanroom-x25519_ifma.o"
        "${CC:-clang}" -O2 -I"$shim/include" -c -o "$o" "$shim/x25519_ifma.c"
    fi
    list "$o" cr_x25519_ifma8_core cr_x25519_ifma8
fi
if [ "$which" = r255 ] || [ "$which" = all ]; then
    o="$obj"
    if [ -z "$o" ] || [ "$which" = all ]; then
        o="${TMPDIR:-/tmp}/cleanroom-ristretto255_ifma.o"
        "${CC:-clang}" -O2 -I"$shim/include" -c -o "$o" "$shim/ristretto255_ifma.c"
    fi
    fns=$(objdump -d --no-show-raw-insn "$o" | sed -n 's/^[0-9a-f]* <\(.*\)>:$/\1/p')
    # shellcheck disable=SC2086
    list "$o" $fns
    echo "== summary: each conditional jump with the last flag-setting instruction before it (count)"
    objdump -d --no-show-raw-insn "$o" | awk '
        /^[0-9a-f]+ </ { fn = $2 }
        $2 ~ /^(cmp|test|dec|inc|add|sub|and|or|xor|neg)[bwlq]?$/ { last = $2 " " $3 }
        $2 ~ /^j/ && $2 != "jmp" { print fn, $2, "<-", last }' | sort | uniq -c
    echo "== setcc and cmov in the r255 object"
    objdump -d --no-show-raw-insn "$o" | awk '/^[0-9a-f]+ </ { fn = $2 } $2 ~ /^(set|cmov)/ { print fn, $2, $3 }' | sort | uniq -c
fi
if [ "$which" = r255 ] || [ "$which" = all ]; then
    echo "== call targets in the r255 object (count, target; external ones through their relocation)"
    objdump -dr --no-show-raw-insn "$o" | grep -A1 -E $'\tcall ' |
        grep -oE 'R_X86_64_PLT32[[:space:]]+[A-Za-z_0-9]+|call +[0-9a-f]+ <[A-Za-z_0-9]+>' |
        sed -E 's/R_X86_64_PLT32[[:space:]]+//; s/call +[0-9a-f]+ <(.*)>/\1/' | sort | uniq -c
fi
