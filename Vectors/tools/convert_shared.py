#!/usr/bin/env python3
"""Convert the shared RFC 9380 / Wycheproof vector files into CleanRoom's vector schema.

Usage:
    python3 convert_shared.py [SHARED_VECTORS_DIR]

SHARED_VECTORS_DIR defaults to ../../../shared/vectors relative to this script (that is,
/work/shared/vectors when the repository is /work/main).  The files are written to the
folder above this script (Vectors/).  See Vectors/README.md for the schema.

Files written:
    expand_message_xmd_sha256.json          RFC 9380 Appendix K.1
    expand_message_xmd_sha512.json          RFC 9380 Appendix K.3
    hash_to_curve_curve25519_rfc9380.json   RFC 9380 Appendix J.4.1
    x25519_wycheproof.json                  Wycheproof testvectors_v1/x25519_test.json
    x25519_rfc7748.json                     RFC 7748 sections 5.2 and 6.1

Every X25519 value is recomputed with the `cryptography` package before anything is
written; the script stops with an error if any value disagrees.
"""

import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

SCHEMA = "cleanroom-vectors/v1"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.dirname(HERE)
DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "vectors"))

H2C_REPO = "cfrg/draft-irtf-cfrg-hash-to-curve"
WYCHEPROOF_EXPECTED_COUNT = 518


class ConversionError(Exception):
    pass


def require(condition, message):
    if not condition:
        raise ConversionError(message)


def load_json(path):
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


def write_document(name, document, one_case_per_line=False):
    """Write pretty JSON; with one_case_per_line each case is a single line (smaller, diff-friendly)."""
    path = os.path.join(OUT_DIR, name)
    if one_case_per_line:
        head = {key: value for key, value in document.items() if key != "cases"}
        lines = ["{"]
        for key, value in head.items():
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
        lines.append(' "cases": [')
        rows = [json.dumps(case, ensure_ascii=False) for case in document["cases"]]
        lines.append(",\n".join("  " + row for row in rows))
        lines.append(" ]")
        lines.append("}")
        text = "\n".join(lines) + "\n"
        json.loads(text)  # must round-trip
    else:
        text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {name}: {len(document['cases'])} cases")
    return path


def strip_0x(text):
    """Source field elements look like '0x005f...'; the schema wants bare lowercase hex."""
    require(isinstance(text, str) and text.startswith("0x"), f"expected 0x-prefixed hex, got {text!r}")
    body = text[2:].lower()
    int(body, 16)  # must parse
    return body


def is_hex(text, length=None):
    try:
        bytes.fromhex(text)
    except (TypeError, ValueError):
        return False
    return text == text.lower() and (length is None or len(text) == length)


def text_or_hex(prefix, value):
    """Return {prefix: text} for printable UTF-8 text, else {prefix_hex: hex}."""
    if isinstance(value, str) and value.isprintable():
        return {prefix: value}
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return {prefix + "_hex": raw.hex()}


# --------------------------------------------------------------------------------------
# expand_message_xmd (RFC 9380 Appendix K.1 and K.3)
# --------------------------------------------------------------------------------------

EXPAND_SOURCES = [
    # (source file, output file, schema hash name, appendix, expected DST)
    ("expand_message_xmd_SHA256_38.json", "expand_message_xmd_sha256.json", "SHA-256", "K.1",
     "QUUX-V01-CS02-with-expander-SHA256-128"),
    ("expand_message_xmd_SHA512_38.json", "expand_message_xmd_sha512.json", "SHA-512", "K.3",
     "QUUX-V01-CS02-with-expander-SHA512-256"),
]


