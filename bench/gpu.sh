#!/usr/bin/env bash
# Prepared GPU run: install, run the `gpu` tests and the GPU bench
# cases (refimpl CuPy vs torch CUDA vs the CPU paths), write the table.
#
#   bash bench/gpu.sh            # from anywhere; results in $OUT if set, else bench/
#
# Unattended and bounded (at most 6 minutes: install 120 s, tests 90 s, bench
# 150 s, plus seconds of bookkeeping): every step has a timeout, a failed
# step is recorded and the script goes on, and the results file is written at
# the end in any case. Output files:
#   gpu-results.md   the table to paste into bench/RESULTS.md (device, date, versions)
#   gpu-tests.txt    pytest -m gpu output       gpu-bench.txt / gpu-bench.json   the bench
# Environment: PYTHON (default python3), OUT (results folder), REFIMPL_GPU_SKIP_INSTALL=1 (no pip).
set -uo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
PY="${PYTHON:-python3}"
DEST="${OUT:-bench}"
mkdir -p "$DEST"
RES="$DEST/gpu-results.md"
start=$(date +%s)
status=()
step() { echo; echo "=== [$(( $(date +%s) - start ))s] $*"; }
record() { status+=("$1: $2"); }

step "install: pip install -e .[gpu,test,peers] (skipped when everything already imports)"
if [ -n "${REFIMPL_GPU_SKIP_INSTALL:-}" ]; then
    record install "skipped (REFIMPL_GPU_SKIP_INSTALL set)"
elif "$PY" -c "import cupy, torch, pytest, hypothesis, numba, scipy, sympy" 2>/dev/null; then
    timeout 60 "$PY" -m pip install -q --no-deps --no-build-isolation -e . \
        && record install "ok (dependencies present; refimpl installed editable)" \
        || record install "editable install failed; running from the source tree"
else
    if timeout 120 "$PY" -m pip install -q -e ".[gpu,test,peers]"; then
        record install "ok"
    else
        record install "FAILED or timed out (offline?); continuing with what imports"
    fi
fi

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$DEST/gpu-device.txt"
"$PY" - <<'PY' 2>&1 | tee -a "$DEST/gpu-device.txt"
try:
    import cupy as cp
    print("cupy", cp.__version__, "devices", cp.cuda.runtime.getDeviceCount(), "CUDA runtime", cp.cuda.runtime.runtimeGetVersion())
except Exception as exc:
    print("cupy unusable:", type(exc).__name__, exc)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.cuda.is_available())
except Exception as exc:
    print("torch unusable:", type(exc).__name__, exc)
PY

step "gpu tests (tests/gpu, marker gpu), then the CPU-side routing and xp tests"
timeout 90 "$PY" -m pytest tests/gpu -q -rs -p no:cacheprovider 2>&1 | tee "$DEST/gpu-tests.txt"
rc=${PIPESTATUS[0]}
record tests "exit $rc ($(tail -n 1 "$DEST/gpu-tests.txt"))"

step "GPU bench cases (python -m bench gpu)"
timeout 150 "$PY" -m bench gpu --json "$DEST/gpu-bench.json" 2>&1 | tee "$DEST/gpu-bench.txt"
rc=${PIPESTATUS[0]}
record bench "exit $rc"

step "write $RES"
{
    echo "# GPU benchmark (bench/gpu.sh)"
    echo
    echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo '```'
    cat "$DEST/gpu-device.txt" 2>/dev/null
    echo '```'
    echo
    echo "Steps:"
    for s in "${status[@]}"; do echo "- $s"; done
    echo
    echo "## Bench"
    echo
    echo '```'
    cat "$DEST/gpu-bench.txt" 2>/dev/null
    echo '```'
    echo
    echo "## gpu tests (summary)"
    echo
    echo '```'
    grep -E "passed|failed|error|SKIPPED|FAILED" "$DEST/gpu-tests.txt" 2>/dev/null | tail -n 40
    echo '```'
    echo
    echo "Total time: $(( $(date +%s) - start )) s"
} > "$RES"
cat "$RES"
