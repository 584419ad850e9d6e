"""DDPG from pixels on CarRacing-v3, on one CPU thread: what it reaches after how many frames.

Trains `pixel_ddpg_agent` (solutions/pixels.py: shared encoder, action repeat 4, frame stacks of 4
grey 84x84 frames) for `--frames` simulator frames, and every `--eval-every` frames evaluates the
deterministic policy over `--eval-episodes` episodes with fixed seeds. Before training it measures,
on random frames, the seconds per update of the two network layouts (two encoders trained as in
plain DDPG, and the shared encoder) and counts their floating-point operations with
torch.utils.flop_counter.FlopCounterMode, and it times the simulator alone. `--max-minutes` stops
training at the next evaluation after that much wall time, so that a run fits a time slot; the
results say where it stopped.

    OMP_NUM_THREADS=1 python benchmarks/car_racing.py --frames 200000 --eval-every 10000 --max-minutes 70

writes benchmarks/results/car_racing.{json,md,png} after every evaluation (a run stopped early
leaves the results up to its last evaluation).
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from solutions.evaluation import evaluate
from solutions.pixels import (
    PIXEL_DDPG_DEFAULTS,
    make_pixel_env,
    pixel_ddpg_agent,
    pixel_networks,
    pixelPolicyNetwork,
    pixelQNetwork,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

ENV_ID = "CarRacing-v3"
ACTION_REPEAT = 4
CONFIG = {"buffer_size": 100_000, "batch_size": 64, "delay_learning": 1_000}  # agent steps; DDPG's others


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    except OSError:
        pass
    return f"{cpu}, {platform.system()}, 1 thread (torch.set_num_threads(1)), no GPU"


def filled_agent(networks, n=300, seed=0):
    """An agent whose buffer holds n transitions of random frames: for timing updates, not for learning."""
    agent = pixel_ddpg_agent({**CONFIG, "tqdm_disable": True, "buffer_size": n}, *networks)
    frames = np.random.default_rng(seed).integers(0, 256, (n + 4, 84, 84), dtype=np.uint8)
    for t in range(n):
        agent.memory.append(frames[t : t + 4], np.zeros(3, np.float32), 0.0, frames[t + 1 : t + 5], False)
    return agent


def update_cost(make_networks, repeats=20):
    """Seconds per update (median of `repeats`) and FLOPs per update, at the benchmark's batch size."""
    torch.manual_seed(0)
    agent = filled_agent(make_networks())
    for _ in range(3):  # warm-up: first calls allocate
        agent.update()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        agent.update()
        times.append(time.perf_counter() - start)
    with FlopCounterMode(display=False) as counter:
        agent.update()
    return float(np.median(times)), int(counter.get_total_flops())


def simulator_seconds_per_frame(frames=400):
    """Wall time of one CarRacing frame (physics and rendering, plus our grey/resize/stack), random actions."""
    env = make_pixel_env(ENV_ID, action_repeat=1)
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(frames):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    return (time.perf_counter() - start) / frames