def convert_expand(shared_dir):
    for source_name, out_name, hash_name, appendix, expected_dst in EXPAND_SOURCES:
        source = load_json(os.path.join(shared_dir, "rfc9380", source_name))
        require(source.get("name") == "expand_message_xmd", f"{source_name}: not an expand_message_xmd file")
        require(source.get("hash") == hash_name.replace("-", ""), f"{source_name}: unexpected hash {source.get('hash')}")
        dst = source["DST"]
        require(dst == expected_dst, f"{source_name}: unexpected DST {dst!r}")
        citation = (f"RFC 9380 Appendix {appendix} (expand_message_xmd({hash_name})); "
                    f"{H2C_REPO} poc/vectors/{source_name}")
        dst_prime_expected = (dst.encode() + bytes([len(dst.encode())])).hex()
        cases = []
        for index, test in enumerate(source["tests"], start=1):
            length = int(test["len_in_bytes"], 16)
            uniform = test["uniform_bytes"].lower()
            require(is_hex(uniform, 2 * length), f"{source_name} #{index}: uniform_bytes length mismatch")
            require(test["DST_prime"].lower() == dst_prime_expected, f"{source_name} #{index}: DST_prime mismatch")
            msg = test["msg"]
            label = msg if len(msg) <= 16 else msg.split("_", 1)[0]
            case = {
                "id": f"rfc9380-{appendix.lower()}-{index:02d}-{label or 'empty'}-len{length}",
                "source": citation,
                "hash": hash_name,
                "dst": dst,
            }
            case.update(text_or_hex("msg", msg))
            case["len_in_bytes"] = length
            case["uniform_bytes"] = uniform
            # Intermediate values from the source, handy when debugging (ignored by the verifier).
            case["dst_prime"] = test["DST_prime"].lower()
            case["msg_prime"] = test["msg_prime"].lower()
            cases.append(case)
        require(len({c["id"] for c in cases}) == len(cases), f"{out_name}: duplicate ids")
        write_document(out_name, {
            "schema": SCHEMA,
            "kind": "expand_message_xmd",
            "description": f"expand_message_xmd with {hash_name} (RFC 9380 section 5.3.1), DST of "
                           f"{len(dst)} bytes, outputs of 32 and 128 bytes",
            "source": citation,
            "cases": cases,
        })


# --------------------------------------------------------------------------------------
# hash_to_curve curve25519_XMD:SHA-512_ELL2_RO_ (RFC 9380 Appendix J.4.1)
# --------------------------------------------------------------------------------------

H2C_SUITE = "curve25519_XMD:SHA-512_ELL2_RO_"
CURVE25519_P = 2**255 - 19


def point_from_source(point, what):
    x, y = strip_0x(point["x"]), strip_0x(point["y"])
    xi, yi = int(x, 16), int(y, 16)
    require(xi < CURVE25519_P and yi < CURVE25519_P, f"{what}: coordinate out of range")
    # On the curve v^2 = u^3 + 486662 u^2 + u?
    lhs = yi * yi % CURVE25519_P
    rhs = (xi**3 + 486662 * xi * xi + xi) % CURVE25519_P
    require(lhs == rhs, f"{what}: point not on curve25519")
    return {"x": x, "y": y}


def convert_hash_to_curve(shared_dir):
    source_name = "curve25519_XMD_SHA-512_ELL2_RO_.json"
    source = load_json(os.path.join(shared_dir, "rfc9380", source_name))
    require(source["ciphersuite"] == H2C_SUITE, f"{source_name}: unexpected suite {source['ciphersuite']}")
    require(int(source["field"]["p"], 16) == CURVE25519_P, f"{source_name}: unexpected field prime")
    dst = source["dst"]
    citation = (f"RFC 9380 Appendix J.4.1 ({H2C_SUITE}); {H2C_REPO} poc/vectors/"
                "curve25519_XMD:SHA-512_ELL2_RO_.json")
    cases = []
    for index, vector in enumerate(source["vectors"], start=1):
        msg = vector["msg"]
        label = msg if len(msg) <= 16 else msg.split("_", 1)[0]
        p_point = point_from_source(vector["P"], f"vector {index} P")
        case = {
            "id": f"rfc9380-j.4.1-{index:02d}-{label or 'empty'}",
            "source": citation,
            "suite": H2C_SUITE,
            "dst": dst,
        }
        case.update(text_or_hex("msg", msg))
        case["u"] = [strip_0x(u) for u in vector["u"]]
        require(len(case["u"]) == 2, f"vector {index}: expected two field elements")
        case["Q0"] = point_from_source(vector["Q0"], f"vector {index} Q0")
        case["Q1"] = point_from_source(vector["Q1"], f"vector {index} Q1")
        case["P"] = p_point
        case["encoded"] = int(p_point["x"], 16).to_bytes(32, "little").hex()
        cases.append(case)
    write_document("hash_to_curve_curve25519_rfc9380.json", {
        "schema": SCHEMA,
        "kind": "hash_to_curve",
        "description": f"hash_to_curve with suite {H2C_SUITE}: hash_to_field output u, the two "
                       "Elligator 2 points Q0 and Q1, and the final point P (Montgomery coordinates)",
        "source": citation,
        "cases": cases,
    })


