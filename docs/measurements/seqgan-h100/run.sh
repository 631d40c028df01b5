#!/bin/bash
# SeqGAN oracle benchmark on the GPU machine: MLE baseline and SeqGAN with more D training
# per round (the gap the CPU runs pointed at), in parallel; prints the NLL_oracle curves.
TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__))")/lib
export LD_LIBRARY_PATH=$TL
xz -dc .gpu/gan.xz > /tmp/gan && chmod +x /tmp/gan
C="--set device=cuda --set threads=2 --seed 1 -q"
run() { name=$1; shift; timeout ${LIMIT:-250} /tmp/gan text train $C --out /tmp/t/$name "$@" > /tmp/t/$name.log 2>&1; echo "$name rc $?" >> /tmp/t/rc.txt; }
mkdir -p /tmp/t
run mle -c configs/text/mle-oracle.toml &
run seqgan -c configs/text/seqgan-oracle.toml &
run seqgan-d5x -c configs/text/seqgan-oracle.toml --set train.adv_d_steps=75 --set train.d_pretrain_steps=5000 &
wait
cat /tmp/t/rc.txt
for n in mle seqgan seqgan-d5x; do echo "== $n"; tail -n 3 /tmp/t/$n.log; ls /tmp/t/$n; tail -n 4 /tmp/t/$n/text_eval.jsonl 2>/dev/null; done
mkdir -p $OUT/t; for n in mle seqgan seqgan-d5x; do cp /tmp/t/$n/text_eval.jsonl $OUT/t/$n-text_eval.jsonl 2>/dev/null; done
