#!/usr/bin/env python3
"""Paillier vectors for CleanRoom, checked with python-paillier (`phe`) as the independent implementation.

Usage:
    python3 paillier_vectors.py generate [--out PATH] [--reuse-keys FILE]
    python3 paillier_vectors.py crosscheck FILE

generate
    Makes two keys with phe.generate_paillier_keypair (n of 2048 and 3072 bits), chooses
    messages (0, 1, -1, small values, the range ends (n-1)/2 and -(n-1)/2, random ones) and
    randomizers r (random in [1, n) with gcd(r, n) = 1, from `secrets`), and writes
    ../paillier_phe.json (default) in the schema of Vectors/README.md, kind "paillier".
    Nothing is seeded: every random value is recorded in the file, so the file is the record.
    Every case is checked with phe before it is written (encryption with raw_encrypt, every
    expected plaintext with phe's CRT decryption, homomorphic results with phe's own
    ciphertext arithmetic).  --reuse-keys takes the keys from an existing vector file instead
    of generating new ones (key generation in pure Python takes a while).

crosscheck FILE
    FILE is JSON written by CleanRoom's Swift code:
        {"keys": {name: {"p": hex, "q": hex}},
         "ciphertexts": [{"key": name, "c": hex, "m": "signed decimal"}]}
    Every c must decrypt under phe to m (a raw plaintext above n//2 stands for raw - n).
    Prints "paillier crosscheck: N passed, M failed" and exits non-zero on any failure.

Conventions (Vectors/README.md): g = n + 1; big integers are lowercase big-endian hex without
prefix; plaintexts (and the scalars k) are signed decimal strings in (-n/2, n/2), encoded as
m mod n.
"""

import argparse
import json
import math
import os
import secrets
import sys

import phe
from phe import paillier

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "paillier_phe.json")
KEY_SIZES = {"k2048": 2048, "k3072": 3072}
SIZE_BUDGET = 160 * 1024


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

def to_hex(value):
    if value < 0:
        raise ValueError("negative value cannot be written as hex")
    return format(value, "x")


def encode(m, n):
    """Signed plaintext -> residue mod n."""
    return m % n


def decode(raw, n):
    """Residue mod n -> signed plaintext in (-n/2, n/2)."""
    raw %= n
    return raw - n if raw > n // 2 else raw


def random_unit(n):
    while True:
        r = 1 + secrets.randbelow(n - 1)
        if math.gcd(r, n) == 1:
            return r


def random_plaintext(n):
    return decode(secrets.randbelow(n), n)


class Key:
    """A phe key pair plus the numbers the vectors need."""

    def __init__(self, name, p, q):
        if p > q:
            p, q = q, p
        self.name = name
        self.p, self.q = p, q
        self.n = p * q
        self.n2 = self.n * self.n
        self.public = paillier.PaillierPublicKey(self.n)
        self.private = paillier.PaillierPrivateKey(self.public, p, q)
        if self.public.g != self.n + 1:
            raise AssertionError("phe is expected to use g = n + 1")

    def phe_decrypt(self, c):
        """Signed plaintext of c according to phe."""
        return decode(self.private.raw_decrypt(c), self.n)

    def phe_encrypt(self, m, r):
        return self.public.raw_encrypt(encode(m, self.n), r_value=r)

    def is_valid_ciphertext(self, c):
        return 0 < c < self.n2 and math.gcd(c, self.n) == 1


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------

def make_keys(reuse_path):
    keys = {}
    if reuse_path:
        with open(reuse_path, encoding="utf-8") as handle:
            recorded = json.load(handle)["keys"]
        for name in KEY_SIZES:
            keys[name] = Key(name, int(recorded[name]["p"], 16), int(recorded[name]["q"], 16))
    else:
        for name, bits in KEY_SIZES.items():
            print(f"generating {name} ({bits}-bit n) with phe.generate_paillier_keypair ...", flush=True)
            public, private = paillier.generate_paillier_keypair(n_length=bits)
            keys[name] = Key(name, private.p, private.q)
    for name, bits in KEY_SIZES.items():
        check(keys[name].n.bit_length() == bits, f"{name}: n has {keys[name].n.bit_length()} bits, not {bits}")
    return keys


