#!/bin/bash
# The int8 session of docs/performance.md: ResNet-50 at 224, batch 1, 1 and 2 threads, wanwu fp32,
# wanwu int8 with dynamic activation scales, wanwu int8 with static scales calibrated on DIR, and ONNX
# Runtime fp32, in one harness run, with the FMA peak (../shared/bench/cpu_peak.c) and the VNNI peak
# (bench/cpu_peak_vnni.c) measured before and after it.
#   bash bench/int8.sh [DIR]     DIR: calibration photos (default ../shared/images)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-../shared/images}
mkdir -p bin
gcc -O2 -mavx512f -fopenmp ../shared/bench/cpu_peak.c -o bin/cpu_peak
gcc -O2 -mavx512f -mavx512vnni -fopenmp bench/cpu_peak_vnni.c -o bin/cpu_peak_vnni
peaks() { echo "== cpu_peak ($1)"; bin/cpu_peak; echo "== cpu_peak_vnni ($1)"; bin/cpu_peak_vnni; }
peaks before
bash bench/run.sh --models resnet50 --sizes 224 --threads 1,2 --batches 1 \
  --frameworks wanwu,wanwu-int8,wanwu-int8s,ort --calibrate "$DIR" --markdown
peaks after
