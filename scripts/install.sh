#!/usr/bin/env bash
# Creates ./.venv and installs segbench with its whole stack; safe to run again.
#   bash scripts/install.sh          # segbench
#   bash scripts/install.sh --test   # segbench plus the test extra (pytest, pytest-benchmark, hypothesis)
# torch goes first, then sam2: sam2 ships as source only, and an isolated build would pull a second
# torch, so it is built against the installed one, without its optional CUDA extension by default
# (SAM2_BUILD_CUDA=1 on a machine with nvcc builds it; `segbench doctor` says what it adds).
set -euo pipefail
cd "$(dirname "$0")/.."
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# Building sam2 without isolation needs setuptools in the venv; Python 3.12+ venvs come without it.
"${pip[@]}" "setuptools>=68" wheel
"${pip[@]}" "torch==${TORCH_VERSION:-2.14.1}" "torchvision==${TORCHVISION_VERSION:-0.29.1}"
SAM2_BUILD_CUDA="${SAM2_BUILD_CUDA:-0}" "${pip[@]}" --no-build-isolation "sam2==1.1.0"
"${pip[@]}" -e ".${extra}"
