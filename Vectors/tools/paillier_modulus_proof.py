#!/usr/bin/env python3
"""Vectors for the Paillier modulus proof (a proof that gcd(n, phi(n)) = 1), written from the
specification in docs/crypto.md ("Modulus proof"), not from the Swift code.

Usage:
    python3 paillier_modulus_proof.py generate [--out PATH] [--reuse-keys FILE]
    python3 paillier_modulus_proof.py check [FILE]

generate
    Draws two honest keys (p, q prime, p = q = 3 mod 4, n of exactly 2048 and 3072 bits; primes
    from `secrets` and a Miller-Rabin test of this file) and one malicious 2048-bit modulus
    n = r * R with r = 10007 and R prime, R = 1 (mod r), so that gcd(n, phi(n)) = r while n passes
    CleanRoom's public-key checks (odd, 2048 bits, no factor below 10000, not a square). Writes
    ../paillier_modulus_proof.json (default) in the schema of Vectors/README.md, kind
    "paillier_modulus_proof": honest proofs (result "valid"), tampered proofs and the malicious
    modulus's best attempt (result "invalid"). Nothing is seeded: every value is recorded in the
    file, so the file is the record. --reuse-keys takes the keys from an existing file.

check [FILE]
    Recomputes every challenge (and its rejection counter) from n and the context, every honest
    proof from p and q, and runs the verifier on every recorded proof; a "valid" case must be
    reproduced byte for byte and verify, an "invalid" one must be refused. For the malicious
    modulus it also checks the claims the file makes about it (n = r * R, R prime, r | R - 1,
    gcd(n, phi(n)) = r, and that it passes the old public-key checks). Prints
    "<file>: N passed, M failed" and exits non-zero on any failure.

The protocol (Goldberg, Reyzin, Sagga, Baldimtsi, "Efficient Noninteractive Certification of RSA
Moduli and Beyond", ASIACRYPT 2019, the N-th root protocol), with L = byte length of n:
    challenge i (0 <= i < 10), counter c = 0, 1, ...:
        msg = I2OSP(L, 4) || I2OSP(n, L) || I2OSP(len(context), 4) || context || I2OSP(i, 4) || I2OSP(c, 4)
        x   = OS2IP(expand_message_xmd_SHA-256(msg, DST = "CleanRoom-v1 paillier-modulus-proof", L))
              with the top 8L - bitlen(n) bits cleared
        rho_i = x for the first c with 0 < x < n and gcd(x, n) = 1
    proof = I2OSP(sigma_0, L) || ... || I2OSP(sigma_9, L), sigma_i = rho_i^(n^-1 mod phi(n)) mod n
    verify: exactly 10 * L bytes, 0 < sigma_i < n, sigma_i^n mod n == rho_i for every i.
"""

