#!/usr/bin/env python3
"""Plain reference implementation of RFC 9380 hash_to_curve for curve25519_XMD:SHA-512_ELL2_RO_.

Usage:
    python3 h2c_reference.py [SHARED_VECTORS_DIR]

This is deliberately the textbook version, written to be read rather than to be fast or
constant-time, so that it is an independent check of CleanRoom's Swift code:

  * expand_message_xmd (RFC 9380 section 5.3.1) over hashlib, with the oversize-DST rule of
    section 5.3.3;
  * hash_to_field (section 5.2) with L = 48 and count = 2;
  * Elligator 2 in the generic form of section 6.7.1 (is_square by Euler's criterion, a
    square root chosen by its sign) -- NOT the straight-line Appendix G.2.1 routine that the
    Swift code follows;
  * affine point addition and doubling on the Montgomery curve v^2 = u^3 + 486662 u^2 + u;
  * clear_cofactor as multiplication by h_eff = 8.

It first checks itself against every vector of the shared RFC 9380 Appendix J.4.1 file
(u, Q0, Q1 and P), against the shared expand_message_xmd files (Appendix K.1 and K.3) and
against two published long-DST vectors of Appendix K.2; then it writes
../hash_to_curve_curve25519_cleanroom.json with CleanRoom's own domain separation tags.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.dirname(HERE)
DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "vectors"))
OUT_NAME = "hash_to_curve_curve25519_cleanroom.json"

SUITE = "curve25519_XMD:SHA-512_ELL2_RO_"

# ---------------------------------------------------------------------------------------
# The field GF(p) and the curve
# ---------------------------------------------------------------------------------------

p = 2**255 - 19
A = 486662          # Montgomery coefficient J
B = 1               # Montgomery coefficient K
Z = 2               # Elligator 2 non-square constant for curve25519 (RFC 9380 section 7 table)
L = 48              # ceil((ceil(log2(p)) + k) / 8) with k = 128
H_EFF = 8           # cofactor


def inv0(x):
    """Inverse in GF(p), with inv0(0) = 0 as section 4 defines."""
    return pow(x % p, p - 2, p)


def is_square(x):
    """Euler's criterion: x is 0 or a quadratic residue."""
    x %= p
    return x == 0 or pow(x, (p - 1) // 2, p) == 1


def sqrt_any(x):
    """Some square root of a square x (p = 5 mod 8: Atkin's method with sqrt(-1))."""
    x %= p
    root = pow(x, (p + 3) // 8, p)
    if root * root % p != x:
        root = root * pow(2, (p - 1) // 4, p) % p
    if root * root % p != x:
        raise ValueError("sqrt_any called on a non-square")
    return root


def sgn0(x):
    """sgn0 for a prime field (m = 1): the parity of the canonical representative."""
    return (x % p) & 1


def on_curve(point):
    if point is None:
        return True
    x, y = point
    return (B * y * y - (x * x * x + A * x * x + x)) % p == 0


# Points are (x, y) tuples of Montgomery coordinates; None is the point at infinity.

def point_neg(point):
    if point is None:
        return None
    x, y = point
    return (x, (-y) % p)


def point_add(P, Q):
    """Affine addition on B*v^2 = u^3 + A*u^2 + u (the usual chord-and-tangent rules)."""
    if P is None:
        return Q
    if Q is None:
        return P
    x1, y1 = P
    x2, y2 = Q
    if x1 == x2:
        if (y1 + y2) % p == 0:
            return None                        # P + (-P), including doubling a 2-torsion point
        slope = (3 * x1 * x1 + 2 * A * x1 + 1) * inv0(2 * B * y1) % p
    else:
        slope = (y2 - y1) * inv0(x2 - x1) % p
    x3 = (B * slope * slope - A - x1 - x2) % p
    y3 = (slope * (x1 - x3) - y1) % p
    return (x3, y3)


def scalar_mul(k, point):
    """Double-and-add, most significant bit first."""
    result = None
    for bit in bin(k)[2:]:
        result = point_add(result, result)
        if bit == "1":
            result = point_add(result, point)
    return result


# ---------------------------------------------------------------------------------------
# expand_message_xmd and hash_to_field
# ---------------------------------------------------------------------------------------

HASHES = {
    # name: (constructor, b_in_bytes, s_in_bytes)
    "SHA-256": (hashlib.sha256, 32, 64),
    "SHA-512": (hashlib.sha512, 64, 128),
}


def i2osp(value, length):
    return value.to_bytes(length, "big")


def strxor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def effective_dst(dst, hash_name="SHA-512"):
    """Section 5.3.3: a DST longer than 255 bytes is replaced by H("H2C-OVERSIZE-DST-" || DST)."""
    if len(dst) > 255:
        return HASHES[hash_name][0](b"H2C-OVERSIZE-DST-" + dst).digest()
    return dst


def expand_message_xmd(msg, dst, len_in_bytes, hash_name="SHA-512"):
    H, b_in_bytes, s_in_bytes = HASHES[hash_name]
    dst = effective_dst(dst, hash_name)
    ell = -(-len_in_bytes // b_in_bytes)
    if ell > 255 or len_in_bytes > 65535 or len(dst) > 255:
        raise ValueError("expand_message_xmd: requested length too large")
    dst_prime = dst + i2osp(len(dst), 1)
    z_pad = i2osp(0, s_in_bytes)
    l_i_b_str = i2osp(len_in_bytes, 2)
    msg_prime = z_pad + msg + l_i_b_str + i2osp(0, 1) + dst_prime
    b0 = H(msg_prime).digest()
    blocks = [H(b0 + i2osp(1, 1) + dst_prime).digest()]
    for i in range(2, ell + 1):
        blocks.append(H(strxor(b0, blocks[-1]) + i2osp(i, 1) + dst_prime).digest())
    return b"".join(blocks)[:len_in_bytes]


def hash_to_field(msg, dst, count=2):
    """Section 5.2 with m = 1 (a prime field): count elements of L bytes each."""
    uniform = expand_message_xmd(msg, dst, count * L)
    return [int.from_bytes(uniform[L * i:L * (i + 1)], "big") % p for i in range(count)]


# ---------------------------------------------------------------------------------------
# Elligator 2 (section 6.7.1, generic form) and hash_to_curve (section 3)
# ---------------------------------------------------------------------------------------

def map_to_curve_elligator2(u):
    J, K = A, B
    j_over_k = J * inv0(K) % p
    x1 = (-j_over_k) * inv0(1 + Z * u * u) % p
    if x1 == 0:
        x1 = (-j_over_k) % p
    gx1 = (x1**3 + j_over_k * x1 * x1 + x1 * inv0(K * K)) % p
    x2 = (-x1 - j_over_k) % p
    gx2 = (x2**3 + j_over_k * x2 * x2 + x2 * inv0(K * K)) % p
    if is_square(gx1):
        x, y = x1, sqrt_any(gx1)
        if sgn0(y) != 1:
            y = (-y) % p
    else:
        x, y = x2, sqrt_any(gx2)
        if sgn0(y) != 0:
            y = (-y) % p
    s = x * K % p
    t = y * K % p
    return (s, t)


# Order of the prime-order subgroup (RFC 7748 section 4.1).
ELL = 2**252 + 27742317777372353535851937790883648493


def in_prime_order_subgroup(point):
    return point is not None and on_curve(point) and scalar_mul(ELL, point) is None


def clear_cofactor(point):
    return scalar_mul(H_EFF, point)


def hash_to_curve(msg, dst):
    """Returns u, Q0, Q1, P (P = clear_cofactor(Q0 + Q1))."""
    u = hash_to_field(msg, dst, 2)
    q0 = map_to_curve_elligator2(u[0])
    q1 = map_to_curve_elligator2(u[1])
    for q in (q0, q1):
        if not on_curve(q):
            raise AssertionError("Elligator 2 produced a point off the curve")
    P = clear_cofactor(point_add(q0, q1))
    if not in_prime_order_subgroup(P):
        raise AssertionError("hash_to_curve produced a point outside the prime-order subgroup")
    return u, q0, q1, P


# ---------------------------------------------------------------------------------------
# Self-checks against published vectors
# ---------------------------------------------------------------------------------------

# Two vectors of RFC 9380 Appendix K.2, expand_message_xmd(SHA-256) with a 256-byte DST
# (cfrg/draft-irtf-cfrg-hash-to-curve poc/vectors/expand_message_xmd_SHA256_256.json);
# they exercise the oversize-DST rule that one CleanRoom case below relies on.
K2_DST = b"QUUX-V01-CS02-with-expander-SHA256-128-long-DST-" + b"1" * 208
K2_VECTORS = [
    (b"", 0x20, "e8dc0c8b686b7ef2074086fbdd2f30e3f8bfbd3bdf177f73f04b97ce618a3ed3"),
    (b"abc", 0x20, "52dbf4f36cf560fca57dedec2ad924ee9c266341d8f3d6afe5171733b16bbb12"),
]


class SelfCheckError(Exception):
    pass


def check(condition, message):
    if not condition:
        raise SelfCheckError(message)


def hex_int(text):
    return int(text, 16)


def fe_hex(x):
    return "%064x" % x


def self_check(shared_dir):
    checked = 0
    # expand_message_xmd, Appendix K.1 / K.3
    for file_name, hash_name in (("expand_message_xmd_SHA256_38.json", "SHA-256"),
                                 ("expand_message_xmd_SHA512_38.json", "SHA-512")):
        with open(os.path.join(shared_dir, "rfc9380", file_name), encoding="utf-8") as handle:
            source = json.load(handle)
        for test in source["tests"]:
            got = expand_message_xmd(test["msg"].encode(), source["DST"].encode(),
                                     int(test["len_in_bytes"], 16), hash_name).hex()
            check(got == test["uniform_bytes"], f"{file_name} msg={test['msg'][:20]!r}: got {got}")
            checked += 1
    # expand_message_xmd with an oversize DST, Appendix K.2
    check(len(K2_DST) == 256, "K.2 DST should be 256 bytes")
    for msg, length, expected in K2_VECTORS:
        got = expand_message_xmd(msg, K2_DST, length, "SHA-256").hex()
        check(got == expected, f"K.2 msg={msg!r}: got {got}")
        checked += 1
    # hash_to_curve, Appendix J.4.1
    with open(os.path.join(shared_dir, "rfc9380", "curve25519_XMD_SHA-512_ELL2_RO_.json"),
              encoding="utf-8") as handle:
        source = json.load(handle)
    check(source["ciphersuite"] == SUITE, "unexpected suite in the shared file")
    check(hex_int(source["L"]) == L and hex_int(source["Z"]) == Z, "unexpected L or Z in the shared file")
    dst = source["dst"].encode()
    for vector in source["vectors"]:
        label = vector["msg"][:20]
        u, q0, q1, P = hash_to_curve(vector["msg"].encode(), dst)
        check(u == [hex_int(x) for x in vector["u"]], f"J.4.1 msg={label!r}: u differs")
        check(q0 == (hex_int(vector["Q0"]["x"]), hex_int(vector["Q0"]["y"])), f"J.4.1 msg={label!r}: Q0 differs")
        check(q1 == (hex_int(vector["Q1"]["x"]), hex_int(vector["Q1"]["y"])), f"J.4.1 msg={label!r}: Q1 differs")
        check(P == (hex_int(vector["P"]["x"]), hex_int(vector["P"]["y"])), f"J.4.1 msg={label!r}: P differs")
        check(in_prime_order_subgroup(P), f"J.4.1 msg={label!r}: P is not in the prime-order subgroup")
        checked += 1
    # The group law itself: the base point u = 9 has order ELL.
    base_y = sqrt_any(9**3 + A * 81 + 9)
    check(in_prime_order_subgroup((9, base_y)), "the base point does not have order ell")
    check(scalar_mul(ELL // 2, (9, base_y)) is not None, "scalar_mul is degenerate")
    return checked


# ---------------------------------------------------------------------------------------
# CleanRoom cases
# ---------------------------------------------------------------------------------------

CLEANROOM_DST = "CLEANROOM-V1-CS01-with-curve25519_XMD:SHA-512_ELL2_RO_"
OTHER_DST = "CLEANROOM-TEST-V1-other-tag"
# 300 bytes: longer than 255, so section 5.3.3 replaces it by SHA-512("H2C-OVERSIZE-DST-" || DST).
LONG_DST = "CLEANROOM-TEST-V1-oversize-DST-" + "0123456789abcdef" * 16 + "-" * 13

CASES = [
    # (id, dst, message)
    ("cleanroom-v1-empty", CLEANROOM_DST, ""),
    ("cleanroom-v1-abc", CLEANROOM_DST, "abc"),
    ("cleanroom-v1-alice", CLEANROOM_DST, "alice@example.com"),
    ("cleanroom-v1-bob", CLEANROOM_DST, "bob@example.org"),
    ("cleanroom-v1-carol-upper", CLEANROOM_DST, "Carol.Smith+news@Example.COM"),
    ("cleanroom-v1-phone", CLEANROOM_DST, "+15555550123"),
    ("cleanroom-v1-unicode", CLEANROOM_DST, "Zoë Ünïcødé 日本語 👋"),
    ("cleanroom-v1-a1000", CLEANROOM_DST, "a" * 1000),
    ("other-tag-empty", OTHER_DST, ""),
    ("other-tag-alice", OTHER_DST, "alice@example.com"),
    ("other-tag-unicode", OTHER_DST, "Zoë Ünïcødé 日本語 👋"),
    ("oversize-dst-alice", LONG_DST, "alice@example.com"),
]


def make_case(case_id, dst, msg):
    u, q0, q1, P = hash_to_curve(msg.encode("utf-8"), dst.encode("utf-8"))
    if len(dst.encode("utf-8")) > 255:
        note = (f"; the {len(dst.encode('utf-8'))}-byte DST is longer than 255 bytes and is replaced as "
                "RFC 9380 section 5.3.3 says")
    else:
        note = ""
    return {
        "id": case_id,
        "source": "computed by Vectors/tools/h2c_reference.py (independent Python implementation of "
                  "RFC 9380), checked against RFC 9380 Appendix J vectors" + note,
        "suite": SUITE,
        "dst": dst,
        "msg": msg,
        "u": [fe_hex(x) for x in u],
        "Q0": {"x": fe_hex(q0[0]), "y": fe_hex(q0[1])},
        "Q1": {"x": fe_hex(q1[0]), "y": fe_hex(q1[1])},
        "P": {"x": fe_hex(P[0]), "y": fe_hex(P[1])},
        "encoded": P[0].to_bytes(32, "little").hex(),
    }


def main(argv):
    shared_dir = os.path.abspath(argv[1]) if len(argv) > 1 else DEFAULT_SHARED
    try:
        checked = self_check(shared_dir)
    except (SelfCheckError, OSError, KeyError) as error:
        print(f"h2c_reference.py: SELF-CHECK FAILED: {error}", file=sys.stderr)
        return 1
    print(f"self-check: {checked} published vectors reproduced")

    assert len(LONG_DST.encode()) > 255
    cases = [make_case(*spec) for spec in CASES]
    assert len({c["id"] for c in cases}) == len(cases)
    document = {
        "schema": "cleanroom-vectors/v1",
        "kind": "hash_to_curve",
        "description": f"hash_to_curve ({SUITE}) with CleanRoom's own DST {CLEANROOM_DST!r}, a second "
                       "tag, and one DST longer than 255 bytes",
        "source": "computed by Vectors/tools/h2c_reference.py (independent Python implementation of "
                  "RFC 9380), checked against RFC 9380 Appendix J vectors",
        "cases": cases,
    }
    path = os.path.join(OUT_DIR, OUT_NAME)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {OUT_NAME}: {len(cases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
