#!/bin/sh
# Throughput of `wanwu serve` with and without micro-batching at concurrency 1, 4 and 16 (good photos
# only, loopback, DURATION per cell). Batching needs a model with a dynamic batch dimension (the ONNX
# fixtures in testdata/models); fixed-batch TFLite models always run with max-batch 1.
# Usage: bench/soak/batching.sh   (env: MODELS, DURATION=10s, MAX_BATCH=8, MAX_WAIT=5ms)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED:-$root/../shared}
models=${MODELS:-"$root/testdata/models/resnet50_tiny/model.onnx $root/testdata/models/mobilenet_v2_tiny/model.onnx"}
duration=${DURATION:-10s}
port=${PORT:-18791}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/wanwu" ./cmd/wanwu && go build -o "$tmp/soak" ./bench/soak)
printf '%-22s %-10s %5s %12s %10s %10s\n' model max-batch conc images/s p50_ms p99_ms
for model in $models; do
	for mb in 1 ${MAX_BATCH:-8}; do
		"$tmp/wanwu" serve --addr "127.0.0.1:$port" --model "$model" --budget 1GiB --max-batch "$mb" \
			--max-wait "${MAX_WAIT:-5ms}" 2>"$tmp/serve.log" &
		pid=$!
		until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
			kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
			sleep 0.1
		done
		for c in 1 4 16; do
			"$tmp/soak" -url "http://127.0.0.1:$port" -c "$c" -d "$duration" -mix good=1 -images "$shared/images" \
				-json "$tmp/r.json" >/dev/null
			name=$(basename "$(dirname "$model")")
			[ "$name" = . ] && name=$model
			/usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/r.json')); print('%-22s %-10s %5d %12.1f %10.1f %10.1f' % ('$name', '$mb', $c, d['ok_per_s'], d['ok_p50_ms'], d['ok_p99_ms']))"
		done
		kill -TERM "$pid"; wait "$pid" || true
		pid=
	done
done
