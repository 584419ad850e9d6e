"""How many environment steps each agent needs to solve InvertedPendulum-v5, per seed.

Each run trains with the agent's default config, and every `--eval-every` environment steps
evaluates the deterministic policy over 10 episodes (fixed evaluation seeds). A run solves the task
at the first evaluation whose mean return is >= 950. Runs are spread over `--workers` processes,
each limited to one thread, so that runs do not slow each other down.

    python benchmarks/sample_efficiency.py --algos ddpg td3 sac sac_fixed_alpha --seeds 0 1 2 3 4

writes benchmarks/results/sample_efficiency.json and .md (the table quoted in the README).
"""

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from solutions.agents import build_agent, build_networks
from solutions.evaluation import evaluate

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


def run(variant, seed, eval_every, hidden_sizes):
    torch.set_num_threads(1)
    algo, overrides, budget = VARIANTS[variant]
    torch.manual_seed(seed)
    env, eval_env = gym.make(ENV_ID), gym.make(ENV_ID)
    networks = build_networks(algo, env, hidden_sizes)
    agent = build_agent(algo, {**overrides, "seed": seed, "tqdm_disable": True}, networks)
    curve, train_seconds, solved_at = [], 0.0, None
    while agent.env_steps < budget and solved_at is None:
        start = time.perf_counter()
        agent.train(env, eval_every)
        train_seconds += time.perf_counter() - start
        mean, _ = evaluate(eval_env, networks["pi"], n_episodes=10, seed=10_000)
        curve.append((agent.env_steps, mean))
        if mean >= SOLVED:
            solved_at = agent.env_steps
    return {"variant": variant, "seed": seed, "budget": budget, "solved_at": solved_at,
            "train_seconds": round(train_seconds, 1), "curve": curve}


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
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sample_efficiency"))
    args = parser.parse_args()
    jobs = [(variant, seed) for variant in args.algos for seed in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run, v, s, args.eval_every, tuple(args.hidden)) for v, s in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            r = results[-1]
            seconds = r["train_seconds"]
            print(f"{r['variant']:>16} seed {r['seed']}: solved at {r['solved_at']} ({seconds:.0f} s)", flush=True)
    header = (f"InvertedPendulum-v5, evaluated mean return >= {SOLVED:.0f} over 10 episodes, checked every "
              f"{args.eval_every} environment steps; hidden layers {args.hidden}; one thread per run, "
              f"{args.workers} runs at a time on {torch.get_num_threads()}-thread machine; torch {torch.__version__}.")
    Path(args.out + ".json").write_text(json.dumps({"header": header, "results": results}, indent=1) + "\n")
    Path(args.out + ".md").write_text(header + "\n\n" + table(results) + "\n")
    print(header + "\n\n" + table(results))


if __name__ == "__main__":
    main()
