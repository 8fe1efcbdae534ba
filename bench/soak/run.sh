#!/bin/sh
# Load and soak test of `wanwu serve` on loopback: 60 s at concurrency 16 with good photos, corrupt files,
# oversized bodies and pixel bombs, first without a memory cap, then with the server in a hard 300 MB
# memory cap (systemd-run --scope -p MemoryMax, else a cgroup v2 or v1 directory created here, else
# prlimit --as). Passes when there is no 5xx other than admission 503s, RSS grows < 5% after warm-up and
# the capped server is not OOM-killed. Bounded: each run stops by itself after DURATION (and 200k requests).
# Usage: bench/soak/run.sh            (env: MODEL, DURATION=60s, CONC=16, CAP=300M, CAP_BUDGET=240MiB, OUT)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED:-$root/../shared}
model=${MODEL:-mobilenet_v2_1.0_224_quant}
duration=${DURATION:-60s}
conc=${CONC:-16}
cap=${CAP:-300M}
cap_budget=${CAP_BUDGET:-240MiB}
port=${PORT:-18790}
out=${OUT:-$here/out}
mkdir -p "$out"
tmp=$(mktemp -d)
pid=
cg=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	[ -n "$cg" ] && [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/wanwu" ./cmd/wanwu && go build -o "$tmp/soak" ./bench/soak)
export WANWU_HOME="$tmp/home" WANWU_MIRROR="$shared/models"

wait_ready() {
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "server did not become ready" >&2
			cat "$1" >&2
			exit 1
		fi
		sleep 0.1
	done
}

soak() { # $1 label
	"$tmp/soak" -url "http://127.0.0.1:$port" -pid "$pid" -c "$conc" -d "$duration" -images "$shared/images" \
		-label "$1" -json "$out/$1.json" || status=1
}
status=0

# 1. No cap.
"$tmp/wanwu" serve --addr "127.0.0.1:$port" --model "$model" --budget 1GiB 2>"$out/serve-nocap.log" &
pid=$!
wait_ready "$out/serve-nocap.log"
soak nocap
kill -TERM "$pid"; wait "$pid" || { echo "uncapped server exited $?" >&2; status=1; }
pid=

# 2. Hard memory cap.
serve_capped="$tmp/wanwu serve --addr 127.0.0.1:$port --model $model --budget $cap_budget"
how=
if systemd-run --scope -q -p MemoryMax="$cap" true 2>/dev/null; then
	how="systemd-run --scope -p MemoryMax=$cap"
	systemd-run --scope -q -p MemoryMax="$cap" $serve_capped 2>"$out/serve-cap.log" &
	pid=$!
elif [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
	mkdir "/sys/fs/cgroup/wanwu-soak-$$" 2>/dev/null; then
	cg="/sys/fs/cgroup/wanwu-soak-$$"
	how="cgroup v2 $cg memory.max=$cap"
	echo "$cap" >"$cg/memory.max"
	echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $serve_capped" 2>"$out/serve-cap.log" &
	pid=$!
elif mkdir "/sys/fs/cgroup/memory/wanwu-soak-$$" 2>/dev/null; then
	cg="/sys/fs/cgroup/memory/wanwu-soak-$$"
	how="cgroup v1 $cg memory.limit_in_bytes=$cap"
	echo "$cap" >"$cg/memory.limit_in_bytes"
	echo "$cap" >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $serve_capped" 2>"$out/serve-cap.log" &
	pid=$!
else
	how="prlimit --as=$cap (address space, not RSS: a weaker cap)"
	prlimit --as="$(numfmt --from=iec "$cap")" $serve_capped 2>"$out/serve-cap.log" &
	pid=$!
fi
echo "cap: $how"
wait_ready "$out/serve-cap.log"
soak cap
if kill -0 "$pid" 2>/dev/null; then
	echo "capped server alive after the run"
else
	echo "capped server DIED during the run" >&2
	status=1
fi
if [ -n "$cg" ]; then
	for f in memory.events memory.peak memory.max_usage_in_bytes memory.failcnt memory.oom_control; do
		[ -r "$cg/$f" ] && echo "$f: $(tr '\n' ' ' <"$cg/$f")"
	done
	if grep -qE '^oom_kill [1-9]' "$cg/memory.events" "$cg/memory.oom_control" 2>/dev/null; then
		echo "OOM kill in the cgroup" >&2
		status=1
	fi
fi
grep -c '"status":503' "$out/serve-cap.log" | sed 's/^/503s logged by the capped server: /'
kill -TERM "$pid"; wait "$pid" || { echo "capped server exited $?" >&2; status=1; }
pid=
exit $status
