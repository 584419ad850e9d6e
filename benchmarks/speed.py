"""How fast the agents learn on this CPU, against the hardware's limit and against the draft's code.

In one run, on one machine:
(a) the float32 matmul throughput reached for the networks' shapes (batch 256, layers of 256), and
    from it, with the FLOPs of one update step counted by torch's FlopCounterMode, the FLOP-bound
    limit of update steps per second of each agent;
(b) update steps per second of DDPG, TD3 and SAC at the chapter's settings;
(c) the same for the draft-style reference of `draft_style.py` (list-of-tuples buffer, per-sample
    conversion, per-parameter target loops);
(d) with --solve, environment steps and wall time to solve InvertedPendulum-v5, median of 5 seeds
    (the runs of `sample_efficiency.py`, one thread each, `--workers` of them at a time).

    python benchmarks/speed.py --threads 1 --solve

writes benchmarks/results/speed.json and .md (the table quoted in the README).
"""

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from draft_style import DraftDDPG, DraftSAC, DraftTD3
from torch.utils.flop_counter import FlopCounterMode

from solutions.cli import build_agent, build_networks

ENV_ID = "InvertedPendulum-v5"
BATCH, HIDDEN = 256, (256, 256)


def matmul_throughput(seconds=2.0):
    """FLOP/s of the networks' dominant product, (256 x 256) @ (256 x 256) + bias, as nn.Linear runs it."""
    x, weight, bias = torch.randn(BATCH, HIDDEN[0]), torch.randn(HIDDEN[1], HIDDEN[0]), torch.randn(HIDDEN[1])
    flops = 2 * BATCH * HIDDEN[0] * HIDDEN[1]
    best = 0.0
    for _ in range(5):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            for _ in range(100):
                torch.nn.functional.linear(x, weight, bias)
            count += 100
        best = max(best, count * flops / (time.perf_counter() - start))
    return best


def random_transitions(n=10_000, seed=0):
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    state, _ = env.reset(seed=seed)
    transitions = []
    for _ in range(n):
        action = env.action_space.sample()
        next_state, reward, terminated, truncated, _ = env.step(action)
        transitions.append((state, action, reward, next_state, terminated))
        state = env.reset()[0] if terminated or truncated else next_state
    return env, transitions


def make_pair(algo, env):
    """Our agent and the draft-style one, with identical initial networks."""
    torch.manual_seed(0)
    networks = build_networks(algo, env, HIDDEN)
    ours = build_agent(algo, {"tqdm_disable": True}, networks)
    copies = {name: type(net)(env, HIDDEN) for name, net in networks.items()}
    for name, net in copies.items():
        net.load_state_dict(networks[name].state_dict())
    if algo == "ddpg":
        draft = DraftDDPG(copies["Q"], copies["pi"])
    else:
        draft = (DraftTD3 if algo == "td3" else DraftSAC)(copies["Q1"], copies["Q2"], copies["pi"])
    return ours, draft


def updates_per_second(agent, n_updates):
    for _ in range(20):  # warm-up: allocations, optimizer state
        agent.update()
    start = time.perf_counter()
    for _ in range(n_updates):
        agent.update()
    return n_updates / (time.perf_counter() - start)


def flops_per_update(agent, n_updates=4):
    """Matmul FLOPs of an average update (TD3's actor runs one update in `policy_update_freq`)."""
    with FlopCounterMode(display=False) as counter:
        for _ in range(n_updates):
            agent.update()
    return counter.get_total_flops() / n_updates


def measure_updates(algos, n_updates, rounds):
    env, transitions = random_transitions()
    throughput = matmul_throughput()
    rows = []
    for algo in algos:
        ours, draft = make_pair(algo, env)
        for transition in transitions:
            ours.memory.append(*transition)
            draft.memory.append(*transition)
        flops = flops_per_update(ours)
        # Alternate the two, several rounds, and keep each one's best: both see the same machine load.
        ours_best = draft_best = 0.0
        for _ in range(rounds):
            ours_best = max(ours_best, updates_per_second(ours, n_updates))
            draft_best = max(draft_best, updates_per_second(draft, n_updates))
        limit = throughput / flops
        rows.append({"agent": algo, "updates_per_s": ours_best, "draft_updates_per_s": draft_best,
                     "speedup_vs_draft": ours_best / draft_best, "mflop_per_update": flops / 1e6,
                     "flop_bound_updates_per_s": limit, "fraction_of_limit": ours_best / limit})
    return throughput, rows


def solve_times(algos, seeds, workers):
    from sample_efficiency import run

    rows = []
    with ProcessPoolExecutor(workers) as pool:
        futures = {algo: [pool.submit(run, algo, seed, 1000, HIDDEN) for seed in seeds] for algo in algos}
    for algo in algos:
        runs = [future.result() for future in futures[algo]]
        steps = [r["solved_at"] if r["solved_at"] is not None else np.inf for r in runs]
        rows.append({"agent": algo, "median_steps_to_solve": float(np.median(steps)),
                     "median_train_seconds": float(np.median([r["train_seconds"] for r in runs])),
                     "steps_per_seed": [r["solved_at"] for r in runs]})
    return rows


def markdown(info, throughput, update_rows, solve_rows):
    lines = [info, "", f"float32 matmul throughput, (256x256)@(256x256)+bias: {throughput / 1e9:.1f} GFLOP/s", "",
             "| agent | updates/s | draft-style updates/s | speed-up vs draft | MFLOP/update | FLOP-bound updates/s "
             "| share of the limit |", "|---|---|---|---|---|---|---|"]
    for r in update_rows:
        lines.append(
            f"| {r['agent']} | {r['updates_per_s']:.0f} | {r['draft_updates_per_s']:.0f} | "
            f"{r['speedup_vs_draft']:.2f}x | {r['mflop_per_update']:.1f} | "
            f"{r['flop_bound_updates_per_s']:.0f} | {100 * r['fraction_of_limit']:.0f}% |"
        )
    if solve_rows:
        lines += ["", "| agent | median env steps to solve | median train time (s) | steps per seed |"]
        lines += ["|---|---|---|---|"]
        for r in solve_rows:
            per_seed = ", ".join("—" if s is None else f"{s:,}" for s in r["steps_per_seed"])
            median_steps, median_seconds = r["median_steps_to_solve"], r["median_train_seconds"]
            lines.append(f"| {r['agent']} | {median_steps:,.0f} | {median_seconds:.0f} | {per_seed} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac"])
    parser.add_argument("--updates", type=int, default=300, help="timed updates per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--solve", action="store_true", help="also time solving the task, 5 seeds per agent")
    parser.add_argument("--workers", type=int, default=2, help="solving runs at a time (one thread each)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "speed"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = (f"{platform.processor() or platform.machine()}, {args.threads} torch thread(s), torch {torch.__version__}, "
            f"batch {BATCH}, hidden layers {list(HIDDEN)}; best of {args.rounds} rounds of {args.updates} updates.")
    if args.solve:
        info += (f" Solving: seeds 0-4, evaluated every 1,000 steps, one thread per run, {args.workers} runs at a "
                 "time; the train time excludes evaluations.")
    throughput, update_rows = measure_updates(args.algos, args.updates, args.rounds)
    solve_rows = solve_times(args.algos, [0, 1, 2, 3, 4], args.workers) if args.solve else []
    Path(args.out + ".json").write_text(json.dumps(
        {"info": info, "matmul_flop_per_s": throughput, "updates": update_rows, "solve": solve_rows}, indent=1) + "\n")
    text = markdown(info, throughput, update_rows, solve_rows)
    Path(args.out + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