def write(results, out):
    s = results["settings"]
    loads = [r["load_average"] for r in results["curve"] if "load_average" in r]
    header = [
        f"# DDPG from pixels on {ENV_ID}, one CPU thread",
        "",
        f"- Agent: `pixel_ddpg_agent` with `pixel_networks` (shared encoder trained by the critic only), "
        f"action repeat {ACTION_REPEAT}, 4 stacked grey 84x84 frames, config {json.dumps(s['config'])} "
        "(other keys: DDPG's defaults), seed 0.",
        f"- Evaluation: deterministic policy, mean return over {s['eval_episodes']} episodes (reset seeds "
        f"{s['eval_seed']}..{s['eval_seed'] + s['eval_episodes'] - 1}), every {s['eval_every']:,} frames. "
        "CarRacing-v3 counts as solved at 900; a car that stands still scores about -100 per 1000 frames.",
        f"- Machine: {results['machine']}; torch {results['torch']}; other jobs shared the machine"
        + (f" (load average {min(loads):.1f} to {max(loads):.1f} at the evaluations)." if loads else "."),
        f"- Seconds per update (batch {CONFIG['batch_size']}, median of 20): two encoders as in plain DDPG "
        f"{results['update_seconds']['separate']:.3f} s, shared encoder {results['update_seconds']['shared']:.3f} s. "
        f"FLOPs per update: {results['update_flops']['separate'] / 1e9:.1f} G and "
        f"{results['update_flops']['shared'] / 1e9:.1f} G. Simulator: "
        f"{results['simulator_seconds_per_frame'] * 1e3:.1f} ms per frame.",
        f"- Command: `{s['command']}`",
        "",
        "| frames | agent steps (updates) | training episodes | wall time | evaluated return (mean ± std) |",
        "|---|---|---|---|---|",
    ]
    rows = [
        f"| {r['frames']:,} | {r['agent_steps']:,} ({r['updates']:,}) | {r['episodes']} | "
        f"{r['wall_minutes']:.0f} min | {r['return_mean']:.1f} ± {r['return_std']:.1f} |"
        for r in results["curve"]
    ]
    footer = ["", results["status"]]
    Path(out + ".md").write_text("\n".join(header + rows + footer) + "\n")
    Path(out + ".json").write_text(json.dumps(results, indent=1) + "\n")
    if results["curve"]:
        fig, ax = plt.subplots(figsize=(7, 4))
        frames = [r["frames"] for r in results["curve"]]
        means = np.array([r["return_mean"] for r in results["curve"]])
        stds = np.array([r["return_std"] for r in results["curve"]])
        ax.plot(frames, means, marker="o", label="DDPG from pixels (seed 0)")
        ax.fill_between(frames, means - stds, means + stds, alpha=0.2)
        ax.axhline(900, color="grey", linestyle="--", linewidth=1, label="solved (900)")
        ax.set(xlabel="simulator frames", ylabel=f"evaluated return ({s['eval_episodes']} episodes)",
               title=f"{ENV_ID} from pixels, one CPU thread")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out + ".png", dpi=100)
        plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200_000, help="simulator frames (agent steps x 4)")
    parser.add_argument("--eval-every", type=int, default=10_000, help="frames between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop at the next evaluation after this")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "car_racing"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    eval_seed = 10_000
    command = (f"OMP_NUM_THREADS=1 python benchmarks/car_racing.py --frames {args.frames} --eval-every "
               f"{args.eval_every} --eval-episodes {args.eval_episodes}"
               + (f" --max-minutes {args.max_minutes:g}" if args.max_minutes else ""))
    results = {
        "settings": {"config": {**CONFIG}, "action_repeat": ACTION_REPEAT, "frames": args.frames,
                     "eval_every": args.eval_every, "eval_episodes": args.eval_episodes,
                     "eval_seed": eval_seed, "seed": 0, "command": command},
        "defaults": {k: v for k, v in PIXEL_DDPG_DEFAULTS.items() if k not in ("tqdm_disable",)},
        "machine": machine(),
        "torch": torch.__version__,
    }
    env = make_pixel_env(ENV_ID, action_repeat=ACTION_REPEAT)
    eval_env = make_pixel_env(ENV_ID, action_repeat=ACTION_REPEAT)
    separate = update_cost(lambda: (pixelQNetwork(env), pixelPolicyNetwork(env)))
    shared = update_cost(lambda: pixel_networks(env))
    results["update_seconds"] = {"separate": separate[0], "shared": shared[0]}
    results["update_flops"] = {"separate": separate[1], "shared": shared[1]}
    results["simulator_seconds_per_frame"] = simulator_seconds_per_frame()
    results["curve"], results["status"] = [], "running"
    print({k: results[k] for k in ("update_seconds", "update_flops", "simulator_seconds_per_frame")}, flush=True)

    torch.manual_seed(0)
    Q, pi = pixel_networks(env)
    agent = pixel_ddpg_agent({**CONFIG, "seed": 0, "tqdm_disable": True}, Q, pi)
    steps, chunk = args.frames // ACTION_REPEAT, args.eval_every // ACTION_REPEAT
    training_returns, train_seconds, start = [], 0.0, time.perf_counter()
    while agent.env_steps < steps:
        chunk_start = time.perf_counter()
        training_returns += agent.train(env, min(chunk, steps - agent.env_steps))
        train_seconds += time.perf_counter() - chunk_start
        mean, std = evaluate(eval_env, pi, n_episodes=args.eval_episodes, seed=eval_seed)
        wall = time.perf_counter() - start
        results["curve"].append({
            "frames": agent.env_steps * ACTION_REPEAT, "agent_steps": agent.env_steps,
            "updates": max(0, agent.env_steps - agent.learning_starts + 1) * agent.updates_per_step,
            "episodes": len(training_returns),
            "wall_minutes": wall / 60, "train_minutes": train_seconds / 60,
            "return_mean": mean, "return_std": std, "load_average": os.getloadavg()[0],
            "last_training_returns": [round(r, 1) for r in training_returns[-5:]],
        })
        results["training_returns"] = [round(r, 1) for r in training_returns]
        print(f"{agent.env_steps * ACTION_REPEAT:>7} frames, {wall / 60:5.1f} min: return {mean:7.1f} ± {std:5.1f}",
              flush=True)
        stop = args.max_minutes is not None and wall / 60 >= args.max_minutes and agent.env_steps < steps
        results["status"] = (
            f"Stopped by the time limit ({args.max_minutes:g} min) after {agent.env_steps * ACTION_REPEAT:,} of "
            f"{args.frames:,} frames." if stop else
            f"Running: {agent.env_steps * ACTION_REPEAT:,} of {args.frames:,} frames so far."
            if agent.env_steps < steps else f"Finished: {args.frames:,} frames."
        )
        write(results, args.out)
        if stop:
            break


if __name__ == "__main__":
    main()