# --------------------------------------------------------------------------------------
# X25519 helpers (cryptography package, used only to check values before writing)
# --------------------------------------------------------------------------------------

BASE_U = "09" + "00" * 31


def x25519(private_hex, public_hex):
    """X25519(k, u) through OpenSSL; returns None when the library refuses (all-zero output)."""
    private = X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    public = X25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    try:
        return private.exchange(public).hex()
    except ValueError:
        return None


def expected_for(result, shared_hex):
    """CleanRoom's rule from Vectors/README.md."""
    if result == "invalid" or set(shared_hex) == {"0"}:
        return "reject"
    return "shared"


# --------------------------------------------------------------------------------------
# Wycheproof x25519_test.json
# --------------------------------------------------------------------------------------

def convert_wycheproof(shared_dir):
    source_name = "x25519_test.json"
    source = load_json(os.path.join(shared_dir, "wycheproof", source_name))
    require(source.get("algorithm") == "XDH", f"{source_name}: not an XDH file")
    versions = sorted({
        (group.get("source") or {}).get("version") or source.get("generatorVersion") or "unknown"
        for group in source["testGroups"]
    })
    version_text = ", ".join(versions)
    file_citation = (f"Wycheproof testvectors_v1/{source_name}, C2SP/wycheproof "
                     f"(schema {source.get('schema')}, source version {version_text})")
    cases = []
    mismatches = []
    for group in source["testGroups"]:
        require(group.get("curve") == "curve25519", f"{source_name}: unexpected curve {group.get('curve')}")
        for test in group["tests"]:
            tc = test["tcId"]
            for field in ("private", "public", "shared"):
                require(is_hex(test[field], 64), f"tc {tc}: {field} is not 32 bytes of hex")
            require(test["result"] in ("valid", "acceptable", "invalid"), f"tc {tc}: result {test['result']}")
            expected = expected_for(test["result"], test["shared"])
            # Independent check with OpenSSL: same output, or a refusal exactly on the zero cases.
            computed = x25519(test["private"], test["public"])
            if expected == "shared" and computed != test["shared"]:
                mismatches.append(tc)
            if expected == "reject" and test["result"] != "invalid" and computed is not None:
                mismatches.append(tc)
            cases.append({
                "id": f"wycheproof-tc{tc}",
                "source": f"Wycheproof testvectors_v1/{source_name} tcId {tc}, C2SP/wycheproof "
                          f"(source version {(group.get('source') or {}).get('version', version_text)})",
                "comment": test.get("comment", ""),
                "private": test["private"],
                "public": test["public"],
                "shared": test["shared"],
                "result": test["result"],
                "flags": list(test["flags"]),
                "expected": expected,
            })
    require(not mismatches, f"{source_name}: OpenSSL disagrees on tcIds {mismatches}")
    require(len(cases) == WYCHEPROOF_EXPECTED_COUNT,
            f"{source_name}: expected {WYCHEPROOF_EXPECTED_COUNT} cases, found {len(cases)}")
    require(source.get("numberOfTests") == len(cases), f"{source_name}: numberOfTests disagrees")
    require(len({c["id"] for c in cases}) == len(cases), f"{source_name}: duplicate tcIds")
    rejects = sum(1 for c in cases if c["expected"] == "reject")
    write_document("x25519_wycheproof.json", {
        "schema": SCHEMA,
        "kind": "x25519",
        "description": "Wycheproof X25519 (XdhComp) cases: expected is reject for result invalid or an "
                       f"all-zero shared secret ({rejects} cases), shared otherwise",
        "source": file_citation,
        "cases": cases,
    }, one_case_per_line=True)
    written = load_json(os.path.join(OUT_DIR, "x25519_wycheproof.json"))
    assert len(written["cases"]) == WYCHEPROOF_EXPECTED_COUNT, "x25519_wycheproof.json: wrong case count"


