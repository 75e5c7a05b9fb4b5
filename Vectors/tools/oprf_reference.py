#!/usr/bin/env python3
"""Plain reference implementation of ristretto255 (RFC 9496) and the RFC 9497 OPRF mode with suite
OPRF(ristretto255, SHA-512), in pure Python over hashlib -- no libsodium, no OpenSSL.

Usage:
    python3 oprf_reference.py check [VECTORS_DIR]   recompute every ristretto255 / oprf file
    python3 oprf_reference.py write [VECTORS_DIR]   (re)write the three files: ristretto255_rfc9496.json and
                                                    oprf_ristretto255_sha512_rfc9497.json from the published
                                                    values embedded below, oprf_ristretto255_sha512_cleanroom.json
                                                    from this implementation

It is written to be read rather than to be fast or constant time, as an independent check of the
Swift code in Sources/CleanRoomCrypto/OPRFRistretto255.swift (which uses libsodium's group code):

  * the field GF(2^255 - 19) with Python integers; SQRT_RATIO_M1, Decode, Encode and the one-way
    MAP of RFC 9496 sections 4.2 and 4.3, written from the RFC's formulas;
  * group arithmetic on edwards25519 in affine coordinates (complete twisted Edwards addition,
    a = -1), double-and-add scalar multiplication;
  * hash_to_ristretto255 (RFC 9380 appendix B / RFC 9496 section 4.3.4) over the textbook
    expand_message_xmd of h2c_reference.py;
  * RFC 9497 section 3.2.1 DeriveKeyPair, section 3.3.1 Blind / BlindEvaluate / Finalize / Evaluate.

Before it checks or writes anything it checks itself against RFC 9496 appendix A (the first
sixteen multiples of the base point, the 29 bad encodings, the one-way map) and RFC 9497 appendix
A.1.1 (DeriveKeyPair and both OPRF-mode vectors), which are embedded below as published.
"""

import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2c_reference import expand_message_xmd  # noqa: E402  (RFC 9380 section 5.3.1, hashlib)

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.dirname(HERE)
OWN_FILE = "oprf_ristretto255_sha512_cleanroom.json"

# ---------------------------------------------------------------------------------------
# GF(p) and edwards25519 (RFC 9496 section 4.1 constants, computed rather than copied)
# ---------------------------------------------------------------------------------------

p = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493   # group order (RFC 9496 section 4)
D = (-121665 * pow(121666, p - 2, p)) % p


def inv(x):
    return pow(x, p - 2, p)


def is_negative(x):
    """RFC 9496 section 4.1: negative means odd, for the canonical representative."""
    return (x % p) & 1


def ct_abs(x):
    x %= p
    return (p - x) % p if is_negative(x) else x


def sqrt_ratio_m1(u, v):
    """RFC 9496 section 4.2: (was_square, r) with r = sqrt(u/v) or sqrt(i*u/v), r nonnegative."""
    u %= p
    v %= p
    r = (u * pow(v, 3, p)) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    check = v * r * r % p
    correct = check == u
    flipped = check == (-u) % p
    flipped_i = check == (-u * SQRT_M1) % p
    if flipped or flipped_i:
        r = r * SQRT_M1 % p
    return correct or flipped, ct_abs(r)


