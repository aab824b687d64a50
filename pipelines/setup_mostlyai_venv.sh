#!/usr/bin/env bash
# The virtual environment in which pipelines/bench_real_tables.py runs MOSTLY AI's TabularARGN
# (mostlyai-engine) beside synthkit: .venvs/mostlyai at the repository root. The engine lives
# in its own environment because it pins torch, transformers and friends that synthkit does
# not need; the benchmark calls pipelines/baselines/mostlyai_runner.py with this venv's python.
#
#   bash pipelines/setup_mostlyai_venv.sh        (re-running it reuses the venv)
#
# torch is pinned and installed first: torch==2.13.0 resolves to a local CPU build in seconds
# on this project's machines, where an unpinned torch would pull a multi-GB CUDA build; the
# engine accepts it (it requires torch>=2.13,<2.14). The engine also requires torchvision and
# torchaudio, which pip takes from PyPI built for the CUDA torch; the engine's tabular model
# does not import them, and they do not load against the CPU torch, so they are uninstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
ENGINE_VERSION=2.7.3
VENV=.venvs/mostlyai

if [ ! -x "$VENV/bin/python" ]; then
    python3.11 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION"
"$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION" "mostlyai-engine==$ENGINE_VERSION"
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio
"$VENV/bin/python" -c "from mostlyai import engine; import torch; print('mostlyai-engine', engine.__version__ if hasattr(engine, '__version__') else '$ENGINE_VERSION', 'torch', torch.__version__)"