class CaseBuilder:
    def __init__(self, key):
        self.key = key
        self.cases = []
        self.counts = {}
        self.source = f"python-paillier (phe {phe.__version__}) via Vectors/tools/paillier_vectors.py"

    def _add(self, op, label, fields):
        self.counts[op] = self.counts.get(op, 0) + 1
        case = {"id": f"{self.key.name}-{op}-{self.counts[op]:02d}-{label}", "source": self.source,
                "key": self.key.name, "op": op}
        case.update(fields)
        self.cases.append(case)

    def _expect_plaintext(self, c, m, what):
        got = self.key.phe_decrypt(c)
        check(got == m, f"{self.key.name} {what}: phe decrypts to {got}, expected {m}")

    def fresh(self, m):
        """A fresh encryption of m with a random r (checked), returned as an int."""
        r = random_unit(self.key.n)
        c = self.key.phe_encrypt(m, r)
        self._expect_plaintext(c, m, "fresh encryption")
        return c

    def encrypt(self, label, m, r=None):
        k = self.key
        r = random_unit(k.n) if r is None else r
        check(math.gcd(r, k.n) == 1 and 0 < r < k.n, "r must be a unit below n")
        ours = (1 + encode(m, k.n) * k.n) * pow(r, k.n, k.n2) % k.n2
        theirs = k.phe_encrypt(m, r)
        check(ours == theirs, f"{k.name} encrypt {label}: textbook formula and phe disagree")
        self._expect_plaintext(ours, m, f"encrypt {label}")
        self._add("encrypt", label, {"m": str(m), "r": to_hex(r), "c": to_hex(ours)})

    def decrypt(self, label, c, m):
        check(self.key.is_valid_ciphertext(c), f"decrypt {label}: not a valid ciphertext")
        self._expect_plaintext(c, m, f"decrypt {label}")
        self._add("decrypt", label, {"c": to_hex(c), "m": str(m)})

    def add(self, label, m1, m2):
        k = self.key
        c1, c2 = self.fresh(m1), self.fresh(m2)
        c = c1 * c2 % k.n2
        check(c == paillier.EncryptedNumber(k.public, c1)._raw_add(c1, c2), f"add {label}: phe disagrees")
        m = decode(m1 + m2, k.n)
        self._expect_plaintext(c, m, f"add {label}")
        self._add("add", label, {"c1": to_hex(c1), "c2": to_hex(c2), "c": to_hex(c), "m": str(m)})

    def add_plaintext(self, label, m1, scalar):
        k = self.key
        c1 = self.fresh(m1)
        c = c1 * (1 + encode(scalar, k.n) * k.n) % k.n2
        # phe adds a plaintext by multiplying with its encryption under r = 1.
        check(c == c1 * k.public.raw_encrypt(encode(scalar, k.n), r_value=1) % k.n2,
              f"add_plaintext {label}: phe disagrees")
        m = decode(m1 + scalar, k.n)
        self._expect_plaintext(c, m, f"add_plaintext {label}")
        self._add("add_plaintext", label, {"c1": to_hex(c1), "k": str(scalar), "c": to_hex(c), "m": str(m)})

    def multiply(self, label, m1, scalar):
        k = self.key
        c1 = self.fresh(m1)
        c = pow(c1, scalar, k.n2)          # a negative exponent means the inverse mod n^2
        if abs(scalar) < k.public.max_int:
            # phe raises to scalar mod n, taking the inverse for "negative" residues: the same c.
            theirs = paillier.EncryptedNumber(k.public, c1)._raw_mul(encode(scalar, k.n))
            check(c == theirs, f"multiply {label}: phe disagrees")
        m = decode(m1 * scalar, k.n)
        self._expect_plaintext(c, m, f"multiply {label}")
        self._add("multiply", label, {"c1": to_hex(c1), "k": str(scalar), "c": to_hex(c), "m": str(m)})

    def reject(self, label, c, reason):
        check(not self.key.is_valid_ciphertext(c), f"reject {label}: c is a valid ciphertext")
        self._add("reject", label, {"c": to_hex(c), "reason": reason})


def build_cases(key, full):
    """full=True for the 2048-bit key (more cases); the 3072-bit key gets a smaller set."""
    n = key.n
    top = (n - 1) // 2                       # the largest plaintext; -top is the smallest
    b = CaseBuilder(key)

    # encrypt: (1 + m*n) * r^n mod n^2
    b.encrypt("zero", 0)
    b.encrypt("one", 1)
    b.encrypt("minus-one", -1)
    b.encrypt("max", top)
    b.encrypt("min", -top)
    b.encrypt("r-one", 5, r=1)
    b.encrypt("random", random_plaintext(n))
    if full:
        b.encrypt("small", 42)
        b.encrypt("small-negative", -123456789)
        b.encrypt("r-n-minus-one", 7, r=n - 1)
        b.encrypt("random", random_plaintext(n))

    # decrypt
    b.decrypt("c-one", 1, 0)                                 # encryption of 0 with r = 1
    b.decrypt("g", n + 1, 1)                                 # g itself: encryption of 1 with r = 1
    b.decrypt("minus-one-r-one", (1 - n) % key.n2, -1)       # (1 - n) = (1 + n)^-1
    m = random_plaintext(n)
    b.decrypt("random", b.fresh(m), m)
    if full:
        b.decrypt("max", b.fresh(top), top)
        b.decrypt("min", b.fresh(-top), -top)
        m = random_plaintext(n)
        b.decrypt("random", b.fresh(m), m)

    # add: c1 * c2 mod n^2
    b.add("small", 5, 7)
    b.add("mixed-sign", -500, 123)
    b.add("wrap-past-max", top, 1)                           # (n-1)/2 + 1 wraps to -(n-1)/2
    if full:
        b.add("cancel", 987654321987654321, -987654321987654321)
        b.add("random", random_plaintext(n), random_plaintext(n))

    # add_plaintext: c1 * (1 + k*n) mod n^2
    b.add_plaintext("small", 10, 5)
    b.add_plaintext("negative-k", 10, -25)
    b.add_plaintext("wrap-past-min", -top, -1)               # -(n-1)/2 - 1 wraps to (n-1)/2
    if full:
        b.add_plaintext("zero-plus-max", 0, top)
        b.add_plaintext("random", random_plaintext(n), random_plaintext(n))

    # multiply: c1^k mod n^2
    b.multiply("small", 7, 6)
    b.multiply("negative-k", 7, -6)
    b.multiply("by-zero", random_plaintext(n), 0)
    b.multiply("random-large-negative-k", random_plaintext(n), -(secrets.randbits(200) | 1))
    if full:
        b.multiply("by-one", random_plaintext(n), 1)
        b.multiply("by-minus-one", 123, -1)
        b.multiply("negative-m", -3, 1000003)

    # reject: not an element of Z*_{n^2}
    b.reject("zero", 0, "out of range: c = 0")
    b.reject("n-squared", key.n2, "out of range: c = n^2")
    b.reject("n-squared-plus-one", key.n2 + 1, "out of range: c = n^2 + 1")
    b.reject("n", n, "not a unit: gcd(c, n) = n")
    b.reject("p", key.p, "not a unit: gcd(c, n) = p")
    if full:
        b.reject("q", key.q, "not a unit: gcd(c, n) = q")
        b.reject("two-p", 2 * key.p, "not a unit: gcd(c, n) = p")
    return b.cases


