"""DDPG from pixels on CarRacing-v3: the learning curve (evaluated return against frames), resumable.

Trains `pixel_ddpg_agent` (solutions/pixel_ddpg.py: shared encoder, action repeat 8, stacks of 4 grey
84x84 frames, gas and brake on one axis, exploration noise 0.3, DrQ's random shifts, training
episodes cut after 25 agent steps without a reward) for `--frames` simulator frames. Every
`--eval-every` frames it evaluates the deterministic policy over `--eval-episodes` full episodes on
fixed tracks (reset seeds 10000, 10001, ...), writes the curve to `<out>.{json,md,png}` and saves
everything the run needs to go on (networks, optimisers, replay buffer, random streams) to
`<out>.pt`. Run the same command again and it continues from there: a long run can be done in
pieces, each stopped by `--max-minutes` (at the next evaluation after that much wall time).
`--fresh` starts over.

`--variant` switches one change off, for the ablation: `no-penalty`, `no-trunk`, `brake-axis` (gas
and brake on their own axes, as before), `noise-0.1`, `no-shift`, `no-stuck-end`. Each variant, and
each seed but 0, writes to its own files (car_racing_<variant>_seed<seed>); `--ablation` gathers
those written so far into car_racing_ablation.{md,png}.

    python benchmarks/car_racing.py --frames 200000 --max-minutes 60          # the full agent
    python benchmarks/car_racing.py --variant no-shift --frames 100000       # one ablation
    python benchmarks/car_racing.py --ablation  # the table and figure of the variants run so far
    python benchmarks/car_racing.py --costs    # seconds per update (1 and 2 threads), per frame, FLOPs

On a GPU: `--device cuda` (the networks, the replay buffer and the updates; the simulator stays on
the CPU).

The exercise is notebooks/05_ddpg_from_pixels.ipynb (part 5, optional); benchmarks/pixels.md tells what
these runs found, with the results files they write.
"""

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from solutions.evaluation import evaluate
from solutions.pixel_ddpg import PIXEL_DDPG_DEFAULTS, pixel_ddpg_agent
from solutions.pixel_env import make_pixel_env
from solutions.pixel_networks import pixel_networks, pixelPolicyNetwork, pixelQNetwork
from solutions.tooling.checkpoint import restore_training_state, torch_save, training_state
from solutions.tooling.device import describe_device, pick_device

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

ENV_ID = "CarRacing-v3"
RESULTS = Path(__file__).parent / "results"
ENV = {"action_repeat": 8, "throttle_axis": True}  # make_pixel_env's arguments, training and evaluation
STUCK_PATIENCE = 25  # agent steps (200 frames) without a reward end a training episode
CONFIG = {"buffer_size": 100_000, "batch_size": 64, "delay_learning": 1_000}  # others: PIXEL_DDPG_DEFAULTS
NETWORKS = {}  # pixel_networks' keyword arguments
VARIANTS = {  # each switches one change off
    "all": {},
    "no-penalty": {"config": {"pre_tanh_penalty": 0.0}},
    "no-trunk": {"networks": {"feature_dim": None}},
    "brake-axis": {"env": {"throttle_axis": False}},
    "noise-0.1": {"config": {"exploration_noise": 0.1}},
    "no-shift": {"config": {"random_shift": 0}},
    "no-stuck-end": {"stuck_patience": None},
}
SWITCHED_OFF = {  # what each variant's agent lacks, for the ablation table
    "all": "nothing (the solution)",
    "no-penalty": "the pre-tanh penalty (λ = 0)",
    "no-trunk": "the encoder's trunk (linear to 50, LayerNorm, tanh)",
    "brake-axis": "the throttle axis (gas and brake on axes of their own, bias 0.5)",
    "noise-0.1": "the larger exploration noise (σ 0.1 instead of 0.3)",
    "no-shift": "DrQ's random shifts",
    "no-stuck-end": "the end of training episodes when stuck",
}
EVAL_SEED = 10_000


def settings_of(args):
    variant = VARIANTS[args.variant]
    return {
        "variant": args.variant,
        "env": {**ENV, **variant.get("env", {})},
        "stuck_patience": variant.get("stuck_patience", STUCK_PATIENCE),
        "networks": {**NETWORKS, **variant.get("networks", {})},
        "config": {**CONFIG, **variant.get("config", {}), "seed": args.seed, "tqdm_disable": True},
        "seed": args.seed,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
    }


def machine(device):
    cpu = platform.processor() or platform.machine()
    try:
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} cores), {platform.system()}. {describe_device(device, 'Networks')}"


# --- costs ------------------------------------------------------------------------------------------

