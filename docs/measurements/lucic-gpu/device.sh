#!/bin/bash
# Lucic et al.'s Fashion-MNIST table (issue 24) on a lent GPU, in two or three calls of the
# device tool, because the binary, the data and the 87 MB Inception file do not fit one transfer:
#   1. `device.sh setup`   unpacks .gpu/a (gan built against the card's libtorch 2.11, the
#                          Fashion-MNIST files, and the Inception file's first part where it
#                          fits), trains 200 steps as a smoke test, and starts `queue` in its
#                          own session so it outlives the call;
#   2. `device.sh part`    keeps .gpu/b (a middle part of the Inception file) in /tmp, where
#                          call 1 could not carry it;
#   3. `device.sh finish SECONDS`  joins the Inception file, waits for the queue (or stops it
#                          INC_RESERVE seconds before the end), scores each proxied run's best
#                          checkpoint with the Inception FID at N = 10,000, one at a time with
#                          the card to itself, times FID extraction against PyTorch eager in
#                          the SPEED_RESERVE seconds kept for it, and packs the logs into $OUT
#                          before SECONDS have passed.
# `queue` runs jobs.txt in order, P at a time. Each job and each Inception score is one call of
# `gan reproduce lucic` on the run folder $W/NAME-sSEED, as on CPU (docs/measurements/lucic/
# run.sh): a job trains and ranks the kept checkpoints with the proxy (--proxy-only); the
# Inception phase repeats the job's arguments without it, which finds the training and the
# proxy done and scores the best checkpoint.
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
# INC_ALL=1 scores every kept checkpoint with Inception (their protocol's own choice of the best;
# five per run, about 60 s each run on the H200), not only the proxy's best
inc_all=()
[ -n "${INC_ALL:-}" ] && inc_all=(--all-checkpoints)
SPEED_RESERVE=${SPEED_RESERVE:-120}  # two repetitions of the speed check
# what `finish` keeps for its last phases: 15 s per job's Inception score (11-13 s each on the
# H200 of 2026-12-04, alone on the card), the speed check, and the packing
job_lines() { grep -v '^#' "$JOBS" | grep .; }  # the job lines of jobs.txt
session() { awk '{print $6}' "/proc/$1/stat"; }  # a process's session id
INC_RESERVE=${INC_RESERVE:-$(($(job_lines | wc -l) * ${INC_ALL:+5*}15 + SPEED_RESERVE + 60))}
export W  # the phases started by this one (queue, job, inception) log to the same folder
export GAN_CACHE=${GAN_CACHE:-/tmp/cache}
G=${G:-/tmp/gan}
if [ "$DEV" = cuda ]; then
  export LD_LIBRARY_PATH="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
