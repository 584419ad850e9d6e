"""How many environment steps each agent needs to solve InvertedPendulum-v5, per seed.

Each run trains with the agent's default config, and every `--eval-every` environment steps
evaluates the deterministic policy over 10 episodes (fixed evaluation seeds). A run solves the task
at the first evaluation whose mean return is >= 950. The runs go through the sweep
(`solutions.tooling.sweep`): one Ray task per run, one CPU and one thread each, on every core of this machine
(or of the cluster at `--address`); a rerun skips the runs already finished in `--runs`.

    python benchmarks/sample_efficiency.py --algos ddpg td3 sac sac_fixed_alpha --seeds 0 1 2 3 4

writes benchmarks/results/sample_efficiency.json and .md (the table quoted in the README).
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from solutions.tooling.summary import steps_to_reach
from solutions.tooling.sweep import require_all_finished, run_spec, run_sweep

ENV_ID = "InvertedPendulum-v5"
SOLVED = 950.0
# Each variant: the agent, its config overrides, its hidden layers and its step budget.
VARIANTS = {
    "ddpg": ("ddpg", {}, 20_000),
    "ddpg_two_updates": ("ddpg", {"updates_per_step": 2}, 20_000),
    "td3": ("td3", {}, 15_000),
    "sac": ("sac", {"learn_alpha": True}, 15_000),
    "sac_fixed_alpha": ("sac", {"learn_alpha": False}, 15_000),
}


def run_all(variants, seeds, eval_every, hidden_sizes, runs_dir, address=None):
    """Every (variant, seed) run through the sweep, each stopped once solved; one row per run."""
    specs = [run_spec(VARIANTS[v][0], ENV_ID, seed, variant=v, config=VARIANTS[v][1], steps=VARIANTS[v][2],
                      eval_every=eval_every, hidden_sizes=hidden_sizes, stop_at_return=SOLVED)
             for v in variants for seed in seeds]
    records = run_sweep(specs, runs_dir, address=address, threshold=SOLVED)
    require_all_finished(records)
    return [{"variant": r["spec"]["variant"], "seed": r["spec"]["seed"], "budget": r["spec"]["steps"],
             "solved_at": steps_to_reach(r, SOLVED), "train_seconds": round(r["timing"]["train_seconds"], 1),
             "curve": [(steps, mean) for steps, mean, _ in r["evaluations"]]} for r in records]


def table(results):
    lines = [
        "| agent | budget | solved (seeds) | median steps to solve | steps to solve per seed | train s per seed |",
        "|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        runs = sorted((r for r in results if r["variant"] == variant), key=lambda r: r["seed"])
        if not runs:
            continue
        steps = [r["solved_at"] for r in runs]
        # an unsolved run counts as "more than the budget" for the median
        median = np.median([s if s is not None else np.inf for s in steps])
        median_text = f"{median:,.0f}" if np.isfinite(median) else f"> {runs[0]['budget']:,}"
        per_seed = ", ".join(f"{s:,}" if s is not None else "—" for s in steps)
        times = ", ".join(f"{r['train_seconds']:.0f}" for r in runs)
        solved = sum(s is not None for s in steps)
        budget = f"{runs[0]['budget']:,}"
        lines.append(f"| {variant} | {budget} | {solved}/{len(runs)} | {median_text} | {per_seed} | {times} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--hidden", nargs="+", type=int, default=[256, 256])
    parser.add_argument("--address", help="a Ray cluster's address (default: Ray on this machine's cores)")
    parser.add_argument("--runs", default="runs/sweeps/sample_efficiency", help="the sweep's folder of runs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sample_efficiency"))
    args = parser.parse_args()
    results = run_all(args.algos, args.seeds, args.eval_every, args.hidden, args.runs, args.address)
    header = (f"InvertedPendulum-v5, evaluated mean return >= {SOLVED:.0f} over 10 episodes, checked every "
              f"{args.eval_every} environment steps; hidden layers {args.hidden}; one thread per run, "
              f"one run per CPU through the sweep ({os.cpu_count()}-CPU machine); torch {torch.__version__}.")
    Path(args.out + ".json").write_text(json.dumps({"header": header, "results": results}, indent=1) + "\n")
    Path(args.out + ".md").write_text(header + "\n\n" + table(results) + "\n")
    print(header + "\n\n" + table(results))


if __name__ == "__main__":
    main()
