"""How many torch threads a run should take: 1 or 2, alone on the machine and beside a busy neighbour.

Each measurement is SAC training on InvertedPendulum-v5 (the `make demo` run: environment steps and one
update per step, networks 256-256, batch 256) in its own process with torch set to 1 or 2 threads,
counting environment steps per second over `--seconds` seconds after a warm-up. "Beside a neighbour":
a second process runs the same training with 2 threads (torch's default on 2 cores, as a notebook left
running has) during the whole measurement. The conditions alternate, `--rounds` times, so that the
machine's other load falls on all of them alike; the table gives the median of the rounds and the
ratios to 1 thread alone measured in the same rounds. `auto` is what solutions/tooling/threads.py picks.

    python benchmarks/threads.py --rounds 3 --seconds 20

writes benchmarks/results/threads.json and .md.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"
WORKER = """
import sys, time, torch, gymnasium as gym
from solutions.tooling.registry import make_agent
from solutions.tooling.threads import set_torch_threads
threads, seconds = sys.argv[1], float(sys.argv[2])
set_torch_threads(None if threads == "auto" else int(threads))
torch.manual_seed(0)
env = gym.make("InvertedPendulum-v5")
agent = make_agent("sac", env, {"seed": 0, "tqdm_disable": True, "delay_learning": 300})
agent.train(env, 400)  # warm-up: past the random steps, into the updates
start, steps = time.perf_counter(), 0
while time.perf_counter() - start < seconds:
    agent.train(env, 25)
    steps += 25
print(torch.get_num_threads(), steps / (time.perf_counter() - start), flush=True)
"""


def measure(threads, neighbour, seconds):
    """(torch threads used, environment steps per second) of one worker; with a neighbour training beside it."""
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    beside = None
    if neighbour:
        beside = subprocess.Popen([sys.executable, "-c", WORKER, "2", str(seconds * 10)], env=environment,
                                  stdout=subprocess.DEVNULL)
        time.sleep(5)  # the neighbour is past its imports and training when the measurement starts
    try:
        output = subprocess.run([sys.executable, "-c", WORKER, str(threads), str(seconds)], env=environment,
                                capture_output=True, text=True, check=True).stdout.split()
    finally:
        if beside is not None:
            beside.kill()
            beside.wait()
    return int(output[0]), float(output[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    conditions = [(threads, neighbour) for neighbour in (False, True) for threads in ("1", "2", "auto")]
    rows = {condition: [] for condition in conditions}
    for round_index in range(args.rounds):
        for condition in conditions:
            used, rate = measure(*condition, args.seconds)
            rows[condition].append({"threads_used": used, "steps_per_second": rate})
            print(f"round {round_index + 1}: threads {condition[0]}, neighbour {condition[1]}: "
                  f"{used} used, {rate:.1f} steps/s", flush=True)
    table = []
    for threads, neighbour in conditions:
        rates = [row["steps_per_second"] for row in rows[(threads, neighbour)]]
        baseline = [row["steps_per_second"] for row in rows[("1", neighbour)]]
        table.append({"threads": threads, "neighbour": neighbour,
                      "threads_used": [row["threads_used"] for row in rows[(threads, neighbour)]],
                      "median_steps_per_second": statistics.median(rates),
                      "ratio_to_1_thread": statistics.median(r / b for r, b in zip(rates, baseline))})
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "threads.json").write_text(json.dumps({"machine": machine, "rounds": args.rounds,
                                                      "seconds": args.seconds, "rows": table}, indent=1) + "\n")
    lines = [f"Command: `python benchmarks/threads.py --rounds {args.rounds} --seconds {args.seconds:g}`", "",
             f"{machine}; SAC on InvertedPendulum-v5 (make demo's run), environment steps per second over "
             f"{args.seconds:g} s, median of {args.rounds} alternating rounds; the neighbour is the same training "
             "with 2 threads in another process.", "",
             "| torch threads | neighbour | threads used | steps/s | ratio to 1 thread, same rounds |",
             "|---|---|---|---|---|"]
    for row in table:
        used = ", ".join(map(str, row["threads_used"]))
        lines.append(f"| {row['threads']} | {'yes' if row['neighbour'] else 'no'} | {used} | "
                     f"{row['median_steps_per_second']:.1f} | {row['ratio_to_1_thread']:.2f} |")
    (RESULTS / "threads.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
