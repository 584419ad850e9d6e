"""CrossQ against SAC on InvertedPendulum-v5: evaluated returns at equal environment steps.

Both agents train with their default configs (the same hidden layers, batch size and learning
start) for the same budget of environment steps, without stopping early; every `--eval-every`
steps the deterministic policy is evaluated over 10 episodes with fixed seeds. The runs go through
the sweep (`solutions.tooling.sweep`: one Ray task, one CPU and one thread per run, on every core of this
machine or of the cluster at `--address`); a rerun skips the runs already finished in `--runs`.

    python benchmarks/going_further.py --seeds 0 1 2 3 4 --steps 10000

writes benchmarks/results/going_further.{json,md,png} (quoted in the README and notebook 4).
"""

import argparse
import json
from pathlib import Path

import matplotlib
import numpy as np
import torch

from solutions.tooling.sweep import grid, require_all_finished, run_sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

ENV_ID = "InvertedPendulum-v5"
ALGOS = ["sac", "crossq"]
SOLVED = 950.0


def run_all(seeds, steps, eval_every, runs_dir, address=None):
    """Both agents at every seed through the sweep, for the whole budget; one row per run."""
    specs = grid(ALGOS, [ENV_ID], seeds, steps=steps, eval_every=eval_every, hidden_sizes=[256, 256])
    records = run_sweep(specs, runs_dir, address=address, threshold=SOLVED)
    require_all_finished(records)
    return [{"algo": r["spec"]["algo"], "seed": r["spec"]["seed"],
             "train_seconds": round(r["timing"]["train_seconds"], 1),
             "curve": [(s, round(mean, 1)) for s, mean, _ in r["evaluations"]]} for r in records]


def returns_by_step(results, algo):
    """{steps: [evaluated return of each seed]} for one agent."""
    by_step = {}
    for r in results:
        if r["algo"] == algo:
            for step, mean in r["curve"]:
                by_step.setdefault(step, []).append(mean)
    return dict(sorted(by_step.items()))


def first_solved(curve):
    return next((step for step, mean in curve if mean >= SOLVED), None)


def table(results):
    steps = list(returns_by_step(results, ALGOS[0]))
    lines = ["| agent | " + " | ".join(f"{s // 1000}k" for s in steps) + " | solved at (per seed) | train s per seed |",
             "|---|" + "---|" * len(steps) + "---|---|"]
    for algo in ALGOS:
        runs = sorted((r for r in results if r["algo"] == algo), key=lambda r: r["seed"])
        cells = " | ".join(f"{np.mean(v):.0f} ± {np.std(v):.0f}" for v in returns_by_step(results, algo).values())
        solved = ", ".join(f"{s:,}" if s else "—" for s in (first_solved(r["curve"]) for r in runs))
        seconds = ", ".join(f"{r['train_seconds']:.0f}" for r in runs)
        lines.append(f"| {algo} | {cells} | {solved} | {seconds} |")
    return "\n".join(lines)


def plot(results, path):
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo in ALGOS:
        by_step = returns_by_step(results, algo)
        steps = np.array(list(by_step))
        values = np.array(list(by_step.values()))
        mean, std = values.mean(axis=1), values.std(axis=1)
        ax.plot(steps, mean, marker="o", label=f"{algo.upper() if algo == 'sac' else 'CrossQ'} "
                                               f"(mean of {values.shape[1]} seeds)")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.axhline(SOLVED, color="grey", linestyle="--", linewidth=1, label=f"solved ({SOLVED:.0f})")
    ax.set(xlabel="environment steps", ylabel="evaluated return (10 episodes)", title=ENV_ID)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--address", help="a Ray cluster's address (default: Ray on this machine's cores)")
    parser.add_argument("--runs", default="runs/sweeps/going_further", help="the sweep's folder of runs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "going_further"))
    args = parser.parse_args()
    results = run_all(args.seeds, args.steps, args.eval_every, args.runs, args.address)
    header = (f"{ENV_ID}: evaluated mean return (10 episodes, deterministic policy) at equal environment "
              f"steps, mean ± std over seeds {args.seeds}; default configs, hidden layers [256, 256]; one thread "
              f"per run, one run per CPU through the sweep; torch {torch.__version__}.")
    Path(args.out + ".json").write_text(json.dumps({"header": header, "results": results}, indent=1) + "\n")
    Path(args.out + ".md").write_text(header + "\n\n" + table(results) + "\n")
    plot(results, args.out + ".png")
    print(header + "\n\n" + table(results))


if __name__ == "__main__":
    main()
