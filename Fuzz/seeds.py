#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets (run by Fuzz/run.sh; the corpus folders are not committed).

frames: each golden transcript's frames, one file per frame and one with a whole party's stream.
collaboration: every collaboration in the transcripts and the docs' example file.
session: for each transcript and party, the selector byte of that party's session followed by the
other party's recorded frames.
csv: each transcript party's rows as a CSV file, small files in the format of `cleanroom sample`
(the generator of Sources/CleanRoomRunner/SampleData.swift, ported with its seeded SplitMix64), and
hand-written files with what a hostile or careless counterparty's export may hold.
"""
import csv
import io
import json
import math
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
transcripts = json.load(open(os.path.join(root, "Vectors", "transcripts.json")))
os.makedirs(os.path.join(here, "corpus", "frames"), exist_ok=True)
os.makedirs(os.path.join(here, "corpus", "collaboration"), exist_ok=True)
os.makedirs(os.path.join(here, "corpus", "session"), exist_ok=True)
os.makedirs(os.path.join(here, "corpus", "csv"), exist_ok=True)


def write(folder, name, data):
    with open(os.path.join(here, "corpus", folder, name), "wb") as f:
        f.write(data)


for case_index, case in enumerate(transcripts["cases"]):
    write("collaboration", case["id"] + ".yaml", case["collaboration"].encode())
    streams = {}
    for i, m in enumerate(case["messages"]):
        frame = bytes.fromhex(m["hex"])
        write("frames", "%s-%03d" % (case["id"], i), frame)
        streams.setdefault(m["from"], b"")
        streams[m["from"]] += frame
    for party, stream in streams.items():
        write("frames", "%s-%s-all" % (case["id"], party), stream)
    # FuzzSession's selector: 2 × case index + party index picks the session; it is fed the
    # other party's recorded frames.
    names = [p["name"] for p in case["parties"]]
    for k, name in enumerate(names):
        peer = names[1 - k]
        selector = 2 * case_index + k
        write("session", "%s-%s" % (case["id"], name), bytes([selector]) + streams.get(peer, b""))

doc = open(os.path.join(root, "docs", "collaboration.md")).read()
for k, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc, re.S)):
    write("collaboration", "doc-%d.yaml" % k, block.encode())


def csv_text(columns, rows, newline="\r\n"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


for case in transcripts["cases"]:
    for p in case["parties"]:
        write("csv", "%s-%s.csv" % (case["id"], p["name"]), csv_text(p["columns"], p["rows"]))


class SplitMix64:
    """Sources/CleanRoomProtocol/Input/SplitMix64.swift."""

    mask = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.mask
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.mask
        return z ^ (z >> 31)


def sample_data(rows, overlap, seed):
    """SampleData.write: the advertiser and publisher files `cleanroom sample` writes."""
    rng = SplitMix64(seed)
    shared = math.floor(rows * overlap + 0.5)
    first = ["alex", "sam", "maria", "li", "noah", "emma", "ivan", "fatima", "jose", "zoe", "kenji", "amara"]
    domains = ["example.com", "example.org", "mail.example.net", "example.co.uk"]
    campaigns = ["spring-sale", "summer-launch", "autumn-promo", "winter-clearance", "brand-awareness"]

    def email(kind, i):
        return "%s.%s%d@%s" % (first[i % len(first)], kind, i, domains[(i // 7) % len(domains)])

    def variant(e, r):
        return [e.upper(), "  " + e + " ", e[:1].upper() + e[1:], e, e][r % 5]

    def field(v):
        if any(c in v for c in ',"\n\r') or v.startswith(" ") or v.endswith(" "):
            return '"' + v.replace('"', '""') + '"'
        return v

    ad = "email,purchase_amount,quantity\r\n"
    for i in range(rows):
        e = email("c", i) if i < shared else email("a", i)
        cents = 100 + rng.next() % 49_900
        ad += "%s,%d.%02d,%d\r\n" % (field(variant(e, rng.next())), cents // 100, cents % 100, 1 + rng.next() % 10)
    pub = "email,campaign\r\n"
    for i in range(rows):
        e = email("c", i) if i < shared else email("p", i)
        pub += "%s,%s\r\n" % (field(variant(e, rng.next())), campaigns[rng.next() % len(campaigns)])
    return ad.encode(), pub.encode()


for rows, seed in [(20, 7), (200, 11)]:
    ad, pub = sample_data(rows, 0.3, seed)
    write("csv", "sample-%d-advertiser.csv" % rows, ad)
    write("csv", "sample-%d-publisher.csv" % rows, pub)

# Hand-written: the RFC 4180 corners, bad bytes, and cells the input preparation must refuse.
tricky = {
    "bom-crlf-quotes": "\ufeffemail,purchase_amount,quantity\r\n"
    '"a,b""c""@x.com","12.50",3\r\n"multi\nline@x.com",1,1\r\n"",0,0\r\n',
    "cr-only-and-blank-lines": "email,campaign\r\ra@x.com,spring\r\r\rb@x.com,summer\r",
    "no-final-newline": "email,campaign\na@x.com,spring\nB@X.COM ,spring",
    "ragged": "email,campaign\na@x.com\nb@x.com,spring,extra\n,\n",
    "duplicate-header": "email,email,campaign\na@x.com,b@x.com,spring\n",
    "padded-header": " email , campaign \na@x.com,spring\n",
    "unclosed-quote": 'email,campaign\n"a@x.com,spring\n',
    "text-after-quote": 'email,campaign\n"a@x.com"x,spring\n',
    "quote-inside-field": 'email,campaign\na"b@x.com,spring\n',
    "header-only": "email,purchase_amount,quantity\r\n",
    "empty": "",
    "unicode-emails": "email,campaign\nJos\u00e9@Example.com,spring\nJose\u0301@example.com,spring\n"
    "\u00a0a@x.com\u2003,summer\n\u0130@x.com,summer\n",
    "values-edge": "email,purchase_amount,quantity\n"
    "a@x.com,1000.00,50\nb@x.com,-100.00,0\nc@x.com,1000.01,51\nd@x.com, 1.5\t,+3\n"
    "e@x.com,9223372036854775807,1\nf@x.com,1.,2\ng@x.com,.5,-0\nh@x.com,\u00a012.50\u00a0,\u0661\n"
    "a@x.com,999.99,50\n",
    "groups": "email,campaign\na@x.com,spring\nA@x.com , spring \na@x.com,summer\nb@x.com,\nc@x.com," + "g" * 300 + "\n",
    "phones": "phone,email\n+44 20 7946 0958,a@x.com\n0044 20 7946 0958,b@x.com\n(555) 010-9999,c@x.com\n"
    "123,d@x.com\n+1-800-FLOWERS,e@x.com\n\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18,f@x.com\n",
    "ids": "id,customer id\nc-1,c-1\n,c-2\n\u00e9,\u00e9\nc-1,c-3\n",
    "huge-field": 'email,campaign\n"' + "x" * 60000 + '@x.com",spring\n',
}
for name, text in tricky.items():
    write("csv", name + ".csv", text.encode())
write("csv", "invalid-utf8.csv", b"email,campaign\n\xff\xfe@x.com,spring\na@x.com,\xc3\n")
write("csv", "invalid-utf8-header.csv", b"email,camp\xe9ign\na@x.com,spring\n")
write("csv", "split-bom.csv", b"\xef\xbbemail,campaign\na@x.com,spring\n")
write("csv", "nul-bytes.csv", b"email,campaign\na\x00@x.com,spr\x00ing\n")