def update_cost(make_networks, threads, repeats=20, n=300):
    """Seconds per update (median of `repeats`) and FLOPs per update, on random frames, `threads` threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    agent = pixel_ddpg_agent({**CONFIG, "tqdm_disable": True, "buffer_size": n}, *make_networks())
    frames = np.random.default_rng(0).integers(0, 256, (n + 4, 84, 84), dtype=np.uint8)
    action = np.zeros(agent.pi.action_scale.shape, np.float32)
    for t in range(n):
        agent.memory.append(frames[t : t + 4], action, 0.0, frames[t + 1 : t + 5], False)
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


def measure_costs(out):
    env = make_pixel_env(ENV_ID, **ENV)
    separate = update_cost(lambda: (pixelQNetwork(env, **NETWORKS), pixelPolicyNetwork(env, **NETWORKS)), threads=1)
    shared = {threads: update_cost(lambda: pixel_networks(env, **NETWORKS), threads) for threads in (1, 2)}
    torch.set_num_threads(1)
    frame = simulator_seconds_per_frame()
    updates = 100_000 // ENV["action_repeat"]  # one update per agent step
    minutes = {threads: (updates * shared[threads][0] + 100_000 * frame) / 60 for threads in shared}
    costs = {"machine": machine("cpu").split(". ")[0] + ", no GPU", "torch": torch.__version__,
             "load_average": os.getloadavg()[0], "seconds_per_update": {"separate, 1 thread": separate[0],
             **{f"shared, {t} thread(s)": shared[t][0] for t in shared}},
             "flops_per_update": {"separate": separate[1], "shared": shared[1][1]},
             "simulator_seconds_per_frame": frame, "minutes_per_100k_frames": minutes}
    lines = [
        f"# DDPG from pixels on {ENV_ID}: what an update and a frame cost on this machine",
        "",
        f"- Machine: {costs['machine']}; torch {costs['torch']}; load average {costs['load_average']:.1f} "
        "when it started (the machine is shared).",
        f"- Networks: `pixel_networks(env, **{json.dumps(NETWORKS)})`, or the same two networks with an encoder "
        f"each; batch {CONFIG['batch_size']} of 4x84x84 stacks, DrQ shifts included; median of 20 updates.",
        "- Command: `python benchmarks/car_racing.py --costs`",
        "",
        "| layout | torch threads | seconds per update | GFLOP per update |",
        "|---|---|---|---|",
        f"| two encoders (plain DDPG) | 1 | {separate[0]:.3f} | {separate[1] / 1e9:.1f} |",
        *(f"| shared encoder | {t} | {shared[t][0]:.3f} | {shared[t][1] / 1e9:.1f} |" for t in shared),
        "",
        f"Simulator: {frame * 1e3:.1f} ms per frame (physics, rendering, grey, resize, stack), on one thread.",
        "",
        f"Per 100,000 frames at action repeat {ENV['action_repeat']} ({updates:,} updates, evaluations not "
        f"included): {minutes[1]:.0f} min with one torch thread, {minutes[2]:.0f} min with two "
        f"(the simulator's {100_000 * frame / 60:.0f} min are the same in both).",
    ]
    Path(out + ".md").write_text("\n".join(lines) + "\n")
    Path(out + ".json").write_text(json.dumps(costs, indent=1) + "\n")
    print("\n".join(lines))


# --- the learning curve -------------------------------------------------------------------------------

def share(fraction):
    """0.58 -> '58%'; NaN (nothing measured yet) -> '-'."""
    return "-" if math.isnan(fraction) else f"{fraction:.0%}"


def write(results, out):
    s = results["settings"]
    loads = [r["load_average"] for r in results["curve"]]
    variant = "all the changes" if s["variant"] == "all" else f"variant `{s['variant']}`"
    header = [
        f"# DDPG from pixels on {ENV_ID}: {variant}",
        "",
        f"- Agent: `pixel_ddpg_agent` with `pixel_networks(env, **{json.dumps(s['networks'])})` (one encoder, "
        "trained by the critic), "
        f"`make_pixel_env(**{json.dumps(s['env'])})`, training episodes cut after "
        f"{s['stuck_patience']} agent steps without a reward, config {json.dumps(s['config'])} "
        "(others: PIXEL_DDPG_DEFAULTS).",
        f"- Evaluation: the deterministic policy, full episodes (1000 frames), mean return over "
        f"{s['eval_episodes']} tracks (reset seeds {EVAL_SEED}..{EVAL_SEED + s['eval_episodes'] - 1}), every "
        f"{s['eval_every']:,} frames. Solved is 900; a car that stands still scores about -93.7 here.",
        f"- Machine: {results['machine'].rstrip('.')}; torch {results['torch']}; other jobs shared the machine"
        + (f" (load average {min(loads):.1f} to {max(loads):.1f} at the evaluations)." if loads else "."),
        "- Actor saturated: the share of the actor's outputs before the tanh beyond ±3 (tanh beyond ±0.995), "
        f"over the last {({**PIXEL_DDPG_DEFAULTS, **s['config']})['history_every']} updates; there the actor's "
        "gradient all but vanishes.",
        f"- Command (run again to continue): `{results['command']}`; ran in {results['pieces']} piece(s).",
        "",
        "| frames | updates | training episodes | wall time | evaluated return (mean ± std) | per track "
        "| actor saturated |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [
        f"| {r['frames']:,} | {r['updates']:,} | {r['episodes']} | {r['wall_minutes']:.0f} min | "
        f"{r['return_mean']:.1f} ± {r['return_std']:.1f} | {', '.join(f'{x:.0f}' for x in r['returns'])} | "
        f"{share(r['saturated'])} |"
        for r in results["curve"]
    ]
    Path(out + ".md").write_text("\n".join(header + rows + ["", results["status"]]) + "\n")
    Path(out + ".json").write_text(json.dumps(results, indent=1) + "\n")
    plot([out], out + ".png")


def plot(outs, path, up_to=None, spread=True):
    """The curves of the runs written to `outs`, one line each, on one figure (frames up to `up_to`);
    `spread`: shade mean ± std over the tracks (unreadable with many runs)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for out in outs:
        results = json.loads(Path(out + ".json").read_text())
        curve = [r for r in results["curve"] if up_to is None or r["frames"] <= up_to]
        if not curve:
            continue
        frames = [r["frames"] for r in curve]
        means, stds = np.array([r["return_mean"] for r in curve]), np.array([r["return_std"] for r in curve])
        seed = results["settings"]["seed"]
        ax.plot(frames, means, marker="o", linestyle="--" if seed else "-",
                label=results["settings"]["variant"] + (f", seed {seed}" if seed else ""))
        if spread:
            ax.fill_between(frames, means - stds, means + stds, alpha=0.15)
    ax.axhline(-93.7, color="grey", linestyle=":", linewidth=1, label="standing still (-93.7)")
    ax.set(xlabel="simulator frames", ylabel="evaluated return (mean over tracks)",
           title=f"DDPG from pixels, {ENV_ID}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def default_out(variant, seed):
    """benchmarks/results/car_racing[_<variant>][_seed<seed>]: seed 0 and the full agent go unnamed."""
    name = "car_racing" + ("" if variant == "all" else f"_{variant}") + (f"_seed{seed}" if seed else "")
    return str(RESULTS / name)


def ablation(frames=(60_000, 80_000, 100_000)):
    """Gather the variants' curves written so far (every seed) into car_racing_ablation.{md,png}."""
    outs = []
    for variant in VARIANTS:  # seed 0, then the other seeds' files, as default_out names them
        first = Path(default_out(variant, 0))
        files = [Path(f"{first}.json"), *sorted(first.parent.glob(f"{first.name}_seed*.json"))]
        outs += [str(file)[: -len(".json")] for file in files if file.exists()]
    rows = []
    for out in outs:
        results = json.loads(Path(out + ".json").read_text())
        variant, at = results["settings"]["variant"], {r["frames"]: r for r in results["curve"]}
        cells = [f"{at[f]['return_mean']:.1f} ± {at[f]['return_std']:.1f}" if f in at else "not run" for f in frames]
        most_saturated = max((r["saturated"] for r in results["curve"] if r["frames"] <= frames[-1]
                              and not math.isnan(r["saturated"])), default=math.nan)
        rows.append(f"| `{variant}` | {results['settings']['seed']} | {SWITCHED_OFF[variant]} | "
                    + " | ".join(cells) + f" | {share(most_saturated)} |")
    lines = [
        f"# DDPG from pixels on {ENV_ID}: the ablation",
        "",
        "Each variant switches one change of the solution off; everything else as in car_racing.md (the "
        "deterministic policy on 5 fixed tracks, mean ± std over the tracks). Seed 0 for every variant, a "
        "second seed for some: it shows which changes these runs could not do without, not by how much they "
        "help on average; variants whose returns are close could swap places on other seeds.",
        "- Command: `python benchmarks/car_racing.py --variant <name> --frames 100000 [--seed 1]` per run, "
        "then `python benchmarks/car_racing.py --ablation`.",
        "",
        "| variant | seed | switched off | " + " | ".join(f"return at {f // 1000}k frames" for f in frames)
        + " | actor saturated (most, up to then) |",
        "|---|---|---|" + "---|" * len(frames) + "---|",
        *rows,
    ]
    Path(RESULTS / "car_racing_ablation.md").write_text("\n".join(lines) + "\n")
    plot(outs, str(RESULTS / "car_racing_ablation.png"), up_to=frames[-1], spread=False)
    print("\n".join(lines))


def build(settings, device):
    torch.manual_seed(settings["seed"])
    env = make_pixel_env(ENV_ID, stuck_patience=settings["stuck_patience"], **settings["env"])
    Q, pi = (network.to(device) for network in pixel_networks(env, **settings["networks"]))
    return env, pixel_ddpg_agent(settings["config"], Q, pi)


def train_curve(args):
    settings, device = settings_of(args), pick_device(args.device)
    torch.set_num_threads(args.threads)
    out = args.out or default_out(args.variant, args.seed)
    checkpoint = Path(out + ".pt")
    env, agent = build(settings, device)
    eval_env = make_pixel_env(ENV_ID, **settings["env"])
    # the command as given (every option that makes the settings, e.g. --seed), less --fresh: it continues
    command = " ".join(["python benchmarks/car_racing.py", *(arg for arg in sys.argv[1:] if arg != "--fresh")])
    if checkpoint.exists() and not args.fresh:
        saved = torch.load(checkpoint, weights_only=False)
        if saved["results"]["settings"] != settings:
            raise SystemExit(f"{checkpoint} was saved with other settings: run with --fresh to start over, "
                             "or give --out another name.")
        restore_training_state(agent, env, saved["training"])
        results = saved["results"]
        results["pieces"] += 1
        print(f"Continuing from {checkpoint}: {results['curve'][-1]['frames']:,} frames so far.", flush=True)
    else:
        results = {"settings": settings, "curve": [], "training_returns": [], "wall_seconds": 0.0, "pieces": 1}
    results.update(command=command, machine=machine(device), torch=torch.__version__)
    repeat = settings["env"]["action_repeat"]
    steps, chunk = args.frames // repeat, args.eval_every // repeat
    wall_before, start = results["wall_seconds"], time.perf_counter()
    while agent.env_steps < steps:
        results["training_returns"] += agent.train(env, min(chunk, steps - agent.env_steps))
        returns = [evaluate(eval_env, agent.pi, n_episodes=1, seed=EVAL_SEED + k)[0]
                   for k in range(settings["eval_episodes"])]
        results["wall_seconds"] = wall_before + time.perf_counter() - start
        results["curve"].append({
            "frames": agent.env_steps * repeat, "updates": agent.history.updates,
            "episodes": len(results["training_returns"]), "wall_minutes": results["wall_seconds"] / 60,
            "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
            "returns": [float(r) for r in returns], "load_average": os.getloadavg()[0],
            # NaN before the first window of updates is recorded (during the warm-up)
            "saturated": agent.history.get("saturation", [math.nan])[-1],
        })
        print(f"{agent.env_steps * repeat:>7} frames, {results['wall_seconds'] / 60:5.1f} min: return "
              f"{np.mean(returns):7.1f} ± {np.std(returns):5.1f}  {[round(r) for r in returns]}, "
              f"saturated {share(results['curve'][-1]['saturated'])}", flush=True)
        stop = args.max_minutes is not None and (time.perf_counter() - start) / 60 >= args.max_minutes
        done = agent.env_steps >= steps
        results["status"] = (f"Finished: {args.frames:,} frames." if done else
                             f"Paused at {agent.env_steps * repeat:,} of {args.frames:,} frames: run the command "
                             "again to continue.")
        saved = {"training": training_state(agent, env, with_buffer=True), "results": results}
        torch_save(saved, checkpoint)  # atomically: never a half-written checkpoint
        write(results, out)
        if stop:
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="all")
    parser.add_argument("--frames", type=int, default=200_000, help="simulator frames in all (agent steps x 8)")
    parser.add_argument("--eval-every", type=int, default=20_000, help="frames between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=5, help="evaluation tracks")
    parser.add_argument("--max-minutes", type=float, default=None, help="pause at the next evaluation after this")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the updates")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="results prefix (default: benchmarks/results/car_racing...)")
    parser.add_argument("--fresh", action="store_true", help="start over, ignoring a saved run")
    parser.add_argument("--costs", action="store_true", help="measure update and frame costs, then stop")
    parser.add_argument("--ablation", action="store_true", help="gather the variants' curves, then stop")
    args = parser.parse_args()
    if args.ablation:
        ablation()
    elif args.costs:
        measure_costs(args.out or str(RESULTS / "car_racing_costs"))
    else:
        train_curve(args)


if __name__ == "__main__":
    main()