def generate(out_path, reuse_path):
    keys = make_keys(reuse_path)
    cases = []
    for name, key in keys.items():
        cases.extend(build_cases(key, full=(name == "k2048")))
    check(len({c["id"] for c in cases}) == len(cases), "duplicate case ids")
    document = {
        "schema": "cleanroom-vectors/v1",
        "kind": "paillier",
        "description": "Paillier with g = n + 1: encrypt, decrypt, add, add_plaintext, multiply and reject "
                       "cases for a 2048-bit and a 3072-bit modulus",
        "source": f"python-paillier (phe {phe.__version__}) via Vectors/tools/paillier_vectors.py generate; "
                  "keys from phe.generate_paillier_keypair, messages and r from Python secrets (recorded, "
                  "not seeded)",
        "keys": {name: {"p": to_hex(key.p), "q": to_hex(key.q), "n": to_hex(key.n), "bits": key.n.bit_length()}
                 for name, key in keys.items()},
        "cases": cases,
    }
    text = json.dumps(document, indent=1) + "\n"
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write(text)
    by_op = {}
    for case in cases:
        by_op[case["op"]] = by_op.get(case["op"], 0) + 1
    print(f"wrote {os.path.basename(out_path)}: {len(cases)} cases {by_op}, {len(text)} bytes")
    if len(text) > SIZE_BUDGET:
        print(f"warning: file is larger than {SIZE_BUDGET} bytes", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# crosscheck
# ---------------------------------------------------------------------------------------

def crosscheck(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    keys = {}
    for name, numbers in document.get("keys", {}).items():
        try:
            keys[name] = Key(name, int(numbers["p"], 16), int(numbers["q"], 16))
        except (KeyError, ValueError, TypeError) as error:
            print(f"key {name}: unusable ({error})", file=sys.stderr)
    items = document.get("ciphertexts", [])
    passed = failed = 0
    for index, item in enumerate(items):
        where = f"ciphertexts[{index}]"
        try:
            if item.get("key") not in keys:
                raise CheckFailed(f"unknown or unusable key {item.get('key')!r}")
            key = keys[item["key"]]
            c = int(item["c"], 16)
            m = int(str(item["m"]), 10)
            if not key.is_valid_ciphertext(c):
                raise CheckFailed("c is not in Z*_{n^2}")
            got = key.phe_decrypt(c)
            if got != m:
                raise CheckFailed(f"phe decrypts to {got}, expected {m}")
            passed += 1
        except (CheckFailed, KeyError, ValueError, TypeError) as error:
            failed += 1
            print(f"{where} (key {item.get('key') if isinstance(item, dict) else '?'}): FAILED: {error}",
                  file=sys.stderr)
    print(f"paillier crosscheck: {passed} passed, {failed} failed")
    if not items:
        print("no ciphertexts to check: treated as a failure", file=sys.stderr)
        return 1
    return 1 if failed else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the paillier vector file")
    gen.add_argument("--out", default=DEFAULT_OUT, help="output path (default: Vectors/paillier_phe.json)")
    gen.add_argument("--reuse-keys", metavar="FILE", help="take p and q from this existing vector file")
    cross = commands.add_parser("crosscheck", help="check ciphertexts produced by CleanRoom with phe")
    cross.add_argument("file")
    args = parser.parse_args(argv[1:])
    try:
        if args.command == "generate":
            generate(args.out, args.reuse_keys)
            return 0
        return crosscheck(args.file)
    except CheckFailed as error:
        print(f"paillier_vectors.py: FAILED: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
