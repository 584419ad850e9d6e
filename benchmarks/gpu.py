"""The agents on one GPU: updates per second eager, compiled and captured, against the same machine's CPU.

In one run, on a machine with a CUDA GPU:
(a) updates per second of each agent at the chapter's settings (batch 256, layers of 256) on the
    machine's CPU (all its torch threads), and on the GPU three ways: eager (the code the notebooks
    teach), `torch.compile(mode="reduce-overhead")` of the update, and the update captured once as a
    CUDA graph and replayed (`solutions/tooling/captured_update.py`); best of `--rounds` alternating rounds;
(b) the wall time to solve InvertedPendulum-v5 (evaluated mean return >= 950 over 10 episodes, checked
    every 1,000 environment steps; the training time only, evaluations excluded) of each agent of
    `--solve-algos` on the CPU, on the GPU eager and on the GPU with `captured_update=True`: the same
    loop, `agent.train`, the same seeds and budgets as `sample_efficiency.py`.

    python benchmarks/gpu.py                 (benchmarks/gpu_run.sh runs it, after the CUDA tests)

writes benchmarks/results/gpu.json and gpu.md. Without a GPU it stops at once and says so.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch
from sample_efficiency import ENV_ID, SOLVED, VARIANTS  # the CPU benchmark's task, threshold and budgets
from speed import random_transitions  # the same random pendulum transitions as the CPU benchmark

from solutions.evaluation import evaluate
from solutions.tooling.captured_update import CapturedUpdate
from solutions.tooling.device import on_device
from solutions.tooling.registry import build_agent, build_networks

HIDDEN = (256, 256)
ALGOS = ("ddpg", "td3", "sac", "crossq")


def agent_on(device, algo, env, transitions, config=None):
    """The chapter's agent with seeded networks on `device`, its buffer holding `transitions`."""
    torch.manual_seed(0)
    networks = on_device(build_networks(algo, env, HIDDEN), device)
    agent = build_agent(algo, {"tqdm_disable": True, **(config or {})}, networks)
    for transition in transitions:
        agent.memory.append(*transition)
    return agent


def updates_per_second(update, n_updates, device):
    """Calls of `update()` per second over `n_updates` calls, the GPU's queue drained at both ends."""
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    synchronize()
    start = time.perf_counter()
    for _ in range(n_updates):
        update()
    synchronize()
    return n_updates / (time.perf_counter() - start)


def measure_updates(algos, env, transitions, n_updates, rounds):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    rows = []
    for algo in algos:
        ways = {
            "cpu_eager": agent_on(cpu, algo, env, transitions).update,
            "gpu_eager": agent_on(cuda, algo, env, transitions).update,
            "gpu_compiled": torch.compile(agent_on(cuda, algo, env, transitions).update, mode="reduce-overhead"),
            "gpu_captured": CapturedUpdate(agent_on(cuda, algo, env, transitions)),
        }
        for update in ways.values():  # warm-up: compilation, allocations, optimizer state
            for _ in range(20):
                update()
        best = dict.fromkeys(ways, 0.0)
        for _ in range(rounds):  # alternate the ways, so that all see the same machine
            for way, update in ways.items():
                device = cpu if way.startswith("cpu") else cuda
                best[way] = max(best[way], updates_per_second(update, n_updates, device))
        row = {"agent": algo, **{f"{way}_updates_per_s": value for way, value in best.items()}}
        row.update({f"{way}_vs_gpu_eager": best[way] / best["gpu_eager"] for way in ("gpu_compiled", "gpu_captured")})
        row["gpu_captured_vs_cpu"] = best["gpu_captured"] / best["cpu_eager"]
        rows.append(row)
        print(row, flush=True)
    return rows


SOLVE_WAYS = {"cpu_eager": ("cpu", False), "gpu_eager": ("cuda", False), "gpu_captured": ("cuda", True)}


