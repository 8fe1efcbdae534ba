#!/bin/sh
# RSS over 1,000 photos in one `wanwu classify` process: VmRSS sampled every 0.2 s; prints the samples
# after warm-up (first 10%) and at the end. Flat = the last sample within a few MiB of the first.
#   sh bench/memory/longrun.sh [bin/wanwu] [models/mobilenet_v2/model.onnx] [photo]
BIN=${1:-bin/wanwu}; MODEL=${2:-models/mobilenet_v2/model.onnx}; PHOTO=${3:-../shared/images/cat_720p.jpg}
set -- ; i=0; while [ $i -lt 1000 ]; do set -- "$@" "$PHOTO"; i=$((i+1)); done
"$BIN" classify --model "$MODEL" --format jsonl "$@" > /tmp/longrun.$$ &
PID=$!
while kill -0 $PID 2>/dev/null; do
  rss=$(awk '/VmRSS/{print $2}' /proc/$PID/status 2>/dev/null); hwm=$(awk '/VmHWM/{print $2}' /proc/$PID/status 2>/dev/null)
  done_n=$(wc -l < /tmp/longrun.$$)
  [ -n "$rss" ] && echo "images $done_n VmRSS ${rss} kB VmHWM ${hwm} kB"
  sleep 0.2
done
wait $PID; echo "classified $(wc -l < /tmp/longrun.$$) photos, exit $?"; rm -f /tmp/longrun.$$
