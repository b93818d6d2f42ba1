"""Test-side INF reader for tests/driver_inspect.rs, written apart from peforge's src/driver/inf.rs.

Reads one INF and prints JSON with the values `peforge driver inspect --json` reports, so the test
can compare the two. Rules: windows-driver-docs "General Syntax Rules for INF Files",
"INF Strings Section", "INF Manufacturer Section"; shared/specs/winpe-customize.md section 8.
"""
import json
import os
import re
import sys


def decode(raw):
    if raw[:2] == b"\xff\xfe":
        return raw[2:].decode("utf-16-le"), "utf16le"
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be"), "utf16be"
    if raw[:3] == b"\xef\xbb\xbf":
        return raw[3:].decode("utf-8"), "utf8-bom"
    try:
        raw.decode("ascii")
        return raw.decode("ascii"), "ascii"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("utf-8"), "utf8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "windows1252"


def strip_comment(line):
    """Returns (text without comment, continues)."""
    quoted = False
    out = []
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            break
        out.append(ch)
    text = "".join(out).rstrip()
    if not quoted and text.endswith("\\"):
        return text[:-1], True
    return "".join(out), False


def fields(text):
    """Splits a logical line into (key or None, [values])."""
    parts = []
    cur = ""
    quoted = False
    key = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur += '\x01'
                i += 2
                continue
            quoted = not quoted
            cur += '\x02'  # a quote boundary marker, removed at the end
        elif ch == "=" and not quoted and key is None and not parts:
            key = cur
            cur = ""
        elif ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)

    def clean(v):
        v = v.replace("\r", " ").strip(" \t")
        return v.replace("\x02", "").replace("\x01", '"')

    return (clean(key) if key is not None else None), [clean(p) for p in parts]


def parse(text):
    text = text.split("\x1a")[0]
    sections = {}
    order = []
    cur = None
    conts = 0
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        body, cont = strip_comment(lines[i])
        i += 1
        while cont and i < len(lines):
            conts += 1
            nxt, cont = strip_comment(lines[i])
            body += nxt
            i += 1
        s = body.strip()
        if not s:
            continue
        if s.startswith("["):
            name = s[1:s.index("]")].strip()
            cur = name.lower()
            if cur not in sections:
                sections[cur] = []
                order.append(name)
            continue
        if cur is None:
            continue
        sections[cur].append(fields(body))
    return sections, order, conts


def sub(strings, s):
    def rep(m):
        k = m.group(1)
        if k == "":
            return "%"
        return strings.get(k.lower(), m.group(0))
    return re.sub(r"%([^%]*)%", rep, s)


ARCH = {"x86": "x86", "amd64": "amd64", "arm": "arm", "arm64": "arm64", "ia64": "ia64"}


def exists_ci(base, rel):
    cur = base
    for part in [p for p in re.split(r"[\\/]", rel) if p and p != "."]:
        names = {n.lower(): n for n in os.listdir(cur)} if os.path.isdir(cur) else {}
        if part.lower() not in names:
            return False
        cur = os.path.join(cur, names[part.lower()])
    return os.path.isfile(cur)


def main(path):
    raw = open(path, "rb").read()
    text, enc = decode(raw)
    sec, order, conts = parse(text)
    strings = {}
    for k, v in sec.get("strings", []):
        if k is not None:
            strings[k.lower()] = v[0] if len(v) == 1 else ",".join(v)
    ver = {}
    cats = {}
    for k, v in sec.get("version", []):
        if k is None:
            continue
        ver.setdefault(k.lower(), v)
        if k.lower().startswith("catalogfile") and v[0]:
            cats[k] = sub(strings, v[0])

    def one(name):
        v = ver.get(name)
        return sub(strings, v[0]) if v else None

    dv = ver.get("driverver")
    driverver = ",".join(x for x in (sub(strings, f) for f in dv) if x) if dv is not None else None
    archs = set()
    undecorated = False
    ids = []
    for k, v in sec.get("manufacturer", []):
        models = sub(strings, v[0])
        decos = [d for d in v[1:] if d]
        names = []
        if not decos:
            undecorated = True
            archs.add("x86")
            names.append(models)
        for d in decos:
            head = d.split(".")[0]
            a = head[2:]
            archs.add(ARCH.get(a.lower(), a) if a else "x86")
            names.append(models + "." + d)
        for n in names:
            for _, vals in sec.get(n.lower(), []):
                for x in vals[1:]:
                    x = sub(strings, x)
                    if x and x.lower() not in [y.lower() for y in ids]:
                        ids.append(x)
    inf_dir = os.path.dirname(path)
    files = {}
    known = [a for a in archs if a in ARCH]
    for a in known or [None]:
        disks = {}
        for name in ["sourcedisksnames"] + ([f"sourcedisksnames.{a}"] if a else []):
            for k, v in sec.get(name, []):
                if k is not None:
                    disks[k.strip()] = v[3] if len(v) > 3 else ""
        entries = {}
        for name in ["sourcedisksfiles"] + ([f"sourcedisksfiles.{a}"] if a else []):
            for k, v in sec.get(name, []):
                fname = k if k is not None else v[0]
                if k is None:
                    entries[fname.lower()] = (fname, "", "")
                else:
                    entries[fname.lower()] = (fname, v[0], v[1] if len(v) > 1 else "")
        for fname, disk, subdir in entries.values():
            parts = [p for p in re.split(r"[\\/]", disks.get(disk.strip(), "") + "\\" + subdir + "\\" + fname) if p and p != "."]
            rel = "/".join(parts)
            files[rel.lower()] = (rel, exists_ci(inf_dir, rel))
    print(json.dumps({
        "encoding": enc,
        "class": one("class"),
        "class_guid": one("classguid"),
        "provider": one("provider"),
        "signature": one("signature"),
        "driver_ver": driverver,
        "catalogs": cats,
        "architectures": sorted(archs),
        "undecorated": undecorated,
        "hardware_ids": sorted(i.lower() for i in ids),
        "files": sorted([r, p] for r, p in files.values()),
        "continuations": conts,
        "sections": len(order),
    }))


main(sys.argv[1])
