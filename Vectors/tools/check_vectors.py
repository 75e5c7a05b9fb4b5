#!/usr/bin/env python3
"""Check every *.json vector file in a folder against the rules of Vectors/README.md, in Python.

Usage:
    python3 check_vectors.py [FOLDER]        (default: the Vectors folder above this script)

A second opinion beside `cleanroom vectors verify`: it prints the same kind of report,
`<file name>: N passed, M failed` per file and a `total:` line, and exits non-zero on any
failure or on a file it cannot parse.  The arithmetic comes from h2c_reference.py (RFC 9380),
the `cryptography` package (X25519) and plain Python integers (Paillier, decrypted with the
textbook lambda/mu formula rather than phe's CRT routine; the modulus proof, from
paillier_modulus_proof.py; ristretto255 and the RFC 9497 OPRF, from oprf_reference.py in pure Python; enrichment records, from
enrichment_record_reference.py).
"""

import glob
import json
import math
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

sys.dont_write_bytecode = True   # keep __pycache__ out of the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h2c_reference as h2c  # noqa: E402
import paillier_modulus_proof as modulus_proof  # noqa: E402
import oprf_reference  # noqa: E402
import enrichment_record_reference  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {"expand_message_xmd", "hash_to_curve", "x25519", "paillier", "paillier_modulus_proof", "ristretto255", "oprf",
         "enrichment_record"}


class Unparseable(Exception):
    pass


def field(case, name):
    if name not in case:
        raise Unparseable(f"case {case.get('id', '?')}: missing field {name!r}")
    return case[name]


def text_field(case, name):
    """`name` as UTF-8 text or `name_hex` as hex bytes."""
    if name in case:
        return case[name].encode("utf-8")
    if name + "_hex" in case:
        return bytes.fromhex(case[name + "_hex"])
    raise Unparseable(f"case {case.get('id', '?')}: missing {name!r} / {name + '_hex'!r}")


# ---------------------------------------------------------------------------------------

def check_expand(case):
    hash_name = field(case, "hash")
    if hash_name not in ("SHA-256", "SHA-512"):
        raise Unparseable(f"unknown hash {hash_name}")
    got = h2c.expand_message_xmd(text_field(case, "msg"), text_field(case, "dst"),
                                 int(field(case, "len_in_bytes")), hash_name)
    return got.hex() == field(case, "uniform_bytes")


def check_hash_to_curve(case):
    if field(case, "suite") != h2c.SUITE:
        return False
    u, q0, q1, P = h2c.hash_to_curve(text_field(case, "msg"), text_field(case, "dst"))

    def point(value):
        return (int(field(value, "x"), 16), int(field(value, "y"), 16))

    ok = [int(x, 16) for x in field(case, "u")] == u
    ok &= point(field(case, "Q0")) == q0 and point(field(case, "Q1")) == q1 and point(field(case, "P")) == P
    if "encoded" in case:
        ok &= case["encoded"] == P[0].to_bytes(32, "little").hex()
    return ok


def x25519(k, u):
    try:
        return X25519PrivateKey.from_private_bytes(k).exchange(X25519PublicKey.from_public_bytes(u))
    except ValueError:
        return None          # OpenSSL refuses an all-zero result


def check_x25519(case):
    private = bytes.fromhex(field(case, "private"))
    public = bytes.fromhex(field(case, "public"))
    shared = field(case, "shared")
    result, flags, expected = field(case, "result"), field(case, "flags"), field(case, "expected")
    if result not in ("valid", "acceptable", "invalid") or not isinstance(flags, list):
        raise Unparseable(f"case {case['id']}: bad result or flags")
    rule = "reject" if result == "invalid" or set(shared) == {"0"} else "shared"
    if expected != rule:
        return False
    if "iterations" in case:
        k = u = private
        for _ in range(int(case["iterations"])):
            k, u = x25519(k, u), k
        got = k
    else:
        got = x25519(private, public)
    if expected == "shared":
        return got is not None and got.hex() == shared
    return got is None or result == "invalid"


_KEY_CACHE = {}


