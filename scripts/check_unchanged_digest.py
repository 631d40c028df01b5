"""Digest of a folder of short runs for scripts/check-unchanged.sh: one line per file, with
times and durations dropped, so that two builds that train the same way give the same text.

- *.safetensors: the metadata (minus times) and a SHA-256 of each tensor's dtype, shape and bytes
- *.json / *.jsonl: each object with time-like keys removed, keys sorted
- *.png and any other file: a SHA-256 of the bytes
- *.txt: the text itself (command output captured by the script)
usage: check_unchanged_digest.py DIR"""
import hashlib, json, os, re, struct, sys

TIME_KEY = re.compile(r"(^|_)(time|times|elapsed|wall|seconds|it_per_s|wait|session)(_|$)|_s$|^t$")


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in sorted(v.items()) if not TIME_KEY.search(k)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        body = f.read()
    meta = head.pop("__metadata__", {}) or {}
    meta = {k: (strip(json.loads(v)) if v[:1] in "{[" else v) for k, v in meta.items() if not TIME_KEY.search(k)}
    out = [f"  meta {json.dumps(meta, sort_keys=True)}"]
    for name in sorted(head):
        t = head[name]
        a, b = t["data_offsets"]
        h = hashlib.sha256(body[a:b]).hexdigest()[:16]
        out.append(f"  {name} {t['dtype']} {t['shape']} {h}")
    return out


def digest(root):
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            if f.endswith(".safetensors"):
                print(rel)
                print("\n".join(safetensors(p)))
            elif f.endswith(".jsonl"):
                print(rel)
                for line in open(p, encoding="utf-8"):
                    if line.strip():
                        print("  " + json.dumps(strip(json.loads(line)), sort_keys=True))
            elif f.endswith(".json"):
                print(rel)
                print("  " + json.dumps(strip(json.load(open(p, encoding="utf-8"))), sort_keys=True))
            elif f.endswith(".txt") or f.endswith(".toml"):
                print(rel)
                for line in open(p, encoding="utf-8", errors="replace"):
                    print("  " + line.rstrip("\n"))
            else:
                print(f"{rel} {hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16]}")


digest(sys.argv[1])