# --------------------------------------------------------------------------------------
# RFC 7748 sections 5.2 and 6.1 (values as published in the RFC)
# --------------------------------------------------------------------------------------

RFC7748_SCALAR_VECTORS = [
    # (scalar, input u-coordinate, output u-coordinate), RFC 7748 section 5.2
    ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
]

RFC7748_ITERATED = [
    # (iterations, k after that many iterations), RFC 7748 section 5.2, starting from k = u = 9.
    # The 1,000,000-iteration value is left out: it takes far too long to check.
    (1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"),
    (1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"),
]

RFC7748_DH = {
    # RFC 7748 section 6.1
    "alice_private": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    "alice_public": "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    "bob_private": "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    "bob_public": "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    "shared": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
}


def iterate_x25519(count):
    k = u = BASE_U
    for _ in range(count):
        k, u = x25519(k, u), k
    return k


def convert_rfc7748():
    cases = []

    def add(case_id, section, private, public, shared, iterations=None):
        case = {"id": case_id, "source": f"RFC 7748 section {section}",
                "private": private, "public": public, "shared": shared}
        if iterations is not None:
            case["iterations"] = iterations
        case.update({"result": "valid", "flags": [], "expected": "shared"})
        cases.append(case)

    for index, (scalar, u, out) in enumerate(RFC7748_SCALAR_VECTORS, start=1):
        got = x25519(scalar, u)
        require(got == out, f"RFC 7748 5.2 vector {index}: cryptography gives {got}, RFC says {out}")
        add(f"rfc7748-5.2-vector{index}", "5.2", scalar, u, out)

    for iterations, out in RFC7748_ITERATED:
        got = iterate_x25519(iterations)
        require(got == out, f"RFC 7748 5.2 after {iterations} iterations: cryptography gives {got}, RFC says {out}")
        add(f"rfc7748-5.2-iterated-{iterations}", "5.2 (iterated)", BASE_U, BASE_U, out, iterations)

    dh = RFC7748_DH
    for who in ("alice", "bob"):
        got = x25519(dh[f"{who}_private"], BASE_U)
        require(got == dh[f"{who}_public"], f"RFC 7748 6.1 {who}'s public key: cryptography gives {got}")
        add(f"rfc7748-6.1-{who}-public", "6.1", dh[f"{who}_private"], BASE_U, dh[f"{who}_public"])
    for who, other in (("alice", "bob"), ("bob", "alice")):
        got = x25519(dh[f"{who}_private"], dh[f"{other}_public"])
        require(got == dh["shared"], f"RFC 7748 6.1 shared secret from {who}'s side: cryptography gives {got}")
        add(f"rfc7748-6.1-shared-{who}-side", "6.1", dh[f"{who}_private"], dh[f"{other}_public"], dh["shared"])

    for case in cases:
        require(expected_for(case["result"], case["shared"]) == case["expected"], f"{case['id']}: rule broken")
    write_document("x25519_rfc7748.json", {
        "schema": SCHEMA,
        "kind": "x25519",
        "description": "X25519 test vectors of RFC 7748: the two scalar multiplications and the iterated "
                       "test (1 and 1,000 iterations) of section 5.2, and the Diffie-Hellman example of "
                       "section 6.1 (both public keys, the shared secret from both sides)",
        "source": "RFC 7748 sections 5.2 and 6.1; every value recomputed with the Python cryptography "
                  "package by Vectors/tools/convert_shared.py",
        "cases": cases,
    })


def main(argv):
    shared_dir = os.path.abspath(argv[1]) if len(argv) > 1 else DEFAULT_SHARED
    if not os.path.isdir(shared_dir):
        print(f"shared vectors folder not found: {shared_dir}", file=sys.stderr)
        return 2
    try:
        convert_expand(shared_dir)
        convert_hash_to_curve(shared_dir)
        convert_wycheproof(shared_dir)
        convert_rfc7748()
    except ConversionError as error:
        print(f"convert_shared.py: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
