#!/bin/bash
# One command for the peer comparison: wanwu vs ONNX Runtime (onnxruntime-node, CPU) vs PyTorch, same
# machine, one run. Builds bin/wanwu, installs onnxruntime-node into bench/node_modules if missing,
# then runs bench/harness.py with the arguments given (it exports the ONNX models it needs with
# `make models/<name>/model.onnx` when they are missing or older than the exporter).
#   bash bench/run.sh --quick      MobileNetV2 + ResNet-50 at 224 (minutes)
#   bash bench/run.sh              the full matrix (long)
#   bash bench/run.sh --help       every option
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3 # Debian's Python, the one with python3-torch
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  exec "$PY" bench/harness.py --help
fi

echo "== build bin/wanwu"
make --no-print-directory build

if [ ! -f bench/node_modules/onnxruntime-node/package.json ]; then
  echo "== onnxruntime-node (package-lock.json pins 1.30.0)"
  # The CPU library ships in the npm package; skip the post-install download of GPU providers.
  (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
fi

echo "== harness"
exec "$PY" bench/harness.py "$@"