fi
steps=()
[ -n "${STEPS:-}" ] && steps=(--set "train.steps=$STEPS" --set "train.checkpoint_every=$((STEPS / 2))")
stamp() { echo "$(date +%s) $*" >> "$W/events.txt"; }
# one run folder $W/NAME-sSEED through `gan reproduce lucic`: NAME PRESET SEED [ARGS]
reproduce_run() {
  local name=$1 cfg=$2 seed=$3; shift 3
  "$G" reproduce lucic --out "$W" --rows "$cfg" --name "$name" --seeds "$seed" --quiet \
    --device "$DEV" --set threads=1 ${steps[@]+"${steps[@]}"} "$@"
}
summary() {
  cat "$W/events.txt"
  for r in "$W"/*/; do
    for f in "$r"/proxy*.txt "$r"/inception*.txt; do
      [ -f "$f" ] && echo "$(basename "$r") $(basename "$f" .txt): $(tr '\n' ' ' < "$f")"
    done
  done
}

case "$1" in
setup)
  mkdir -p "$W" "$GAN_CACHE/fid" /usr/share/datasets/fashion-mnist
  d=/usr/share/datasets/fashion-mnist
  cp .gpu/a/t10k-images-idx3-ubyte.gz .gpu/a/t10k-labels-idx1-ubyte.gz .gpu/a/train-labels-idx1-ubyte.gz $d/
  xz -dc .gpu/a/train-images-idx3-ubyte.xz > $d/train-images-idx3-ubyte
  xz -dc .gpu/a/gan.xz > "$G" && chmod +x "$G"
  # the first part of the Inception file, where call 1 carries it (then `part` is not needed)
  mkdir -p /tmp/parts && cp .gpu/a/inc.part* /tmp/parts/ 2>/dev/null
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
  # its session, so that `finish` stops the queue and its jobs alone (a pattern such as
  # `pkill -f "device.sh queue"` also matched, and killed, a caller whose command named it)
  session $$ > "$W/queue.sid"
  job_lines | xargs -P "$P" -L1 bash "$here/device.sh" job
  stamp queue-done
  ;;
job)
  # NAME CONFIG SEED [ARGS of gan reproduce: --set KEY=VALUE, --standing-stats K]
  shift
  run="$1-s$3"
  printf '%s\n' "$@" > "$W/$run.args"  # the job's line, for the Inception phase
  stamp "start $run"
  t=$(date +%s)
  reproduce_run "$@" --proxy-only --n "$PROXY_N" > "$W/$run.log" 2>&1
  rc=$?
  stamp "trained $run rc $rc $(($(date +%s) - t)) s"
  [ $rc = 0 ] && stamp "proxied $run"
  ;;
part)
  mkdir -p /tmp/parts && cp .gpu/b/* /tmp/parts/ && ls -la /tmp/parts
  cat "$W/events.txt"
  ;;
inception)
  run=$2
  mapfile -t job < "$W/$run.args"
  reproduce_run "${job[@]}" --n "$INC_N" ${inc_all[@]+"${inc_all[@]}"} >> "$W/$run.log" 2>&1
  stamp "inception $run rc $? $(cat "$W/$run"/inception*.txt 2>/dev/null | tr '\n' ' ')"
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
  sid=$(cat "$W/queue.sid" 2>/dev/null)
  if [ -n "$sid" ] && [ "$sid" != "$(session $$)" ]; then
    pkill -s "$sid"
  fi
  pkill -f "$G reproduce"; pkill -f "$G eval"
  sleep 2
  stamp "inception phase"
  summary > "$out/summary.txt"  # the proxies, in case the call ends during the evaluations
  # proxied runs in the order of jobs.txt
  runs=$(sed -n 's/.* proxied //p' "$W/events.txt" | sort -u)
  order=$(job_lines | awk '{print $1 "-s" $3}')
  todo=$(for r in $order; do echo "$runs" | grep -qx "$r" && echo "$r"; done)
  # seconds left for evaluations, at least 1 (`timeout 0` would mean no limit); the FID speed
  # check keeps SPEED_RESERVE of them, the packing 60
  left() { local l=$((end - $(date +%s) - 60 - SPEED_RESERVE)); echo $((l > 0 ? l : 1)); }
  # one at a time: `gan reproduce` makes extractions under one folder take turns anyway
  for r in $todo; do
    timeout "$(left)" bash "$here/device.sh" inception "$r"
  done
  "$G" reproduce lucic --out "$W" --table > /dev/null 2>&1
  summary > "$out/summary.txt"
  # FID extraction speed on this card, alone: ours (float32, bfloat16) beside PyTorch eager on
  # the same 10,000 test images, alternating (SPEED_RESERVE=0 skips it); a repetition (about
  # 45 s on the H200) starts only when 60 s are left for it before the packing's 60
  if [ "$DEV" = cuda ] && [ "$SPEED_RESERVE" -gt 0 ]; then
    echo quit | nvidia-cuda-mps-control 2>/dev/null  # each side alone on the card, as on the H100
    for rep in 1 2; do
      [ "$(date +%s)" -lt $((end - 120)) ] || break
      echo "repetition $rep"
      for f in inception-v3-fid inception-v3-fid-bf16; do
        rm -rf "$GAN_CACHE/features"
        "$G" eval --metrics fid --features $f --device $DEV fashion-mnist:test:0:5000 fashion-mnist:test:5000:10000 2>&1 \
          | sed -n -e "s/.*features at \([0-9.]*\) images.*/RESULT ours-$f images_per_s \1/p" -e "/^FID /p"
      done
      for s in default best bf16; do
        python3 "$root/scripts/fid_reference_throughput.py" "$GAN_CACHE/fid/default_1.pt" 10000 $s cuda
      done
    done 2>&1 | tee "$W/fid-speed.txt"
  fi
  summary > "$out/summary.txt"
  (cd "$W" && timeout 30 tar -cJf "$out/lucic-gpu.tar.xz" events.txt queue.log fid-speed.txt table.md ./*.log \
    ./*.args ./*/config.toml ./*/metrics.jsonl ./*/proxy*.txt ./*/inception*.txt ./*/time.txt \
    ./*/summary.json ./*/eval.jsonl \
    ./*/samples 2>/dev/null)
  cat "$out/summary.txt"
  ls -la "$out"
  ;;
esac
