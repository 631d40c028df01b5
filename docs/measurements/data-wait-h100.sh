#!/bin/bash
# GPU data-wait measurement: the default run, then a 64 px RGB folder in memory and streamed.
TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")/lib
export LD_LIBRARY_PATH=$TL
# /tmp/gan: gan built against the card's torch (see the README GPU section)
python3 - <<'PY'
import os, random, struct, zlib
random.seed(0)
d = "/tmp/imgs"; os.makedirs(d, exist_ok=True)
def png(path, w, h, rows):
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(t, data): return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
for i in range(4000):
    blocks = [[bytes(random.randrange(256) for _ in range(3)) for _ in range(8)] for _ in range(8)]
    rows = [b"".join(blocks[y // 8][x // 8] for x in range(64)) for y in range(64)]
    png(f"{d}/{i:05d}.png", 64, 64, rows)
print("made", len(os.listdir(d)), "PNGs")
PY
nproc

for st in false true; do echo "== folder 64 px RGB, stream=$st"; /tmp/gan train --device cuda --data /tmp/imgs --set model.resolution=64 --set model.channels=3 --steps 1000 --set data.stream=$st --set train.sample_every=0 --set train.checkpoint_every=0 --out /tmp/r-$st 2>&1 | grep -E "^done|waited"; done