import argparse
import hashlib
import json
import math
import os
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.join(os.path.dirname(HERE), "paillier_modulus_proof.json")
DST = b"CleanRoom-v1 paillier-modulus-proof"
ROUNDS = 10
SOURCE = "Vectors/tools/paillier_modulus_proof.py (pure Python: hashlib, built-in pow)"
SMALL_PRIMES = [p for p in range(2, 10000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------

def i2osp(value, length):
    return value.to_bytes(length, "big")


def expand_message_xmd_sha256(msg, dst, length):
    """RFC 9380 section 5.3.1 with H = SHA-256 (b = 32, s = 64); dst is at most 255 bytes here."""
    ell = (length + 31) // 32
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: length or DST too long")
    dst_prime = dst + i2osp(len(dst), 1)
    b0 = hashlib.sha256(bytes(64) + msg + i2osp(length, 2) + b"\x00" + dst_prime).digest()
    blocks = [hashlib.sha256(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, blocks[-1]))
        blocks.append(hashlib.sha256(mixed + i2osp(i, 1) + dst_prime).digest())
    return b"".join(blocks)[:length]


def byte_length(n):
    return (n.bit_length() + 7) // 8


def candidate(n, context, index, counter):
    """The candidate for challenge `index` at rejection counter `counter`."""
    L = byte_length(n)
    msg = i2osp(L, 4) + i2osp(n, L) + i2osp(len(context), 4) + context + i2osp(index, 4) + i2osp(counter, 4)
    x = int.from_bytes(expand_message_xmd_sha256(msg, DST, L), "big")
    return x & ((1 << n.bit_length()) - 1)          # clear the bits above bitlen(n)


def challenge(n, context, index):
    """(rho_index, the counter at which it was accepted)."""
    counter = 0
    while True:
        x = candidate(n, context, index, counter)
        if 0 < x < n and math.gcd(x, n) == 1:
            return x, counter
        counter += 1


def challenges(n, context):
    return [challenge(n, context, i) for i in range(ROUNDS)]


def prove(p, q, context):
    """sigma_i = rho_i^d mod n with d = n^-1 mod phi(n) (plain exponentiation mod n, no CRT)."""
    n = p * q
    d = pow(n, -1, (p - 1) * (q - 1))               # raises ValueError when gcd(n, phi(n)) != 1
    return [pow(rho, d, n) for rho, _ in challenges(n, context)]


def encode(roots, n):
    L = byte_length(n)
    return b"".join(i2osp(s, L) for s in roots)


def verify(n, context, proof):
    """None when the proof verifies, else the reason it is refused."""
    L = byte_length(n)
    if len(proof) != ROUNDS * L:
        return f"proof has {len(proof)} bytes, expected {ROUNDS * L}"
    for i in range(ROUNDS):
        sigma = int.from_bytes(proof[i * L:(i + 1) * L], "big")
        if not 0 < sigma < n:
            return f"root {i} is not in (0, n)"
        rho, _ = challenge(n, context, i)
        if pow(sigma, n, n) != rho:
            return f"root {i}: sigma^n mod n != rho_{i}"
    return None


def is_probable_prime(n, rounds=40):
    if n < 2:
        return False
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        a = 2 + secrets.randbelow(n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def passes_public_key_checks(n):
    """CleanRoom's PaillierPublicKey(n:) checks, which the malicious modulus must pass."""
    if n.bit_length() not in (2048, 3072) or n % 2 == 0:
        return False
    if any(n % p == 0 for p in SMALL_PRIMES):
        return False
    root = math.isqrt(n)
    return root * root != n


# ---------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------

def random_prime(bits):
    """A prime of exactly `bits` bits, top two bits set, = 3 (mod 4)."""
    while True:
        x = secrets.randbits(bits) | (3 << (bits - 2)) | 3
        if is_probable_prime(x):
            return x


def honest_key(bits):
    while True:
        p, q = random_prime(bits // 2), random_prime(bits // 2)
        n = p * q
        if p != q and n.bit_length() == bits and math.gcd(n, (p - 1) * (q - 1)) == 1:
            return min(p, q), max(p, q)


def malicious_modulus(r=10007, bits=2048):
    """n = r * R, R prime, R = k*r + 1, n of exactly `bits` bits, r not dividing k."""
    low = ((1 << (bits - 1)) + r - 1) // r               # R >= low makes n >= 2^(bits-1)
    high = ((1 << bits) - 1) // r                        # R <= high makes n < 2^bits
    k = (low + secrets.randbelow((high - low) // 2)) // r
    k -= k % 2                                           # R = k*r + 1 odd needs k even
    while True:
        R = k * r + 1
        if k % r != 0 and low <= R <= high and is_probable_prime(R):
            n = r * R
            assert n.bit_length() == bits and passes_public_key_checks(n)
            return r, R
        k += 2


def context_for(label):
    """A 32-byte context standing in for a transcript hash: SHA-256 of a label."""
    return hashlib.sha256(label.encode()).digest()


def best_effort_roots(r, R, context):
    """What the owner of n = r*R can do: invert n modulo the largest group exponent it is coprime
    to, lcm(r - 1, (R - 1)/r), and raise each challenge to that. sigma^n = rho exactly when rho is
    an n-th residue, which happens for one challenge in r."""
    n = r * R
    d = pow(n, -1, math.lcm(r - 1, (R - 1) // r))
    return [pow(rho, d, n) for rho, _ in challenges(n, context)]


def build(keys):
    cases = []

    def add(case_id, key, context, proof, result, note, with_challenges=False):
        n = keys[key]["n"]
        case = {"id": case_id, "source": SOURCE, "key": key, "context_hex": context.hex()}
        if with_challenges or result == "valid":
            found = challenges(n, context)
            case["challenges"] = [format(rho, "x") for rho, _ in found]
            case["counters"] = [c for _, c in found]
        case["proof"] = proof.hex()
        case["result"] = result
        case["comment"] = note
        if (verify(n, context, proof) is None) != (result == "valid"):
            raise AssertionError(f"{case_id}: the verifier disagrees with result {result}")
        cases.append(case)

    k2 = keys["k2048"]
    n2, p2, q2 = k2["n"], k2["p"], k2["q"]
    L2 = byte_length(n2)
    ctx_a, ctx_b = context_for("CleanRoom example transcript A"), context_for("CleanRoom example transcript B")
    roots_empty = prove(p2, q2, b"")
    roots_a = prove(p2, q2, ctx_a)
    add("k2048-empty-context", "k2048", b"", encode(roots_empty, n2), "valid", "honest proof, empty context")
    add("k2048-context-a", "k2048", ctx_a, encode(roots_a, n2), "valid", "honest proof, 32-byte context")
    add("k2048-context-b", "k2048", ctx_b, encode(prove(p2, q2, ctx_b), n2), "valid", "honest proof, 32-byte context")
    k3 = keys["k3072"]
    n3 = k3["n"]
    add("k3072-context-a", "k3072", ctx_a, encode(prove(k3["p"], k3["q"], ctx_a), n3), "valid",
        "honest proof, 32-byte context, 3072-bit modulus")

    tampered = list(roots_a)
    tampered[3] = (tampered[3] + 1) % n2
    add("k2048-tampered-root", "k2048", ctx_a, encode(tampered, n2), "invalid", "root 3 plus one")
    last = list(roots_a)
    last[9] = (last[9] * 2) % n2
    add("k2048-tampered-last-root", "k2048", ctx_a, encode(last, n2), "invalid", "root 9 doubled")
    swapped = list(roots_a)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    add("k2048-swapped-roots", "k2048", ctx_a, encode(swapped, n2), "invalid", "roots 0 and 1 swapped")
    add("k2048-wrong-context", "k2048", ctx_b, encode(roots_a, n2), "invalid",
        "the proof for context A presented with context B")
    add("k2048-context-dropped", "k2048", b"", encode(roots_a, n2), "invalid",
        "the proof for context A presented with the empty context")
    zero = list(roots_a)
    zero[0] = 0
    add("k2048-root-zero", "k2048", ctx_a, encode(zero, n2), "invalid", "root 0 is 0")
    equal = list(roots_a)
    equal[0] = n2
    add("k2048-root-equals-n", "k2048", ctx_a, encode(equal, n2), "invalid", "root 0 is n")
    ones = list(roots_a)
    ones[9] = (1 << (8 * L2)) - 1
    add("k2048-root-all-ones", "k2048", ctx_a, encode(ones, n2), "invalid", "root 9 is 2^2048 - 1, above n")
    # sigma + n is congruent to sigma, so only the range check refuses it: pick a root where it fits.
    i = next(i for i, s in enumerate(roots_a) if s + n2 < 1 << (8 * L2))
    shifted = list(roots_a)
    shifted[i] += n2
    add("k2048-root-plus-n", "k2048", ctx_a, encode(shifted, n2), "invalid",
        f"root {i} replaced by root + n (same residue, not below n)")
    full = encode(roots_a, n2)
    add("k2048-truncated-byte", "k2048", ctx_a, full[:-1], "invalid", "last byte missing")
    add("k2048-extended-byte", "k2048", ctx_a, full + b"\x00", "invalid", "one extra zero byte")
    add("k2048-nine-roots", "k2048", ctx_a, full[:-L2], "invalid", "only nine roots")
    add("k2048-eleven-roots", "k2048", ctx_a, full + full[:L2], "invalid", "an eleventh root")
    add("k2048-empty-proof", "k2048", ctx_a, b"", "invalid", "no bytes at all")
    add("k3072-proof-of-k2048", "k3072", ctx_a, full, "invalid", "a 2048-bit key's proof for a 3072-bit key")

    bad = keys["bad2048"]
    nb, r, R = bad["n"], bad["r"], bad["R"]
    for label, ctx in (("empty-context", b""), ("context-a", ctx_a)):
        add(f"bad2048-best-effort-{label}", "bad2048", ctx, encode(best_effort_roots(r, R, ctx), nb), "invalid",
            "n = 10007 * R with R = 1 (mod 10007): the owner's best attempt, rho^(n^-1 mod lcm(r-1, (R-1)/r))",
            with_challenges=True)
    random_roots = [1 + secrets.randbelow(nb - 1) for _ in range(ROUNDS)]
    add("bad2048-random-roots", "bad2048", ctx_a, encode(random_roots, nb), "invalid",
        "n = 10007 * R: random roots")
    return cases


def generate(out, reuse):
    if reuse:
        with open(reuse, encoding="utf-8") as handle:
            recorded = json.load(handle)["keys"]
        keys = {name: {f: int(v, 16) for f, v in key.items() if f not in ("bits", "comment")}
                for name, key in recorded.items()}
    else:
        keys = {}
        for name, bits in (("k2048", 2048), ("k3072", 3072)):
            print(f"generating {name} ...", flush=True)
            p, q = honest_key(bits)
            keys[name] = {"p": p, "q": q, "n": p * q}
        print("searching the malicious modulus ...", flush=True)
        r, R = malicious_modulus()
        keys["bad2048"] = {"n": r * R, "r": r, "R": R}
    cases = build(keys)
    document = {
        "schema": "cleanroom-vectors/v1",
        "kind": "paillier_modulus_proof",
        "description": ("Non-interactive proof that a Paillier modulus n satisfies gcd(n, phi(n)) = 1 (Goldberg-Reyzin-"
                        "Sagga-Baldimtsi 2019, n-th roots of 10 hashed challenges, docs/crypto.md): honest proofs for a "
                        "2048-bit and a 3072-bit key, tampered proofs, and a malicious 2048-bit modulus n = 10007 * R "
                        "with R = 1 (mod 10007) that passes the public-key checks but has no valid proof"),
        "source": SOURCE + " generate; primes from Python secrets (recorded, not seeded)",
        "keys": {},
        "cases": cases,
    }
    for name, key in keys.items():
        entry = {f: format(v, "x") for f, v in key.items()}
        entry["bits"] = key["n"].bit_length()
        if name == "bad2048":
            entry["comment"] = "n = r * R, r = 10007 (hex 2717), R prime, R = 1 (mod r): gcd(n, phi(n)) = r"
        document["keys"][name] = entry
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    print(f"wrote {out}: {len(cases)} cases")


# ---------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------

class Unparseable(Exception):
    pass


def key_numbers(keys, name):
    if name not in keys:
        raise Unparseable(f"unknown key {name!r}")
    try:
        return {f: int(v, 16) for f, v in keys[name].items() if f not in ("bits", "comment")}
    except (TypeError, ValueError):
        raise Unparseable(f"key {name}: a value is not hex")


def check_key(name, key):
    """None when the key is what it claims to be, else the problem."""
    n = key.get("n")
    if n is None:
        return "no n"
    if not passes_public_key_checks(n):
        return "n fails the public-key checks, so the proof would not be what refuses it"
    if "p" in key or "q" in key:
        p, q = key.get("p"), key.get("q")
        if p is None or q is None or p * q != n or not (is_probable_prime(p) and is_probable_prime(q)):
            return "p, q are not two primes with p * q = n"
        if math.gcd(n, (p - 1) * (q - 1)) != 1:
            return "gcd(n, phi(n)) != 1 for an honest key"
    if "r" in key or "R" in key:
        r, R = key.get("r"), key.get("R")
        if r is None or R is None or r * R != n or not (is_probable_prime(r) and is_probable_prime(R)):
            return "r, R are not two primes with r * R = n"
        if (R - 1) % r != 0 or math.gcd(n, (r - 1) * (R - 1)) != r:
            return "the malicious modulus does not have gcd(n, phi(n)) = r"
    return None


def check_case(case, keys):
    """None when the case holds, else the problem."""
    for f in ("id", "source", "key", "context_hex", "proof", "result"):
        if f not in case:
            raise Unparseable(f"case {case.get('id', '?')}: missing field {f!r}")
    key = key_numbers(keys, case["key"])
    n = key["n"]
    context, proof = bytes.fromhex(case["context_hex"]), bytes.fromhex(case["proof"])
    if "challenges" in case:
        found = challenges(n, context)
        if [format(rho, "x") for rho, _ in found] != case["challenges"]:
            return "challenges differ"
        if "counters" in case and [c for _, c in found] != case["counters"]:
            return "counters differ"
    reason = verify(n, context, proof)
    if case["result"] == "valid":
        if "p" not in key:
            return "a valid case needs p and q"
        if encode(prove(key["p"], key["q"], context), n) != proof:
            return "proof differs from the one recomputed from p, q"
        return reason
    if case["result"] == "invalid":
        return "verifies, but must be refused" if reason is None else None
    raise Unparseable(f"case {case['id']}: unknown result {case['result']!r}")


def check_document(document):
    """(passed, failed, failure lines) for a parsed file of this kind."""
    keys = document.get("keys")
    if not isinstance(keys, dict):
        raise Unparseable("missing keys")
    failures = []
    for name in keys:
        problem = check_key(name, key_numbers(keys, name))
        if problem:
            failures.append(f"key {name}: {problem}")
    passed = 0
    for case in document["cases"]:
        problem = check_case(case, keys)
        if problem:
            failures.append(f"{case['id']}: {problem}")
        else:
            passed += 1
    return passed, len(failures), failures


def check(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("schema") != "cleanroom-vectors/v1" or document.get("kind") != "paillier_modulus_proof":
        raise Unparseable("bad schema or kind")
    passed, failed, failures = check_document(document)
    for line in failures:
        print(f"  {line}", file=sys.stderr)
    cases = document["cases"]
    rejected = sum(c for case in cases for c in case.get("counters", []))
    print(f"  ({sum(1 for c in cases if c['result'] == 'valid')} valid, "
          f"{sum(1 for c in cases if c['result'] == 'invalid')} invalid; {rejected} rejected challenge candidates)")
    print(f"{os.path.basename(path)}: {passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", default=DEFAULT_FILE)
    g.add_argument("--reuse-keys")
    c = sub.add_parser("check")
    c.add_argument("file", nargs="?", default=DEFAULT_FILE)
    args = parser.parse_args(argv[1:])
    if args.command == "generate":
        generate(args.out, args.reuse_keys)
        return 0
    return check(args.file)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