SQRT_M1 = pow(2, (p - 1) // 4, p)                         # a square root of -1
assert SQRT_M1 * SQRT_M1 % p == p - 1
# sqrt(a*d - 1) with a = -1: RFC 9496 section 4.1 fixes the odd ("negative") one of the two roots.
SQRT_AD_MINUS_ONE = p - sqrt_ratio_m1((-1 * D - 1) % p, 1)[1]
INVSQRT_A_MINUS_D = sqrt_ratio_m1(1, (-1 - D) % p)[1]     # 1/sqrt(a - d)
ONE_MINUS_D_SQ = (1 - D * D) % p
D_MINUS_ONE_SQ = (D - 1) * (D - 1) % p

# Points are extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
IDENTITY = (0, 1, 1, 0)
_by = 4 * inv(5) % p
_bx2 = (_by * _by - 1) * inv(D * _by * _by + 1) % p
_bx = pow(_bx2, (p + 3) // 8, p)
if _bx * _bx % p != _bx2:
    _bx = _bx * SQRT_M1 % p
if _bx & 1:
    _bx = p - _bx
BASE = (_bx, _by, 1, _bx * _by % p)                        # the Ed25519 base point (RFC 8032)


def affine(P):
    X, Y, Z, _ = P
    zi = inv(Z)
    return X * zi % p, Y * zi % p


def add(P, Q):
    """Complete affine addition on -x^2 + y^2 = 1 + d x^2 y^2 (d is not a square)."""
    x1, y1 = affine(P)
    x2, y2 = affine(Q)
    k = D * x1 * x2 * y1 * y2 % p
    x3 = (x1 * y2 + y1 * x2) * inv(1 + k) % p
    y3 = (y1 * y2 + x1 * x2) * inv(1 - k) % p
    return (x3, y3, 1, x3 * y3 % p)


def scalar_mult(k, P):
    R = IDENTITY
    for bit in bin(k)[2:]:
        R = add(R, R)
        if bit == "1":
            R = add(R, P)
    return R


# ---------------------------------------------------------------------------------------
# ristretto255 (RFC 9496 sections 4.3.1 - 4.3.4)
# ---------------------------------------------------------------------------------------

class DecodeError(Exception):
    pass


def decode(b):
    if len(b) != 32:
        raise DecodeError("not 32 bytes")
    s = int.from_bytes(b, "little")
    if s >= p:
        raise DecodeError("non-canonical field encoding")
    if is_negative(s):
        raise DecodeError("negative field element")
    ss = s * s % p
    u1 = (1 - ss) % p
    u2 = (1 + ss) % p
    u2_sqr = u2 * u2 % p
    v = (-(D * u1 * u1) - u2_sqr) % p
    was_square, invsqrt = sqrt_ratio_m1(1, v * u2_sqr)
    den_x = invsqrt * u2 % p
    den_y = invsqrt * den_x * v % p
    x = ct_abs(2 * s * den_x)
    y = u1 * den_y % p
    t = x * y % p
    if not was_square:
        raise DecodeError("x^2 is not a square")
    if is_negative(t):
        raise DecodeError("negative xy")
    if y == 0:
        raise DecodeError("y = 0")
    return (x, y, 1, t)


def encode(P):
    x0, y0, z0, t0 = (c % p for c in P)
    u1 = (z0 + y0) * (z0 - y0) % p
    u2 = x0 * y0 % p
    _, invsqrt = sqrt_ratio_m1(1, u1 * u2 * u2)
    den1 = invsqrt * u1 % p
    den2 = invsqrt * u2 % p
    z_inv = den1 * den2 * t0 % p
    ix0 = x0 * SQRT_M1 % p
    iy0 = y0 * SQRT_M1 % p
    enchanted_denominator = den1 * INVSQRT_A_MINUS_D % p
    rotate = is_negative(t0 * z_inv)
    x, y = (iy0, ix0) if rotate else (x0, y0)
    den_inv = enchanted_denominator if rotate else den2
    if is_negative(x * z_inv):
        y = (-y) % p
    s = ct_abs(den_inv * (z0 - y))
    return s.to_bytes(32, "little")


def map_to_point(t):
    """RFC 9496 section 4.3.4, MAP: a field element to a point (x, y, z, t)."""
    r = SQRT_M1 * t * t % p
    u = (r + 1) * ONE_MINUS_D_SQ % p
    v = (-1 - r * D) * (r + D) % p
    was_square, s = sqrt_ratio_m1(u, v)
    s_prime = (-ct_abs(s * t)) % p
    if not was_square:
        s = s_prime
    c = p - 1 if was_square else r
    N = (c * (r - 1) * D_MINUS_ONE_SQ - v) % p
    w0 = 2 * s * v % p
    w1 = N * SQRT_AD_MINUS_ONE % p
    w2 = (1 - s * s) % p
    w3 = (1 + s * s) % p
    return (w0 * w3 % p, w2 * w1 % p, w1 * w3 % p, w0 * w2 % p)


def from_uniform_bytes(b):
    """The 64-byte one-way map: each half, top bit masked, read little endian modulo p."""
    assert len(b) == 64
    t1 = (int.from_bytes(b[:32], "little") & ((1 << 255) - 1)) % p
    t2 = (int.from_bytes(b[32:], "little") & ((1 << 255) - 1)) % p
    return add(map_to_point(t1), map_to_point(t2))


# ---------------------------------------------------------------------------------------
# RFC 9497, OPRF mode, OPRF(ristretto255, SHA-512)
# ---------------------------------------------------------------------------------------

CONTEXT = b"OPRFV1-" + bytes([0]) + b"-ristretto255-SHA512"


MAX_INPUT = 2**16 - 2   # RFC 9497 section 5.1: inputs MUST be shorter than 2^16 - 1 bytes


def hash_to_group(msg):
    if len(msg) > MAX_INPUT:
        raise ValueError("input longer than RFC 9497 section 5.1 allows")
    return from_uniform_bytes(expand_message_xmd(msg, b"HashToGroup-" + CONTEXT, 64, "SHA-512"))


def hash_to_scalar(msg, dst):
    return int.from_bytes(expand_message_xmd(msg, dst, 64, "SHA-512"), "little") % L


def derive_key_pair(seed, info):
    derive_input = seed + len(info).to_bytes(2, "big") + info
    for counter in range(256):
        sk = hash_to_scalar(derive_input + bytes([counter]), b"DeriveKeyPair" + CONTEXT)
        if sk != 0:
            return sk, encode(scalar_mult(sk, BASE))
    raise ValueError("DeriveKeyPairError")


def scalar_from_bytes(b):
    s = int.from_bytes(b, "little")
    if len(b) != 32 or s >= L:
        raise ValueError("not a canonical scalar")
    return s


def peer_element(b):
    """DeserializeElement: canonical, decodable and not the identity (RFC 9497 section 4.1)."""
    P = decode(b)
    if encode(P) == bytes(32):
        raise DecodeError("identity element")
    return P


def blind(msg, r):
    P = hash_to_group(msg)
    if encode(P) == bytes(32):
        raise ValueError("InvalidInputError")
    return encode(scalar_mult(r, P))


def blind_evaluate(sk, blinded):
    return encode(scalar_mult(sk, peer_element(blinded)))


def finalize_hash(msg, element):
    return hashlib.sha512(len(msg).to_bytes(2, "big") + msg + len(element).to_bytes(2, "big") + element
                          + b"Finalize").digest()


def finalize(msg, r, evaluated):
    N = scalar_mult(pow(r, -1, L), peer_element(evaluated))
    return finalize_hash(msg, encode(N))


def evaluate(sk, msg):
    P = hash_to_group(msg)
    return finalize_hash(msg, encode(scalar_mult(sk, P)))


# ---------------------------------------------------------------------------------------
# Self-check against the published values, embedded as published
# ---------------------------------------------------------------------------------------

RFC9496_A1 = [  # RFC 9496 appendix A.1: encodings of 0*B .. 15*B
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
]

RFC9496_A2 = [  # RFC 9496 appendix A.2: encodings every decoder must refuse
    # non-canonical field encodings
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    # negative field elements
    "0100000000000000000000000000000000000000000000000000000000000000",
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
    "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
    "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
    "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    # non-square x^2
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
    "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
    "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
    "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
    "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
    "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
    "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    # negative xy
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
    "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
    "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
    "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
    "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
    "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
    "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    # s = -1, which gives y = 0
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
RFC9496_A2_REASONS = ["non-canonical field encoding"] * 4 + ["negative field element"] * 8 + \
    ["non-square x^2"] * 8 + ["negative xy"] * 8 + ["s = -1, which gives y = 0"]

RFC9496_A3 = [  # RFC 9496 appendix A.3: the one-way map of SHA-512(label) (the RFC lists the digests)
    ("Ristretto is traditionally a short shot of espresso coffee",
     "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"),
    ("made with the normal amount of ground coffee but extracted with",
     "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"),
    ("about half the amount of water in the same amount of time",
     "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"),
    ("by using a finer grind.", "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"),
    ("This produces a concentrated shot of coffee per volume.",
     "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"),
    ("Just pulling a normal shot short will produce a weaker shot",
     "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"),
    ("and is not a Ristretto as some believe.", "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"),
]
RFC9496_A3_EQUIVALENT = (  # RFC 9496 appendix A.3: four inputs with the same image
    ["edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1200000000000000000000000000000000000000000000000000000000000000",
     "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "0000000000000000000000000000000000000000000000000000000000000080ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
     "00000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000080"],
    "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f",
)

RFC9497_A11 = {  # RFC 9497 appendix A.1.1 (OPRF mode, ristretto255-SHA512)
    "Seed": "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3",
    "KeyInfo": "74657374206b6579",
    "skSm": "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e",
    "vectors": [
        ("00", "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
         "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
         "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
         "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3"
         "ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6"),
        ("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
         "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
         "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
         "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4"
         "f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73"),
    ],
}


def self_check():
    P = IDENTITY
    for i, expected in enumerate(RFC9496_A1):
        if encode(P) != bytes.fromhex(expected):
            raise AssertionError(f"RFC 9496 A.1: encoding of {i}*B differs")
        if i > 0 and encode(decode(bytes.fromhex(expected))) != bytes.fromhex(expected):
            raise AssertionError(f"RFC 9496 A.1: {i}*B does not round-trip")
        P = add(P, BASE)
    for enc in RFC9496_A2:
        if not rejects(lambda: decode(bytes.fromhex(enc))):
            raise AssertionError(f"RFC 9496 A.2: {enc} decodes")
    for label, expected in RFC9496_A3:
        if encode(from_uniform_bytes(hashlib.sha512(label.encode()).digest())).hex() != expected:
            raise AssertionError(f"RFC 9496 A.3: {label!r} differs")
    for uniform in RFC9496_A3_EQUIVALENT[0]:
        if encode(from_uniform_bytes(bytes.fromhex(uniform))).hex() != RFC9496_A3_EQUIVALENT[1]:
            raise AssertionError("RFC 9496 A.3: an equivalent input differs")
    sk, _ = derive_key_pair(bytes.fromhex(RFC9497_A11["Seed"]), bytes.fromhex(RFC9497_A11["KeyInfo"]))
    if sk.to_bytes(32, "little").hex() != RFC9497_A11["skSm"]:
        raise AssertionError("RFC 9497 A.1.1: DeriveKeyPair differs")
    for msg, r, blinded, evaluated, output in RFC9497_A11["vectors"]:
        m, rr = bytes.fromhex(msg), scalar_from_bytes(bytes.fromhex(r))
        if blind(m, rr).hex() != blinded:
            raise AssertionError(f"RFC 9497 A.1.1 input {msg}: BlindedElement differs")
        if blind_evaluate(sk, bytes.fromhex(blinded)).hex() != evaluated:
            raise AssertionError(f"RFC 9497 A.1.1 input {msg}: EvaluationElement differs")
        if finalize(m, rr, bytes.fromhex(evaluated)).hex() != output or evaluate(sk, m).hex() != output:
            raise AssertionError(f"RFC 9497 A.1.1 input {msg}: Output differs")


# ---------------------------------------------------------------------------------------
# Checking vector files (kinds "ristretto255" and "oprf", Vectors/README.md)
# ---------------------------------------------------------------------------------------

def rejects(fn):
    try:
        fn()
    except (DecodeError, ValueError):
        return True
    return False


def check_ristretto_case(case):
    op = case["op"]
    if op == "multiple":
        k, enc = int(case["scalar"]), bytes.fromhex(case["encoding"])
        ok = encode(scalar_mult(k, BASE)) == enc
        # The identity is a valid encoding but never a valid peer element.
        return ok and (rejects(lambda: peer_element(enc)) if k % L == 0 else encode(peer_element(enc)) == enc)
    if op == "reject":
        return rejects(lambda: peer_element(bytes.fromhex(case["encoding"])))
    if op == "from_uniform_bytes":
        return encode(from_uniform_bytes(bytes.fromhex(case["uniform_bytes"]))) == bytes.fromhex(case["encoding"])
    raise KeyError(f"unknown op {op!r}")


def check_oprf_case(case):
    op = case["op"]
    if op == "oprf":
        sk = scalar_from_bytes(bytes.fromhex(case["skSm"]))
        if "seed" in case:
            derived, _ = derive_key_pair(bytes.fromhex(case["seed"]), bytes.fromhex(case["key_info"]))
            if derived != sk:
                return False
        m = bytes.fromhex(case["input"])
        r = scalar_from_bytes(bytes.fromhex(case["blind"]))
        blinded, evaluated = bytes.fromhex(case["blinded_element"]), bytes.fromhex(case["evaluation_element"])
        out = bytes.fromhex(case["output"])
        return (blind(m, r) == blinded and blind_evaluate(sk, blinded) == evaluated
                and finalize(m, r, evaluated) == out and evaluate(sk, m) == out)
    if op == "blind_evaluate_reject":
        sk = scalar_from_bytes(bytes.fromhex(case["skSm"]))
        return rejects(lambda: blind_evaluate(sk, bytes.fromhex(case["blinded_element"])))
    if op == "finalize_reject":
        r = scalar_from_bytes(bytes.fromhex(case["blind"]))
        return rejects(lambda: finalize(bytes.fromhex(case["input"]), r, bytes.fromhex(case["evaluation_element"])))
    raise KeyError(f"unknown op {op!r}")


def check_case(kind, case):
    return check_ristretto_case(case) if kind == "ristretto255" else check_oprf_case(case)


# ---------------------------------------------------------------------------------------
# CleanRoom's own vectors: identifiers like those a session hashes, blinds and keys derived
# from labels (so that the file can be regenerated byte for byte)
# ---------------------------------------------------------------------------------------

def label_scalar(label):
    """A nonzero scalar from a label: SHA-512 read little endian, reduced modulo L (test data only)."""
    s = int.from_bytes(hashlib.sha512(b"CleanRoom OPRF vector " + label.encode()).digest(), "little") % L
    assert s != 0
    return s


def own_cases():
    source = "CleanRoom: computed by Vectors/tools/oprf_reference.py (pure Python, RFC 9496 + RFC 9497)"
    seed = hashlib.sha256(b"CleanRoom OPRF vector seed").digest()
    info = b"CleanRoom enrichment vectors"
    sk, _ = derive_key_pair(seed, info)
    inputs = [
        ("empty", b""),
        ("email", b"alice@example.com"),
        ("unicode", "zoë.müller@exämple.de".encode("utf-8")),
        ("phone", b"+442071234567"),
        ("long-300", bytes(range(256)) + b"x" * 44),
        ("max-len-65534", b"\xa5" * 65534),
    ]
    cases = []
    for label, msg in inputs:
        r = label_scalar("blind " + label)
        blinded = blind(msg, r)
        evaluated = blind_evaluate(sk, blinded)
        cases.append({
            "id": f"cleanroom-{label}", "source": source, "op": "oprf",
            "seed": seed.hex(), "key_info": info.hex(), "skSm": sk.to_bytes(32, "little").hex(),
            "input": msg.hex(), "blind": r.to_bytes(32, "little").hex(),
            "blinded_element": blinded.hex(), "evaluation_element": evaluated.hex(),
            "output": finalize(msg, r, evaluated).hex(),
        })
    # Elements a peer might send that must be refused: both roles validate what they receive.
    bad = [
        ("identity", bytes(32), "the identity element (RFC 9497 section 4.1 forbids it)"),
        ("non-canonical-p", (p).to_bytes(32, "little"), "s = p: non-canonical field encoding"),
        ("non-canonical-p-plus-2", (p + 2).to_bytes(32, "little"), "s = p + 2: non-canonical encoding of 2"),
        ("negative-s", (1).to_bytes(32, "little"), "s = 1 is negative (odd)"),
        ("top-bit", bytes.fromhex(RFC9496_A1[2])[:31] + bytes([bytes.fromhex(RFC9496_A1[2])[31] | 0x80]),
         "2*B with bit 255 set"),
        ("minus-one", (p - 1).to_bytes(32, "little"), "s = -1 (gives y = 0; even, so only the curve check refuses it)"),
        ("short", bytes.fromhex(RFC9496_A1[3])[:31], "31 bytes"),
    ]
    r = label_scalar("blind reject")
    for label, enc, reason in bad:
        if not rejects(lambda: peer_element(enc)):
            raise AssertionError(f"own bad element {label} decodes")
        cases.append({"id": f"cleanroom-blind-evaluate-reject-{label}", "source": source, "op": "blind_evaluate_reject",
                      "skSm": sk.to_bytes(32, "little").hex(), "blinded_element": enc.hex(), "reason": reason})
        cases.append({"id": f"cleanroom-finalize-reject-{label}", "source": source, "op": "finalize_reject",
                      "input": b"alice@example.com".hex(), "blind": r.to_bytes(32, "little").hex(),
                      "evaluation_element": enc.hex(), "reason": reason})
    return cases


def own_document():
    return {
        "schema": "cleanroom-vectors/v1",
        "kind": "oprf",
        "description": "RFC 9497 OPRF mode, OPRF(ristretto255, SHA-512), on CleanRoom-style inputs (empty, e-mail, "
                       "UTF-8, phone, 300 bytes, 65,534 bytes: the longest RFC 9497 section 5.1 allows) with a key from DeriveKeyPair, and peer elements both "
                       "roles must refuse (identity, non-canonical, negative, wrong length)",
        "source": "CleanRoom: computed by Vectors/tools/oprf_reference.py (pure Python from the formulas of RFC 9496 "
                  "section 4 and the algorithms of RFC 9497 section 3; blinds and seed derived from labels with SHA-512)",
        "suite": "OPRF(ristretto255, SHA-512)",
        "mode": 0,
        "cases": own_cases(),
    }


RFC9496_SOURCE = "RFC 9496 appendix A (values as carried in gtank/ristretto255, ristretto255_test.go)"
RFC9497_SOURCE = ("RFC 9497 appendix A.1.1 (OPRF mode, ristretto255-SHA512); identical in cfrg/draft-irtf-cfrg-voprf "
                  "poc/vectors/allVectors.json")


def rfc9496_document():
    cases = []
    for i, enc in enumerate(RFC9496_A1):
        cases.append({"id": f"rfc9496-a.1-{i:02d}B", "source": "RFC 9496 appendix A.1", "op": "multiple",
                      "scalar": str(i), "encoding": enc})
    for i, (enc, reason) in enumerate(zip(RFC9496_A2, RFC9496_A2_REASONS)):
        cases.append({"id": f"rfc9496-a.2-{i + 1:02d}", "source": "RFC 9496 appendix A.2", "op": "reject",
                      "encoding": enc, "reason": reason})
    for i, (label, enc) in enumerate(RFC9496_A3):
        cases.append({"id": f"rfc9496-a.3-{i + 1}", "source": "RFC 9496 appendix A.3 (I = SHA-512 of the label)",
                      "op": "from_uniform_bytes", "label": label,
                      "uniform_bytes": hashlib.sha512(label.encode()).hexdigest(), "encoding": enc})
    for i, uniform in enumerate(RFC9496_A3_EQUIVALENT[0]):
        cases.append({"id": f"rfc9496-a.3-equivalent-{i + 1}", "source": "RFC 9496 appendix A.3 (equivalent inputs)",
                      "op": "from_uniform_bytes", "uniform_bytes": uniform, "encoding": RFC9496_A3_EQUIVALENT[1]})
    return {
        "schema": "cleanroom-vectors/v1",
        "kind": "ristretto255",
        "description": "ristretto255: encodings of 0*B..15*B (the identity must be refused as a peer element), the 29 "
                       "encodings a decoder must refuse, and the one-way map from 64 uniform bytes",
        "source": RFC9496_SOURCE,
        "cases": cases,
    }


def rfc9497_document():
    cases = []
    for i, (msg, r, blinded, evaluated, output) in enumerate(RFC9497_A11["vectors"]):
        cases.append({"id": f"rfc9497-a.1.1-vector{i + 1}", "source": RFC9497_SOURCE + f", test vector {i + 1}",
                      "op": "oprf", "seed": RFC9497_A11["Seed"], "key_info": RFC9497_A11["KeyInfo"],
                      "skSm": RFC9497_A11["skSm"], "input": msg, "blind": r, "blinded_element": blinded,
                      "evaluation_element": evaluated, "output": output})
    return {
        "schema": "cleanroom-vectors/v1",
        "kind": "oprf",
        "description": "RFC 9497 OPRF mode (0x00), suite OPRF(ristretto255, SHA-512): DeriveKeyPair from Seed and "
                       "KeyInfo, Blind with a fixed blind, BlindEvaluate, Finalize (and Evaluate)",
        "source": RFC9497_SOURCE,
        "suite": "OPRF(ristretto255, SHA-512)",
        "mode": 0,
        "cases": cases,
    }


FILES = {
    "ristretto255_rfc9496.json": rfc9496_document,
    "oprf_ristretto255_sha512_rfc9497.json": rfc9497_document,
    OWN_FILE: own_document,
}


def check_folder(folder):
    total_passed = total_failed = 0
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            document = json.load(handle)
        kind = document.get("kind")
        if kind not in ("ristretto255", "oprf"):
            continue
        passed = failed = 0
        for case in document["cases"]:
            if check_case(kind, case):
                passed += 1
            else:
                failed += 1
                print(f"  {name} {case['id']}: FAILED", file=sys.stderr)
        print(f"{name}: {passed} passed, {failed} failed")
        total_passed += passed
        total_failed += failed
    print(f"total: {total_passed} passed, {total_failed} failed")
    return total_failed == 0 and total_passed > 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "write"):
        print(__doc__)
        return 2
    folder = argv[2] if len(argv) > 2 else VECTORS
    self_check()
    print("self-check: RFC 9496 A.1-A.3 (16 multiples, 29 bad encodings, 11 maps) and RFC 9497 A.1.1 "
          "(DeriveKeyPair, 2 vectors) reproduced")
    if argv[1] == "write":
        for name, make in FILES.items():
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(make(), handle, indent=1, ensure_ascii=False)
                handle.write("\n")
            print(f"wrote {path}")
        return 0
    return 0 if check_folder(folder) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
