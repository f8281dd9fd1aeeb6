#!/usr/bin/env bash
# Everything that needs a GPU, in one run (a lent GPU machine or any CUDA machine with CuPy and
# PyTorch installed): `dllab doctor` with the kernel self-test, the GPU test suite, the GPU
# benchmarks. Results go to $OUT (default artifacts/gpu/): doctor.txt, pytest.txt, gpu.json, gpu.md.
#
#     bash benchmarks/gpu_check.sh            # from the repository root
#
# It installs nothing: dllab is used from the checkout (PYTHONPATH), with the machine's NumPy,
# CuPy, PyTorch, matplotlib, tqdm, pytest and hypothesis. Exit status: non-zero if a step failed.
set -u -o pipefail
cd "$(dirname "$0")/.."
out=${OUT:-artifacts/gpu}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
py=${PYTHON:-python3}
status=0

echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/nvidia-smi.txt"
# the timeouts add up to 8 minutes: with a machine's start that stays inside a 15-minute lease
echo "== dllab doctor"; DLLAB_DEVICE=auto timeout 60 "$py" -m dllab.cli doctor 2>&1 | tee "$out/doctor.txt" || status=1
echo "== GPU test suite"
timeout 240 "$py" -m pytest -q -p no:cacheprovider -o addopts="-ra" \
  tests/library/test_kernels.py tests/library/test_kernels_compile.py 2>&1 | tee "$out/pytest.txt" || status=1
echo "== GPU benchmarks"
timeout 180 "$py" benchmarks/bench_gpu.py --json "$out/gpu.json" --markdown "$out/gpu.md" 2>&1 \
  | tee "$out/bench.txt" || status=1
echo "gpu_check: exit status $status (results in $out)"
exit $status
