#!/bin/sh
# End-to-end test of the web page in headless Chromium: builds wanwu, serves the default model on a
# loopback port, uploads ../shared/images/parrot.jpg through the page and checks that the top label is
# 金刚鹦鹉. Needs Debian's chromium (apt-get install chromium) and npm (installs playwright-core here,
# git-ignored). The screenshot goes to internal/server/e2e/out/parrot.png (git-ignored).
# Run from anywhere: internal/server/e2e/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shared=${SHARED:-$root/../shared}
port=${PORT:-18780}
out="$here/out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm install --no-audit --no-fund --silent)
(cd "$root" && go build -o "$tmp/wanwu" ./cmd/wanwu)
WANWU_HOME="$tmp/home" WANWU_MIRROR="$shared/models" "$tmp/wanwu" serve --addr "127.0.0.1:$port" \
	--budget 512MiB --log-format text 2>"$out/serve.log" &
pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "server did not become ready:" >&2
		cat "$out/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done
node "$here/page.mjs" "http://127.0.0.1:$port/" "$shared/images/parrot.jpg" "金刚鹦鹉" "$out/parrot.png"
