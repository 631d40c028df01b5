"""Copies a checkpoint keeping only the generator `gan sample` loads (EMA when the run kept
one, else G), with the metadata unchanged. usage: slim_checkpoint.py IN OUT"""
import json, struct, sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
    body = f.read()
meta = head.pop("__metadata__", {})
prefix = "ema." if any(k.startswith("ema.") for k in head) else "g."
kept, out, offset = {}, [], 0
for name in sorted(head, key=lambda k: head[k]["data_offsets"][0]):
    if not name.startswith(prefix):
        continue
    a, b = head[name]["data_offsets"]
    kept[name] = dict(head[name], data_offsets=[offset, offset + b - a])
    out.append(body[a:b])
    offset += b - a
kept["__metadata__"] = meta
text = json.dumps(kept, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    f.write(b"".join(out))
