"""CPU speed of two checkouts of this repository side by side in one run: does a change make anything slower?

Alternates child processes (A B, B A, ...), each with PYTHONPATH on one tree and one torch thread; each child
measures, with that tree's benchmarks/speed.py: updates per second of each agent (speed.py's
`updates_per_second`, best of 3 rounds of 100 updates, chapter settings: batch 256, layers of 256), and
environment steps per second of the training loop (`agent.train` on InvertedPendulum-v5, 1,500 steps of
which 500 with updates); each in wall time and in the process's CPU time (`cpu_...`), which the other
sessions' load on this shared machine disturbs less.

    git worktree add /tmp/before <commit before the change>
    .venv/bin/python benchmarks/speed_before_after.py --before /tmp/before --after . --pairs 4 \
        --out benchmarks/results/speed_before_after.json

prints the table of ratios (after / before) and writes every child's figures into --out.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

CHILD = r'''
import json, sys, time
import torch
torch.set_num_threads(1)
import solutions, speed
from solutions.tooling.registry import make_agent
import gymnasium as gym
env, transitions = speed.random_transitions(n=3000)
out = {"solutions": solutions.__file__}
def cpu_updates_per_second(agent, n_updates):
    """speed.updates_per_second, timed in this process's CPU time: other processes' load counts less."""
    for _ in range(20):
        agent.update()
    start = time.process_time()
    for _ in range(n_updates):
        agent.update()
    return n_updates / (time.process_time() - start)
for algo in ALGOS:
    agent = speed.our_agent(algo, env, transitions)
    out[algo + "_updates_per_s"] = max(speed.updates_per_second(agent, 100) for _ in range(3))
    out[algo + "_cpu_updates_per_s"] = max(cpu_updates_per_second(agent, 100) for _ in range(3))
    torch.manual_seed(0)
    train_env = gym.make(speed.ENV_ID)
    agent = make_agent(algo, train_env, {"tqdm_disable": True, "seed": 0, "delay_learning": 1000})
    start, cpu_start = time.perf_counter(), time.process_time()
    agent.train(train_env, 1500)
    out[algo + "_loop_steps_per_s"] = 1500 / (time.perf_counter() - start)
    out[algo + "_cpu_loop_steps_per_s"] = 1500 / (time.process_time() - cpu_start)
print(json.dumps(out))
'''


def child(tree, algos):
    env = {**os.environ, "PYTHONPATH": f"{tree}:{tree}/benchmarks", "OMP_NUM_THREADS": "1"}
    code = f"ALGOS = {algos!r}\n" + CHILD
    # cwd /tmp: `python -c` puts the working directory first on sys.path, before PYTHONPATH.
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                            cwd="/tmp")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the checkout without the change")
    parser.add_argument("--after", required=True, help="the checkout with it")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac", "crossq"])
    parser.add_argument("--out", default="speed_before_after.json")
    args = parser.parse_args()
    trees = {"main": os.path.abspath(args.before), "branch": os.path.abspath(args.after)}
    runs = {name: [] for name in trees}
    start = time.time()
    for pair in range(args.pairs):
        order = ["main", "branch"] if pair % 2 == 0 else ["branch", "main"]  # A B, B A: drifts cancel
        for name in order:
            result = child(trees[name], args.algos)
            assert result["solutions"].startswith(trees[name]), result["solutions"]
            runs[name].append(result)
            print(name, {k: round(v) for k, v in result.items() if k != "solutions"}, flush=True)
    rows = []
    for algo in args.algos:
        for measure in ("updates_per_s", "cpu_updates_per_s", "loop_steps_per_s", "cpu_loop_steps_per_s"):
            key = f"{algo}_{measure}"
            main_values = [r[key] for r in runs["main"]]
            branch_values = [r[key] for r in runs["branch"]]
            rows.append({"agent": algo, "measure": measure, "main_best": max(main_values),
                         "branch_best": max(branch_values), "ratio_of_bests": max(branch_values) / max(main_values),
                         "median_pair_ratio": float(np.median(np.array(branch_values) / np.array(main_values)))})
    json.dump({"pairs": args.pairs, "seconds": time.time() - start, "runs": runs, "rows": rows},
              open(args.out, "w"), indent=1)
    print("| agent | measure | main (best) | branch (best) | branch / main (bests) | branch / main (median of pairs) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['agent']} | {row['measure']} | {row['main_best']:.0f} | {row['branch_best']:.0f} | "
              f"{row['ratio_of_bests']:.3f} | {row['median_pair_ratio']:.3f} |")
    print(f"{time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
