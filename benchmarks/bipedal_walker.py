"""TD3 and SAC on BipedalWalker-v3: the learning curve at a configuration for a harder task.

BipedalWalker-v3 (24-dimensional observation, 4 motor torques in [-1, 1]) is solved at an average
return of 300; a walker that falls ends its episode with -100. Each run trains the chapter's agent
with the configuration below and, every `--eval-every` environment steps, evaluates the
deterministic policy over 5 episodes (fixed evaluation seeds). The runs go through the sweep
(`solutions.tooling.sweep`: one Ray task, one CPU and one thread per run, on every core of this machine or of
the cluster at `--address`); a rerun skips the runs already finished in `--runs`.

    python benchmarks/bipedal_walker.py --algos td3 sac --seeds 0 --steps 200000 > bipedal_walker.log

writes benchmarks/results/bipedal_walker.{json,md,png} (the table and figure quoted in the README).
Every evaluation is also printed as one line; a run stopped before its budget (hours on a CPU) can be
turned into the same table and figure from those lines:

    python benchmarks/bipedal_walker.py --from-log bipedal_walker.log
"""

import argparse
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import torch

from solutions.tooling.sweep import require_all_finished, run_spec, run_sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

ENV_ID = "BipedalWalker-v3"
HIDDEN_SIZES = (256, 256)
# The pendulum's defaults change in three places for a task with long episodes and a large
# falling penalty: the papers' slower target averaging (τ = 0.005), a smaller Adam step, and
# 10,000 random steps to fill the buffer before learning (the pendulum needs only 1,000). TD3 makes
# one critic step per environment step, as in the paper and as SAC does here.
CONFIGS = {
    "td3": {"tau": 0.005, "learning_rate": 3e-4, "delay_learning": 10_000, "buffer_size": 1e6, "updates_per_step": 1},
    "sac": {"tau": 0.005, "learning_rate": 3e-4, "alpha_learning_rate": 3e-4,
            "delay_learning": 10_000, "buffer_size": 1e6},
}


def run_all(algos, seeds, steps, eval_every, runs_dir, address=None):
    """Every (agent, seed) run through the sweep, each evaluation printed as one line; one row per run."""
    specs = [run_spec(algo, ENV_ID, seed, config=CONFIGS[algo], steps=steps, eval_every=eval_every,
                      eval_episodes=5, hidden_sizes=HIDDEN_SIZES, print_evaluations=True)
             for algo in algos for seed in seeds]
    records = run_sweep(specs, runs_dir, address=address, threshold=300)
    require_all_finished(records)
    return [{"algo": r["spec"]["algo"], "seed": r["spec"]["seed"], "seconds": round(r["timing"]["wall_seconds"]),
             "curve": [(s, round(mean, 1), round(std, 1)) for s, mean, std in r["evaluations"]]} for r in records]


def results_from_log(path):
    """The runs' curves rebuilt from the lines that the sweep's runs print (for a run stopped early).
    Ray prefixes each worker's line with its task and process id: the pattern is searched, not matched."""
    line = re.compile(r"(\w+)-default-" + re.escape(ENV_ID)
                      + r"-seed(\d+):\s+(\d+) steps, return\s+(-?[\d.]+) ±\s+([\d.]+)$")
    runs = {}
    for text in Path(path).read_text().splitlines():
        match = line.search(text.strip())
        if match:
            algo, seed, steps, mean, std = match.groups()
            runs.setdefault((algo, int(seed)), []).append((int(steps), float(mean), float(std)))
    return [{"algo": algo, "seed": seed, "seconds": None, "curve": curve} for (algo, seed), curve in runs.items()]


def table(results, columns):
    lines = ["| agent | seed | " + " | ".join(f"{c // 1000}k" for c in columns) + " | best | wall time |",
             "|---|---|" + "---|" * len(columns) + "---|---|"]
    for r in sorted(results, key=lambda r: (r["algo"], r["seed"])):
        at = {step: mean for step, mean, _ in r["curve"]}
        cells = " | ".join(f"{at[c]:.0f}" if c in at else "" for c in columns)
        best = max(mean for _, mean, _ in r["curve"])
        minutes = "—" if r["seconds"] is None else f"{r['seconds'] / 60:.0f} min"
        lines.append(f"| {r['algo']} | {r['seed']} | {cells} | {best:.0f} | {minutes} |")
    return "\n".join(lines)


def plot(results, path):
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in sorted(results, key=lambda r: (r["algo"], r["seed"])):
        steps, means, _ = np.array(r["curve"]).T
        ax.plot(steps, means, label=f"{r['algo'].upper()} (seed {r['seed']})")
    ax.axhline(300, color="grey", linestyle="--", linewidth=1, label="solved (300)")
    ax.set(xlabel="environment steps", ylabel="evaluated return (5 episodes)", title=ENV_ID)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--address", help="a Ray cluster's address (default: Ray on this machine's cores)")
    parser.add_argument("--runs", default="runs/sweeps/bipedal_walker", help="the sweep's folder of runs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bipedal_walker"))
    parser.add_argument("--from-log", help="rebuild the results from the printed lines of a run stopped early")
    args = parser.parse_args()
    if args.from_log:
        results = results_from_log(args.from_log)
        args.steps = max(step for r in results for step, _, _ in r["curve"])
    else:
        results = run_all(args.algos, args.seeds, args.steps, args.eval_every, args.runs, args.address)
    columns = list(range(args.eval_every * 2, args.steps + 1, args.eval_every * 2))
    header = (f"{ENV_ID}: evaluated mean return over 5 episodes (deterministic policy), every "
              f"{args.eval_every:,} environment steps; hidden layers {list(HIDDEN_SIZES)}, batch 256, one update "
              f"per step; configs {json.dumps(CONFIGS)}; one thread per run, one run per CPU through the sweep; "
              f"torch {torch.__version__}.")
    Path(args.out + ".json").write_text(json.dumps({"header": header, "results": results}, indent=1) + "\n")
    Path(args.out + ".md").write_text(header + "\n\n" + table(results, columns) + "\n")
    plot(results, args.out + ".png")
    print(header + "\n\n" + table(results, columns))


if __name__ == "__main__":
    main()
