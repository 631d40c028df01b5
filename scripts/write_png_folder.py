"""Writes Fashion-MNIST images START..END of SPLIT (train or t10k, from Debian's
dataset-fashion-mnist) as 28×28 gray PNG files into OUT, for checking that FID on a folder of
PNG files equals FID on the dataset. usage: write_png_folder.py SPLIT START END OUT"""
import gzip, os, struct, sys, zlib

split, start, end, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
path = f"/usr/share/datasets/fashion-mnist/{split}-images-idx3-ubyte.gz"
with gzip.open(path, "rb") as f:
    magic, n, h, w = struct.unpack(">IIII", f.read(16))
    data = f.read()
os.makedirs(out, exist_ok=True)


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


for i in range(start, end):
    px = data[i * h * w:(i + 1) * h * w]
    raw = b"".join(b"\0" + px[r * w:(r + 1) * w] for r in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(os.path.join(out, f"{i:05d}.png"), "wb") as f:
        f.write(png)
