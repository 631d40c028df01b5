#!/bin/bash
# grid25 with PacGAN's own models and packing (pack 2 and 4), in parallel on the GPU machine.
TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")/lib
export LD_LIBRARY_PATH=$TL
xz -dc .gpu/gan.xz > /tmp/gan && chmod +x /tmp/gan
G=/tmp/gan
P="--set model.z_dim=2 --set model.g_hidden=[400,400,400,400] --set model.g_norm=batch --set model.leaky_slope=0 --set model.d_hidden=[200,200,200] --set model.d_maxout=5 --set train.batch_size=100 --set train.beta1=0.8"
C="-c configs/toy/pacgan.toml --set device=cuda --set threads=2 -q --set data.toy=grid25 --set train.steps=${STEPS:-28000}"
run() { name=$1; shift; timeout ${LIMIT:-470} $G train $C --out /tmp/runs/$name "$@" > /tmp/runs/$name.log 2>&1; echo "$name rc $?" >> /tmp/runs/rc.txt; }
mkdir -p /tmp/runs
for seed in 0 1 2; do for pack in 2 4; do run grid-pack$pack-s$seed --seed $seed --set model.pack=$pack $P & done; done
wait
cat /tmp/runs/rc.txt
for d in /tmp/runs/*/; do n=$(basename $d); echo "== $n"; python3 -c "
import json
try:
  s=json.load(open('$d/summary.json')); print('steps',s['steps'],{k:s['modes'][k] for k in ('modes_covered','high_quality','kl_to_uniform')}, 'it/s %.1f'%s['it_per_s'])
except Exception as e: print('no summary', e)
"; tail -n 1 $d/modes.jsonl; done
mkdir -p $OUT/toy; for d in /tmp/runs/*/; do n=$(basename $d); cp $d/modes.jsonl $OUT/toy/$n-modes.jsonl 2>/dev/null; done
