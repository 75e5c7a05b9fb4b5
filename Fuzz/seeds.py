#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets (run by Fuzz/run.sh; the corpus folders are not committed).

frames: each golden transcript's frames, one file per frame and one with a whole party's stream.
collaboration: every collaboration in the transcripts and the docs' example file.
session: for each transcript and party, the selector byte of that party's session followed by the
other party's recorded frames.
"""
import json
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
transcripts = json.load(open(os.path.join(root, "Vectors", "transcripts.json")))
os.makedirs(os.path.join(here, "corpus", "frames"), exist_ok=True)
os.makedirs(os.path.join(here, "corpus", "collaboration"), exist_ok=True)
os.makedirs(os.path.join(here, "corpus", "session"), exist_ok=True)


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
