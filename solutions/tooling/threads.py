"""How many threads torch uses: the cores that no other program is busy with, chosen once per process.

torch starts with one thread per core. On a machine where something else already runs (a notebook
beside `make demo`, a second run, a student's browser), its threads and the other program's fight for
the cores, and a small network's update, split into chunks too short to share, slows down many times
over (benchmarks/results/threads.md). So each process of this package takes the idle cores only: the
cores it may run on, less those that the whole machine kept busy over the last quarter of a second
(Linux's /proc/stat; elsewhere the 1-minute load average), and at least one. OMP_NUM_THREADS, when the
user sets it, decides instead.

The command line calls `set_torch_threads()` at its start, the notebooks' set-up cell too, and each
task of a sweep takes one thread (it shares the machine with the sweep's other tasks).
"""

import os
import time

import torch


def cpu_times():
    """(idle, total) jiffies of all the machine's cores together, from the first line of /proc/stat."""
    with open("/proc/stat") as stat:
        numbers = [int(field) for field in stat.readline().split()[1:]]
    idle = numbers[3] + numbers[4]  # idle and iowait
    return idle, sum(numbers[:8])  # user nice system idle iowait irq softirq steal (guest is within user)


def busy_cores(interval=0.25):
    """How many cores the machine keeps busy now, measured over `interval` seconds."""
    try:
        idle_before, total_before = cpu_times()
        time.sleep(interval)
        idle_after, total_after = cpu_times()
    except (OSError, ValueError, IndexError):  # no /proc/stat (macOS, Windows)
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    busy_share = 1 - (idle_after - idle_before) / max(total_after - total_before, 1)
    return busy_share * (os.cpu_count() or 1)


def idle_cores():
    """The cores this process may use that the rest of the machine leaves idle; at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, round(cores - busy_cores())))


def set_torch_threads(threads=None):
    """torch.set_num_threads(threads, else OMP_NUM_THREADS if set, else the idle cores); returns the number."""
    if threads is None:
        from_environment = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(from_environment) if from_environment.isdigit() and int(from_environment) > 0 else idle_cores()
    torch.set_num_threads(threads)
    return threads
