#!/usr/bin/env python3
"""Reference implementation of CleanRoom's enrichment records (docs/crypto.md, "Enrichment records").

Usage:
    python3 enrichment_record_reference.py check [VECTORS_DIR]   recompute enrichment_record.json
    python3 enrichment_record_reference.py write [VECTORS_DIR]   (re)write it

HKDF-SHA-256 (RFC 5869) is written out over Python's hmac module; AES-256-GCM comes from the
`cryptography` package (its own OpenSSL build, not CleanRoom's code).  Before anything else it
reproduces RFC 5869 test cases A.1 and A.3, which are embedded below as published.

A record for the holder of a 64-byte OPRF output y, under a session context and a payload width w:

    okm      = HKDF-SHA-256(salt = "CleanRoom-v1 enrichment record", IKM = y, info = context, L = 60)
    tag      = okm[0:16], key = okm[16:48], nonce = okm[48:60]
    sealed   = AES-256-GCM(key, nonce, aad = tag, I2OSP(len(payload), 2) || payload || zeros to 2 + w)
"""

import hashlib
import hmac
import json
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.dirname(HERE)
FILE = "enrichment_record.json"
SALT = b"CleanRoom-v1 enrichment record"
SOURCE = ("CleanRoom: computed by Vectors/tools/enrichment_record_reference.py (HKDF over Python's hmac, "
          "AES-256-GCM from the cryptography package)")


def hkdf_sha256(ikm, salt, info, length):
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


RFC5869 = [  # RFC 5869 appendix A.1 and A.3 (SHA-256): IKM, salt, info, L, OKM
    ("0b" * 22, "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
    ("0b" * 22, "", "", 42,
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
]


def keys(y, context):
    okm = hkdf_sha256(y, SALT, context, 60)
    return okm[:16], okm[16:48], okm[48:60]


def seal(y, context, width, payload, length_prefix=None, padding=None):
    tag, key, nonce = keys(y, context)
    n = len(payload) if length_prefix is None else length_prefix
    pad = bytes(2 + width - 2 - len(payload)) if padding is None else padding
    plaintext = n.to_bytes(2, "big") + payload + pad
    assert len(plaintext) == 2 + width
    return tag, AESGCM(key).encrypt(nonce, plaintext, tag)


def open_record(y, context, width, sealed):
    """The payload, or None when the record must be refused."""
    tag, key, nonce = keys(y, context)
    if len(sealed) != 2 + width + 16:
        return None
    try:
        plaintext = AESGCM(key).decrypt(nonce, sealed, tag)
    except InvalidTag:
        return None
    n = int.from_bytes(plaintext[:2], "big")
    if n > width or any(plaintext[2 + n:]):
        return None
    return plaintext[2:2 + n]


def self_check():
    for ikm, salt, info, length, okm in RFC5869:
        if hkdf_sha256(bytes.fromhex(ikm), bytes.fromhex(salt), bytes.fromhex(info), length).hex() != okm:
            raise AssertionError("RFC 5869 test case differs")


def check_case(case):
    op = case["op"]
    if op == "hkdf":
        got = hkdf_sha256(bytes.fromhex(case["ikm"]), bytes.fromhex(case["salt"]), bytes.fromhex(case["info"]),
                          int(case["length"]))
        return got.hex() == case["okm"]
    y = bytes.fromhex(case["prf_output"])
    context = bytes.fromhex(case["context_hex"])
    width = int(case["payload_width"])
    sealed = bytes.fromhex(case["sealed"])
    if op == "seal":
        payload = bytes.fromhex(case["payload"])
        tag, again = seal(y, context, width, payload)
        return (tag.hex() == case["match_tag"] and again == sealed
                and open_record(y, context, width, sealed) == payload)
    if op == "open_reject":
        return open_record(y, context, width, sealed) is None
    raise KeyError(f"unknown op {op!r}")


def document():
    cases = []
    for i, (ikm, salt, info, length, okm) in enumerate(RFC5869):
        cases.append({"id": f"rfc5869-{['a.1', 'a.3'][i]}", "source": f"RFC 5869 appendix {['A.1', 'A.3'][i]}",
                      "op": "hkdf", "ikm": ikm, "salt": salt, "info": info, "length": length, "okm": okm})

    def y_of(label):
        return hashlib.sha512(b"CleanRoom record vector " + label.encode()).digest()

    context = b"CleanRoom-v1 enrichment test context"
    payloads = [
        ("empty", 16, b""),
        ("segment", 16, b"in-market:autos"),
        ("full-width", 16, b"0123456789abcdef"),
        ("unicode", 32, "Zoë · gold tier ✓".encode("utf-8")),
        ("two-columns", 40, b"\x00\x05autos\x00\x04gold"),
        ("zero-width", 0, b""),
    ]
    for label, width, payload in payloads:
        tag, sealed = seal(y_of(label), context, width, payload)
        cases.append({"id": f"seal-{label}", "source": SOURCE, "op": "seal", "prf_output": y_of(label).hex(),
                      "context_hex": context.hex(), "payload_width": width, "payload": payload.hex(),
                      "match_tag": tag.hex(), "sealed": sealed.hex()})
    y = y_of("segment")
    _, good = seal(y, context, 16, b"in-market:autos")
    tampered_body = bytearray(good)
    tampered_body[3] ^= 0x01
    tampered_tag = bytearray(good)
    tampered_tag[-1] ^= 0x80
    rejects = [
        ("tampered-ciphertext", y, context, 16, bytes(tampered_body), "one ciphertext bit flipped"),
        ("tampered-gcm-tag", y, context, 16, bytes(tampered_tag), "one GCM tag bit flipped"),
        ("wrong-prf-output", y_of("other"), context, 16, good, "opened with another identifier's OPRF output"),
        ("wrong-context", y, b"another session", 16, good, "opened under another session context"),
        ("truncated", y, context, 16, good[:-1], "one byte short"),
        ("length-beyond-width", y, context, 16, seal(y, context, 16, b"short", length_prefix=17)[1],
         "authentic, but the length prefix exceeds the width"),
        ("nonzero-padding", y, context, 16, seal(y, context, 16, b"short", padding=bytes(10) + b"\x01")[1],
         "authentic, but the padding is not all zeros"),
    ]
    for label, yy, ctx, width, sealed, reason in rejects:
        cases.append({"id": f"open-reject-{label}", "source": SOURCE, "op": "open_reject", "prf_output": yy.hex(),
                      "context_hex": ctx.hex(), "payload_width": width, "sealed": sealed.hex(), "reason": reason})
    return {
        "schema": "cleanroom-vectors/v1",
        "kind": "enrichment_record",
        "description": "Enrichment records: HKDF-SHA-256 (RFC 5869 A.1, A.3), then match tags and AES-256-GCM records "
                       "of fixed width derived from an OPRF output, and records that must be refused (tampered, "
                       "wrong key, wrong context, bad length or padding)",
        "source": "RFC 5869 appendix A; " + SOURCE,
        "cases": cases,
    }


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "write"):
        print(__doc__)
        return 2
    folder = argv[2] if len(argv) > 2 else VECTORS
    self_check()
    print("self-check: RFC 5869 A.1 and A.3 reproduced")
    path = os.path.join(folder, FILE)
    if argv[1] == "write":
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document(), handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        print(f"wrote {path}")
        return 0
    with open(path, encoding="utf-8") as handle:
        cases = json.load(handle)["cases"]
    failed = [c["id"] for c in cases if not check_case(c)]
    for case_id in failed:
        print(f"  {FILE} {case_id}: FAILED", file=sys.stderr)
    print(f"{FILE}: {len(cases) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