def paillier_key(keys, name):
    cache_key = (keys[name]["p"], keys[name]["q"])
    if cache_key not in _KEY_CACHE:
        _KEY_CACHE[cache_key] = _paillier_key(keys, name)
    return _KEY_CACHE[cache_key]


def _paillier_key(keys, name):
    p, q = int(keys[name]["p"], 16), int(keys[name]["q"], 16)
    n = p * q
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    n2 = n * n
    mu = pow((pow(n + 1, lam, n2) - 1) // n, -1, n)
    return n, n2, lam, mu


def check_paillier(case, keys):
    n, n2, lam, mu = paillier_key(keys, field(case, "key"))

    def valid(c):
        return 0 < c < n2 and math.gcd(c, n) == 1

    def decrypts_to(c, m_text):
        if not valid(c):
            return False
        raw = (pow(c, lam, n2) - 1) // n * mu % n
        signed = raw - n if raw > n // 2 else raw
        return signed == int(m_text) and -n < 2 * int(m_text) < n

    op = field(case, "op")
    if op == "reject":
        return not valid(int(field(case, "c"), 16))
    c = int(field(case, "c"), 16)
    m = field(case, "m")
    if op == "encrypt":
        r = int(field(case, "r"), 16)
        return math.gcd(r, n) == 1 and (1 + int(m) % n * n) * pow(r, n, n2) % n2 == c and decrypts_to(c, m)
    if op == "decrypt":
        return decrypts_to(c, m)
    c1 = int(field(case, "c1"), 16)
    if op == "add":
        return c1 * int(field(case, "c2"), 16) % n2 == c and decrypts_to(c, m)
    k = int(field(case, "k"))
    if op == "add_plaintext":
        return c1 * (1 + k % n * n) % n2 == c and decrypts_to(c, m)
    if op == "multiply":
        return pow(c1, k, n2) == c and decrypts_to(c, m)
    raise Unparseable(f"case {case['id']}: unknown op {op}")


# ---------------------------------------------------------------------------------------

def check_file(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("schema") != "cleanroom-vectors/v1" or document.get("kind") not in KINDS:
        raise Unparseable("bad schema or kind")
    for name in ("description", "source", "cases"):
        field(document, name)
    cases = document["cases"]
    ids = [field(c, "id") for c in cases]
    if len(set(ids)) != len(ids):
        raise Unparseable("duplicate ids")
    for case in cases:
        field(case, "source")
    kind = document["kind"]
    if kind == "paillier_modulus_proof":
        try:
            passed, failed, failures = modulus_proof.check_document(document)
        except modulus_proof.Unparseable as error:
            raise Unparseable(str(error))
        for line in failures:
            print(f"  {os.path.basename(path)} {line}: FAILED", file=sys.stderr)
        return passed, failed
    passed = failed = 0
    for case in cases:
        if kind == "expand_message_xmd":
            ok = check_expand(case)
        elif kind == "hash_to_curve":
            ok = check_hash_to_curve(case)
        elif kind == "x25519":
            ok = check_x25519(case)
        elif kind in ("ristretto255", "oprf"):
            ok = oprf_reference.check_case(kind, case)
        elif kind == "enrichment_record":
            ok = enrichment_record_reference.check_case(case)
        else:
            ok = check_paillier(case, field(document, "keys"))
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"  {os.path.basename(path)} {case['id']}: FAILED", file=sys.stderr)
    return passed, failed


def main(argv):
    folder = argv[1] if len(argv) > 1 else os.path.dirname(HERE)
    total_passed = total_failed = 0
    broken = False
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            try:
                kind = json.load(handle).get("kind")
            except ValueError:
                kind = None
        if kind == "transcript":
            # Golden sessions need the protocol: `cleanroom vectors verify` replays them.
            print(f"{os.path.basename(path)}: skipped (kind transcript is replayed by cleanroom vectors verify)")
            continue
        try:
            passed, failed = check_file(path)
        except (Unparseable, ValueError, KeyError, TypeError) as error:
            print(f"{os.path.basename(path)}: cannot parse ({error})")
            broken = True
            continue
        print(f"{os.path.basename(path)}: {passed} passed, {failed} failed")
        total_passed += passed
        total_failed += failed
    print(f"total: {total_passed} passed, {total_failed} failed")
    return 1 if broken or total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
