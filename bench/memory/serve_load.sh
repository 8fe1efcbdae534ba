#!/bin/sh
# Resident memory of `wanwu serve` at start and after a burst of requests, against what it reserved.
#
#   sh bench/memory/serve_load.sh bin/wanwu models/resnest101_54k/model.onnx 512MiB [serve flags...]
#
# Starts the server, waits until it serves, reads VmHWM/VmRSS from /proc, sends 6 rounds of 8
# concurrent requests (photo: $PHOTO, default ../shared/images/cat.bmp), reads them again and prints the
# batch-size and reservation metrics. model_bytes in the log is the reservation (Model.PredictBatches).
bin=$1; model=$2; budget=$3; shift 3
photo=${PHOTO:-../shared/images/cat.bmp}
port=${PORT:-18089}
log=$(mktemp)
$bin serve --addr 127.0.0.1:$port --model $model --budget $budget --log-format text "$@" 2>$log &
pid=$!
while kill -0 $pid 2>/dev/null; do grep -q "msg=serving" $log && break; sleep 0.5; done
grep -o "model_bytes=[0-9]*\|max_batch=[0-9]*\|precision=[a-z0-9]*" $log | tr '\n' ' '; echo
echo "at start: $(grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
for round in $(seq 6); do
  pids=""
  for i in 1 2 3 4 5 6 7 8; do
    curl -s -o /dev/null -w "%{http_code} " -m 120 --data-binary @$photo -H 'Content-Type: image/bmp' http://127.0.0.1:$port/v1/classify &
    pids="$pids $!"
  done
  wait $pids
done
echo
echo "after 48 requests: $(grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
curl -s http://127.0.0.1:$port/metrics | grep -E "^wanwu_batch_size_(sum|count)|^wanwu_arena_bytes|^wanwu_budget_reserved"
kill $pid; wait $pid 2>/dev/null; rm -f $log
