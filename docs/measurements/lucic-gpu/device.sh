#!/bin/bash
# Lucic et al.'s Fashion-MNIST table (issue 24) on a lent GPU, in three calls of the device
# tool, because the binary, the data and the 87 MB Inception file do not fit one transfer:
#   1. `device.sh setup`   unpacks .gpu/a (gan built against the card's libtorch 2.11, the
#                          Fashion-MNIST files), trains 200 steps as a smoke test, and starts
#                          `queue` in its own session so it outlives the call;
#   2. `device.sh part`    keeps .gpu/b (the first half of the Inception file) in /tmp;
#   3. `device.sh finish SECONDS`  joins the Inception file, waits for the queue (or stops it
#                          INC_RESERVE seconds before the end), scores each proxied run's best
#                          checkpoint with the Inception FID at N = 10,000, P_INC at a time with
#                          the card to itself, times FID extraction against PyTorch eager if
#                          time is left, and packs the logs into $OUT before SECONDS have passed.
# `queue` trains jobs.txt in order, P at a time; each job then scores every kept checkpoint
# with the proxy (fashion-cnn FID, N = 10,000), as scripts/reproduce-lucic.sh does on CPU.
# Locally (DEV=cpu STEPS=4 JOBS=… PROXY_N=… INC_N=…) the same phases run as a dry run.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
W=${W:-/tmp/L}
DEV=${DEV:-cuda}
P=${P:-18}
JOBS=${JOBS:-$here/jobs.txt}
PROXY_N=${PROXY_N:-10000}
INC_N=${INC_N:-10000}
P_INC=${P_INC:-4}
INC_RESERVE=${INC_RESERVE:-200}
export W  # the phases started by this one (queue, job, inception) log to the same folder
export GAN_CACHE=${GAN_CACHE:-/tmp/cache}
G=${G:-/tmp/gan}
if [ "$DEV" = cuda ]; then
  export LD_LIBRARY_PATH="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
