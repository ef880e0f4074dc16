#!/usr/bin/env bash
# Rebuilds testFixtures/models/arith-tiny end to end: train (seeded, fixed step count), export to ONNX,
# evaluate on the held-out problems, then write the 8-bit and 4-bit exports beside model.onnx. Needs Debian's torch (see README.md); ~17 min on 2 shared CPU cores.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-/usr/bin/python3}
WORK_DIR=${WORK_DIR:-../../artifacts/model-build}   # checkpoint and logs; artifacts/ is git-ignored
OUT_DIR=../../testFixtures/models/arith-tiny
export OMP_WAIT_POLICY=PASSIVE   # idle OpenMP threads must not spin against the other core's work
mkdir -p "$WORK_DIR" "$OUT_DIR"
"$PYTHON" train.py "$WORK_DIR"
"$PYTHON" export.py "$WORK_DIR" "$OUT_DIR"
"$PYTHON" evaluate.py "$WORK_DIR" "$OUT_DIR"
"$PYTHON" quantize.py "$OUT_DIR"
