"""torch's threads: the idle cores, at least one, unless OMP_NUM_THREADS says otherwise."""

import subprocess
import sys
import time

import pytest
import torch

from solutions.tooling import threads


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("busy, expected", [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (2.0, 1), (3.5, 1)])
def test_the_cores_that_others_keep_busy_are_left_to_them(busy, expected, monkeypatch, torch_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(threads, "busy_cores", lambda: busy)
    assert threads.set_torch_threads() == expected == torch.get_num_threads()


def test_omp_num_threads_and_an_explicit_number_decide_instead(monkeypatch, torch_threads):
    monkeypatch.setattr(threads, "busy_cores", lambda: 2.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.set_torch_threads() == 3 == torch.get_num_threads()
    assert threads.set_torch_threads(2) == 2 == torch.get_num_threads()


def test_busy_cores_sees_a_process_that_keeps_a_core_busy():
    spin = "import time\nend = time.time() + 5\nwhile time.time() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.5)  # past the interpreter's start
        busy = threads.busy_cores(interval=0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.7 <= busy <= threads.os.cpu_count()