fi
steps=()
[ -n "${STEPS:-}" ] && steps=(--steps "$STEPS" --set "train.checkpoint_every=$((STEPS / 2))")
fid() { sed -n 's/^FID \([-0-9.]*\).*/\1/p'; }
stamp() { echo "$(date +%s) $*" >> "$W/events.txt"; }
summary() {
  cat "$W/events.txt"
  for r in "$W"/*/; do
    [ -f "$r/proxy.txt" ] || continue
    echo "$(basename "$r"): $(tr '\n' ' ' < "$r/proxy.txt") | $(cat "$r/inception.txt" 2>/dev/null)"
  done
}

case "$1" in
setup)
  mkdir -p "$W" "$GAN_CACHE/fid" /usr/share/datasets/fashion-mnist
  d=/usr/share/datasets/fashion-mnist
  cp .gpu/a/t10k-images-idx3-ubyte.gz .gpu/a/t10k-labels-idx1-ubyte.gz .gpu/a/train-labels-idx1-ubyte.gz $d/
  xz -dc .gpu/a/train-images-idx3-ubyte.xz > $d/train-images-idx3-ubyte
  xz -dc .gpu/a/gan.xz > "$G" && chmod +x "$G"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nproc
  stamp setup
  # MPS lets the parallel runs' small kernels share the GPU; without it they time-slice
  if nvidia-cuda-mps-control -d 2>/dev/null; then echo "MPS started"; else echo "no MPS"; fi
  smoke() {
    rm -rf /tmp/smoke
    "$G" train --quiet --config "$root/configs/lucic/non-saturating-fashion.toml" --steps 200 \
      --set device=$DEV --set threads=1 --set train.checkpoint_every=0 --out /tmp/smoke
  }
  t=$(date +%s.%N)
  if ! smoke; then
    echo "smoke failed under MPS; stopping MPS"
    echo quit | nvidia-cuda-mps-control
    smoke || exit 1
  fi
  echo "smoke: 200 iterations (with start-up) in $(python3 -c "import time;print(round(time.time()-$t,1))") s"
  # the proxy's real-set statistics once, before parallel jobs would each compute them
  "$G" eval /tmp/smoke fashion-mnist:test --metrics fid --features fashion-cnn --n 1000 --device $DEV
  setsid nohup bash "$here/device.sh" queue > "$W/queue.log" 2>&1 < /dev/null &
  sleep 20
  cat "$W/events.txt"; tail -n 3 "$W"/*.log 2>/dev/null | tail -n 20
  ;;
queue)
  stamp queue
  grep -v '^#' "$JOBS" | grep . | xargs -P "$P" -L1 bash "$here/device.sh" job
  stamp queue-done
  ;;
job)
  name=$2 cfg=$3 seed=$4; shift 4
  run="$W/$name-s$seed"
  stamp "start $name-s$seed"
  t=$(date +%s)
  # shellcheck disable=SC2068
  "$G" train --quiet --config "$root/configs/lucic/$cfg-fashion.toml" --seed "$seed" \
    --set device=$DEV --set threads=1 ${steps[@]+"${steps[@]}"} $@ --out "$run" > "$run.log" 2>&1
  stamp "trained $name-s$seed rc $? $(($(date +%s) - t)) s"
  for ck in "$run"/checkpoints/step-*.safetensors; do
    v=$("$G" eval "$ck" fashion-mnist:test --metrics fid --features fashion-cnn --n $PROXY_N --device $DEV | fid)
    echo "$(basename "$ck" .safetensors) $v" >> "$run/proxy.txt"
  done
  stamp "proxied $name-s$seed"
  ;;
part)
  mkdir -p /tmp/parts && cp .gpu/b/* /tmp/parts/ && ls -la /tmp/parts
  cat "$W/events.txt"
  ;;
inception)
  run=$2
  best=$(sort -k2 -g "$run/proxy.txt" | head -1 | cut -d' ' -f1)
  t=$(date +%s)
  v=$("$G" eval "$run/checkpoints/$best.safetensors" fashion-mnist:test --metrics fid --n $INC_N --device $DEV | fid)
  echo "$best $v $(($(date +%s) - t))" > "$run/inception.txt"
  stamp "inception $(basename "$run") $best $v"
  ;;
finish)
  end=$(($(date +%s) + $2))
  out=${OUT:-/tmp/out}
  mkdir -p "$out"
  if [ ! -f "$GAN_CACHE/fid/default_1.pt" ]; then
    cat /tmp/parts/* .gpu/c/* | xz -dc > "$GAN_CACHE/fid/default_1.pt"
  fi
  sha256sum "$GAN_CACHE/fid/default_1.pt"
  # Training and proxies first; the Inception evaluations get the GPU to themselves (run
  # beside 14 trainings, one took 327 s on 2026-11-30 and the rest never finished).
  while ! grep -q queue-done "$W/events.txt" && [ "$(date +%s)" -lt $((end - INC_RESERVE)) ]; do
    sleep 5
  done
  # whatever has not finished by now stops, so that the evaluations have the GPU
  pkill -f "device.sh queue"; pkill -f "device.sh job"; pkill -f "$G train"; pkill -f "$G eval"
  sleep 2
  stamp "inception phase"
  summary > "$out/summary.txt"  # the proxies, in case the call ends during the evaluations
  # proxied runs in the order of jobs.txt; the first alone (it computes the real set's statistics)
  runs=$(sed -n 's/.* proxied //p' "$W/events.txt" | sort -u)
  order=$(grep -v '^#' "$JOBS" | grep . | awk '{print $1 "-s" $3}')
  todo=$(for r in $order; do echo "$runs" | grep -qx "$r" && echo "$r"; done)
  # seconds left for evaluations, at least 1 (`timeout 0` would mean no limit)
  left() { local l=$((end - $(date +%s) - 60)); echo $((l > 0 ? l : 1)); }
  first=$(echo "$todo" | head -1)
  [ -n "$first" ] && timeout "$(left)" bash "$here/device.sh" inception "$W/$first"
  echo "$todo" | tail -n +2 | grep . | timeout "$(left)" xargs -P "$P_INC" -I{} \
    bash "$here/device.sh" inception "$W/{}"
  summary > "$out/summary.txt"
  # FID extraction speed on this card, alone: ours (float32, bfloat16) beside PyTorch eager
  if [ "$(date +%s)" -lt $((end - 150)) ] && [ "$DEV" = cuda ]; then
    for rep in 1 2; do
      for f in inception-v3-fid inception-v3-fid-bf16; do
        rm -rf "$GAN_CACHE/features"
        "$G" eval --metrics fid --features $f --device $DEV fashion-mnist:test:0:5000 fashion-mnist:test:5000:10000 2>&1 \
          | sed -n "s/.*features at \([0-9.]*\) images.*/RESULT ours-$f images_per_s \1/p"
      done
      for s in default best bf16; do
        python3 "$root/scripts/fid_reference_throughput.py" "$GAN_CACHE/fid/default_1.pt" 10000 $s cuda
      done
    done 2>&1 | tee "$W/fid-speed.txt"
  fi
  summary > "$out/summary.txt"
  (cd "$W" && timeout 30 tar -cJf "$out/lucic-gpu.tar.xz" events.txt queue.log fid-speed.txt ./*.log \
    ./*/config.toml ./*/metrics.jsonl ./*/proxy.txt ./*/inception.txt ./*/summary.json ./*/eval.jsonl \
    ./*/samples 2>/dev/null)
  cat "$out/summary.txt"
  ls -la "$out"
  ;;
esac