def time_to_solve(algo, device, captured, seed, eval_every=1000):
    """(environment steps, training seconds) until the evaluated return reaches SOLVED; steps None if never."""
    variant_algo, config, budget = VARIANTS[algo]
    env, eval_env = gym.make(ENV_ID), gym.make(ENV_ID)
    torch.manual_seed(seed)
    networks = on_device(build_networks(variant_algo, env, HIDDEN), device)
    agent = build_agent(variant_algo, {**config, "seed": seed, "tqdm_disable": True, "captured_update": captured},
                        networks)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    seconds = 0.0
    while agent.env_steps < budget:
        start = time.perf_counter()
        agent.train(env, eval_every)
        synchronize()
        seconds += time.perf_counter() - start
        mean, _ = evaluate(eval_env, networks["pi"], n_episodes=10, seed=20_000)
        if mean >= SOLVED:
            return agent.env_steps, seconds
    return None, seconds


def measure_solving(algos, seeds):
    rows = []
    for algo in algos:
        for seed in seeds:
            row = {"agent": algo, "seed": seed}
            for way, (device, captured) in SOLVE_WAYS.items():
                steps, seconds = time_to_solve(algo, torch.device(device), captured, seed)
                row.update({f"{way}_steps": steps, f"{way}_train_s": seconds})
            rows.append(row)
            print(row, flush=True)
    return rows


def solve_markdown(solve_rows):
    lines = [f"Solving {ENV_ID} (evaluated return >= {SOLVED:.0f}): environment steps, then training seconds "
             "(evaluations excluded); — : not solved within the budget.", "",
             "| agent | seed | CPU eager | GPU eager | GPU captured | CPU s / captured s | GPU eager s / captured s |",
             "|---|---|---|---|---|---|---|"]
    for row in solve_rows:
        cells = [f"{row[f'{way}_steps'] or '—'}, {row[f'{way}_train_s']:.1f} s" for way in SOLVE_WAYS]
        lines.append(f"| {row['agent']} | {row['seed']} | {' | '.join(cells)} | "
                     f"{row['cpu_eager_train_s'] / row['gpu_captured_train_s']:.2f} | "
                     f"{row['gpu_eager_train_s'] / row['gpu_captured_train_s']:.2f} |")
    return lines


def markdown(info, update_rows, solve_rows):
    lines = ["# The agents on a GPU", "", info, "", "Updates per second (best of the rounds):", "",
             "| agent | CPU eager | GPU eager | GPU compiled | GPU captured | captured / eager | captured / CPU |",
             "|---|---|---|---|---|---|---|"]
    for row in update_rows:
        lines.append(
            f"| {row['agent']} | {row['cpu_eager_updates_per_s']:.0f} | {row['gpu_eager_updates_per_s']:.0f} | "
            f"{row['gpu_compiled_updates_per_s']:.0f} | {row['gpu_captured_updates_per_s']:.0f} | "
            f"{row['gpu_captured_vs_gpu_eager']:.2f}x | {row['gpu_captured_vs_cpu']:.2f}x |")
    if solve_rows:
        lines += ["", *solve_markdown(solve_rows)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=list(ALGOS))
    parser.add_argument("--updates", type=int, default=300, help="timed updates per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--solve-algos", nargs="*", default=["sac"], choices=list(VARIANTS),
                        help="agents timed to solve the pendulum on CPU, GPU eager and GPU captured (none: skip)")
    parser.add_argument("--solve-seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "gpu"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA GPU and torch sees none (torch.cuda.is_available() is False).")
    info = (f"{torch.cuda.get_device_name()}; CPU {platform.processor() or platform.machine()} with "
            f"{torch.get_num_threads()} torch threads; torch {torch.__version__}, CUDA {torch.version.cuda}; "
            f"batch 256, hidden layers {list(HIDDEN)}; best of {args.rounds} rounds of {args.updates} updates.")
    env, transitions = random_transitions()
    update_rows = measure_updates(args.algos, env, transitions, args.updates, args.rounds)
    solve_rows = measure_solving(args.solve_algos, args.solve_seeds)
    Path(args.out + ".json").write_text(json.dumps(
        {"info": info, "updates": update_rows, "solve": solve_rows}, indent=1, default=float) + "\n")
    text = markdown(info, update_rows, solve_rows)
    Path(args.out + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
