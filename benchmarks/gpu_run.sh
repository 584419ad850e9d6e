#!/usr/bin/env bash
# Issue 19's GPU checks in one script, for a session that is lent a CUDA machine.
#
#   bash benchmarks/gpu_run.sh fetch   # here, once: the wheels the GPU machine lacks (Gymnasium, MuJoCo) into .whl/
#   bash benchmarks/gpu_run.sh         # there: the device tool's run, with carry [".whl"] and timeout_s 600
#
# There, python3 holds a CUDA build of torch and nothing can be downloaded. The script runs the CUDA tests of
# tests/test_device.py (captured update == eager, the loop with captured_update == the eager loop, no host
# synchronisation in an update), then benchmarks/gpu.py (updates per second eager, compiled, captured and on
# the CPU; the wall time to solve the pendulum), and writes the log and the results into $OUT (what the device
# tool brings back), else benchmarks/results.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = fetch ]; then
  exec python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    gymnasium==1.4.0 farama-notifications==0.0.6 mujoco==4.0.0 mujoco-core==4.0.0 mujoco-studio==4.0.0 \
    glfw==2.11.0 pyopengl==3.1.10 websockets==17.4
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MUJOCO_GL=egl
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
out="${OUT:-benchmarks/results}"
python3 -m pytest tests/test_device.py -q -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log"
tests=$?
python3 benchmarks/gpu.py --rounds 3 --updates 300 --solve-algos sac --solve-seeds 0 --out "$out/gpu" 2>&1 \
  | tee "$out/gpu_benchmark.log"
benchmark=$?
exit $((tests || benchmark))
