"""How fast the agents learn on this CPU, against the hardware's limit and against the draft's code.

In one run, on one machine:
(a) the float32 matmul throughput reached for the networks' shapes (batch 256, layers of 256), and
    from it, with the FLOPs of one update step counted by torch's FlopCounterMode, the FLOP-bound
    limit of update steps per second of each agent;
(b) update steps per second of DDPG, TD3 and SAC at the chapter's settings;
(c) the same for the draft-style reference of `draft_style.py` (list-of-tuples buffer, per-sample
    conversion, per-parameter target loops);
(d) with --solve, environment steps and wall time to solve InvertedPendulum-v5, median of 5 seeds
    (the runs of `sample_efficiency.py`, through the sweep: one thread and one CPU each);
(e) where an update's time goes: the CPU time and matmul FLOPs of each step of the pseudo-code
    (each agent method, each optimizer step), against the time those FLOPs take at the measured
    throughput;
(f) our updates/s and the matmul throughput at each torch thread count from 1 to the machine's cores;
(g) the limit per shape: every matrix product one update runs, timed alone at its own shapes and
    layout (the (256 x 256) rate of (a) flatters the thin first and last layers), and all of the
    update's aten operations replayed back to back, without autograd, modules or optimizer code:
    what the kernels alone cost, and so how much of an update is PyTorch's eager book-keeping.

    python benchmarks/speed.py --threads 1 --solve

writes benchmarks/results/speed.json and .md (the table quoted in the README).
"""

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from draft_style import DraftDDPG, DraftSAC, DraftTD3
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from solutions.tooling.registry import build_agent, build_networks

ENV_ID = "InvertedPendulum-v5"
BATCH, HIDDEN = 256, (256, 256)


def best_seconds_per_call(function, seconds=0.2, rounds=5):
    """The fastest mean time of `function()` over `rounds` rounds of about seconds / rounds each."""
    function()
    best = float("inf")
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            for _ in range(10):
                function()
            calls += 10
        best = min(best, elapsed / calls)
    return best


def matmul_throughput(seconds=2.0):
    """FLOP/s of the networks' dominant product, (256 x 256) @ (256 x 256) + bias, as nn.Linear runs it."""
    x, weight, bias = torch.randn(BATCH, HIDDEN[0]), torch.randn(HIDDEN[1], HIDDEN[0]), torch.randn(HIDDEN[1])
    flops = 2 * BATCH * HIDDEN[0] * HIDDEN[1]
    return flops / best_seconds_per_call(partial(torch.nn.functional.linear, x, weight, bias), seconds)


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


def our_agent(algo, env, transitions=()):
    """Our agent at the chapter's settings (seeded networks), its buffer holding `transitions`."""
    torch.manual_seed(0)
    agent = build_agent(algo, {"tqdm_disable": True}, build_networks(algo, env, HIDDEN))
    for transition in transitions:
        agent.memory.append(*transition)
    return agent


def make_pair(algo, env):
    """Our agent and the draft-style one, with identical initial networks."""
    ours = our_agent(algo, env)
    networks = {name: getattr(ours, name) for name in ("Q", "Q1", "Q2", "pi") if hasattr(ours, name)}
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


class PartTimer:
    """Wraps an agent's steps so that each call's CPU time (and, while `count_flops`, FLOPs) go to that step.

    Steps nest (critic_step calls critic_target and the critic's optimizer step): a step's figures
    exclude those of the steps it calls, so that the parts add up to the whole update.
    """

    def __init__(self, agent):
        self.seconds, self.flops, self.count_flops = defaultdict(float), defaultdict(int), False
        self.inner = []  # for each call in progress: [seconds, flops] of the calls made inside it
        steps = [("memory", "sample", "sample a batch"), (None, "critic_target", "critic target y"),
                 (None, "critic_step", "critic loss, forward + backward"), ("Q_optimizer", "step", "critic Adam"),
                 (None, "actor_step", "actor loss, forward + backward"), ("pi_optimizer", "step", "actor Adam"),
                 (None, "temperature_step", "temperature loss"), ("alpha_optimizer", "step", "alpha Adam"),
                 (None, "soft_update", "soft update")]
        self.parts = []  # in the order of the pseudo-code, those this agent has
        for owner_name, method, part in steps:
            owner = agent if owner_name is None else getattr(agent, owner_name, None)
            if hasattr(owner, method):
                setattr(owner, method, self.timed(getattr(owner, method), part))
                self.parts.append(part)

    def timed(self, function, part):
        def wrapper(*args, **kwargs):
            counter = FlopCounterMode(display=False) if self.count_flops else None
            self.inner.append([0.0, 0])
            start = time.thread_time()
            try:
                with counter or nullcontext():
                    return function(*args, **kwargs)
            finally:
                seconds = time.thread_time() - start
                flops = counter.get_total_flops() if counter else 0
                inner_seconds, inner_flops = self.inner.pop()
                self.seconds[part] += seconds - inner_seconds
                self.flops[part] += flops - inner_flops
                if self.inner:
                    self.inner[-1][0] += seconds
                    self.inner[-1][1] += flops
        return wrapper


MATMULS = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
           torch.ops.aten.baddbmm.default)


class RecordOps(TorchDispatchMode):
    """Records the aten operations run under it (below autograd: the kernels' own calls), with their arguments."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.namespace == "aten":  # not the profiler markers that torch.optim emits
            self.ops.append((func, args, kwargs))
        return func(*args, **kwargs)


def operand(shape, stride):
    """'256x5', or '5x256ᵀ' for a transposed view (the layout changes the speed of a product)."""
    contiguous = tuple(torch.empty(shape).stride())
    return "x".join(map(str, shape)) + ("" if stride == contiguous or len(shape) < 2 else "ᵀ")


def flop_count(call):
    """The FLOPs torch's FlopCounterMode counts for one `call()`."""
    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops()


class UpdateOps:
    """(g): the aten operations of one update of `agent`, recorded once and timed again in every round.

    Each distinct product (operation, shapes, strides) is timed alone, hot in cache, and counted as often
    as the update runs it: no implementation of the same update does its products faster. The replay
    calls every recorded operation in order, on the recorded tensors, from Python under no_grad: the
    kernels without graph recording, backward engine, module or optimizer code. (The backward's
    operations are called from Python here, from C++ in an update: update - replay is a lower bound
    on that book-keeping.) The best of all rounds is kept for both, as for the throughput of (a).
    """

    def __init__(self, agent):
        for _ in range(20):
            agent.update()
        self.n_updates = getattr(agent, "policy_update_freq", 1)  # TD3: a whole cycle, critic-only update included
        recorder = RecordOps()
        with recorder:
            for _ in range(self.n_updates):
                agent.update()
        self.ops = recorder.ops
        # (operation, shapes and strides) -> {the call, how many times one update makes it, its FLOPs, best time}
        self.products = {}
        for func, args, kwargs in self.ops:
            if func in MATMULS:
                key = (func, *[(tuple(a.shape), a.stride()) if isinstance(a, torch.Tensor) else a for a in args])
                if key not in self.products:
                    call = partial(func, *args, **kwargs)
                    self.products[key] = {"call": call, "count": 0, "flop": flop_count(call), "seconds": float("inf")}
                self.products[key]["count"] += 1
        self.replay_seconds = float("inf")

    def replay(self):
        with torch.no_grad():
            for func, args, kwargs in self.ops:
                func(*args, **kwargs)

    def time_round(self):
        for product in self.products.values():
            product["seconds"] = min(product["seconds"], best_seconds_per_call(product["call"], 0.05, 1))
        self.replay_seconds = min(self.replay_seconds, best_seconds_per_call(self.replay, 0.3, 1))

    def row(self):
        products = self.products.values()
        return {"mflop_per_update": sum(p["flop"] * p["count"] for p in products) / self.n_updates / 1e6,
                "ops_per_update": len(self.ops) / self.n_updates,
                "matmuls_per_update": sum(p["count"] for p in products) / self.n_updates,
                "matmul_ms_at_own_shapes": 1e3 * sum(p["seconds"] * p["count"] for p in products) / self.n_updates,
                "replay_ms": 1e3 * self.replay_seconds / self.n_updates,
                "products": [{"op": str(key[0]), "shapes": [operand(*arg) for arg in key[1:] if isinstance(arg, tuple)],
                              "per_update": p["count"] / self.n_updates, "gflop_per_s": p["flop"] / p["seconds"] / 1e9}
                             for key, p in self.products.items()]}


def time_parts(algo, env, transitions, throughput, n_updates, rounds):
    """(e): per step of the pseudo-code, ms per update measured and ms its matmul FLOPs need at the bound.

    Time is the CPU time of the calling thread: all of the work when torch runs on one thread. The
    round with the fastest whole update is reported, as the best round is elsewhere.
    """
    agent = our_agent(algo, env, transitions)
    timer = PartTimer(agent)
    timer.count_flops = True
    for _ in range(4):
        agent.update()
    flops = {part: count / 4 for part, count in timer.flops.items()}
    timer.count_flops = False
    for _ in range(20):
        agent.update()
    total, part_seconds = float("inf"), {}
    for _ in range(rounds):
        timer.seconds.clear()
        start = time.thread_time()
        for _ in range(n_updates):
            agent.update()
        seconds_per_update = (time.thread_time() - start) / n_updates
        if seconds_per_update < total:
            total, part_seconds = seconds_per_update, dict(timer.seconds)
    seconds = {part: part_seconds[part] / n_updates for part in timer.parts if part in part_seconds}
    seconds["the rest of update()"] = total - sum(seconds.values())
    return [{"agent": algo, "part": part, "updates": n_updates, "ms_per_update": 1e3 * s,
             "mflop_per_update": flops.get(part, 0) / 1e6, "ms_at_flop_bound": 1e3 * flops.get(part, 0) / throughput}
            for part, s in seconds.items()] + [
        {"agent": algo, "part": "whole update", "updates": n_updates, "ms_per_update": 1e3 * total,
         "mflop_per_update": sum(flops.values()) / 1e6, "ms_at_flop_bound": 1e3 * sum(flops.values()) / throughput}]


def measure_updates(algos, env, transitions, n_updates, rounds):
    throughput = matmul_throughput()
    rows = []
    for algo in algos:
        ours, draft = make_pair(algo, env)
        for transition in transitions:
            ours.memory.append(*transition)
            draft.memory.append(*transition)
        # Alternate the two, several rounds, and keep each one's best: both see the same machine load.
        # The matmul throughput is measured again in every round and its best is kept: the machine's
        # speed drifts, and the fastest it showed gives the strictest limit.
        update_ops = UpdateOps(our_agent(algo, env, transitions))
        ours_best = draft_best = 0.0
        for _ in range(rounds):
            ours_best = max(ours_best, updates_per_second(ours, n_updates))
            draft_best = max(draft_best, updates_per_second(draft, n_updates))
            throughput = max(throughput, matmul_throughput(seconds=0.5))
            update_ops.time_round()
        rows.append({"agent": algo, "updates_per_s": ours_best, "draft_updates_per_s": draft_best,
                     "speedup_vs_draft": ours_best / draft_best, **update_ops.row()})
    for row in rows:  # one limit per agent, from the best throughput of the whole run
        row["flop_bound_updates_per_s"] = throughput / (row["mflop_per_update"] * 1e6)
        row["fraction_of_limit"] = row["updates_per_s"] / row["flop_bound_updates_per_s"]
        row["fraction_of_limit_per_shape"] = row["updates_per_s"] * row["matmul_ms_at_own_shapes"] / 1e3
    parts = [row for algo in algos for row in time_parts(algo, env, transitions, throughput, n_updates, rounds)]
    return throughput, rows, parts


def thread_scaling(update_rows, env, transitions, n_updates, rounds):
    """(f): our updates/s and the matmul throughput at each torch thread count this machine offers."""
    chosen, rows = torch.get_num_threads(), []
    for threads in range(1, (os.cpu_count() or 1) + 1):
        torch.set_num_threads(threads)
        throughput = matmul_throughput()
        for row in update_rows:
            agent = our_agent(row["agent"], env, transitions)
            rate = max(updates_per_second(agent, n_updates) for _ in range(rounds))
            rows.append({"agent": row["agent"], "threads": threads, "updates_per_s": rate,
                         "matmul_flop_per_s": throughput,
                         "fraction_of_limit": rate * row["mflop_per_update"] * 1e6 / throughput})
    torch.set_num_threads(chosen)
    return rows


def solve_times(algos, seeds, runs_dir):
    from sample_efficiency import run_all

    results = run_all(algos, seeds, 1000, HIDDEN, runs_dir)
    rows = []
    for algo in algos:
        runs = sorted((r for r in results if r["variant"] == algo), key=lambda r: r["seed"])
        steps = [r["solved_at"] if r["solved_at"] is not None else np.inf for r in runs]
        rows.append({"agent": algo, "median_steps_to_solve": float(np.median(steps)),
                     "median_train_seconds": float(np.median([r["train_seconds"] for r in runs])),
                     "steps_per_seed": [r["solved_at"] for r in runs]})
    return rows


def markdown(info, throughput, update_rows, solve_rows, part_rows, thread_rows):
    lines = [info, "", f"float32 matmul throughput, (256x256)@(256x256)+bias: {throughput / 1e9:.1f} GFLOP/s", "",
             "| agent | updates/s | draft-style updates/s | speed-up vs draft | MFLOP/update | FLOP-bound updates/s "
             "| share of the limit |", "|---|---|---|---|---|---|---|"]
    for r in update_rows:
        lines.append(
            f"| {r['agent']} | {r['updates_per_s']:.0f} | {r['draft_updates_per_s']:.0f} | "
            f"{r['speedup_vs_draft']:.2f}x | {r['mflop_per_update']:.1f} | "
            f"{r['flop_bound_updates_per_s']:.0f} | {100 * r['fraction_of_limit']:.0f}% |"
        )
    lines += ["", "The limit per shape (g): each matrix product of an update timed alone at its own shapes, and all "
              "of the update's operations replayed without autograd, modules or optimizer code:", "",
              "| agent | update (ms) | matmuls | matmuls alone, each at its best (ms) | share of the per-shape limit "
              "| aten operations | operations replayed (ms) | replayed / update |",
              "|---|---|---|---|---|---|---|---|"]
    for r in update_rows:
        update_ms = 1e3 / r["updates_per_s"]
        lines.append(f"| {r['agent']} | {update_ms:.2f} | {r['matmuls_per_update']:.0f} | "
                     f"{r['matmul_ms_at_own_shapes']:.2f} | {100 * r['fraction_of_limit_per_shape']:.0f}% | "
                     f"{r['ops_per_update']:.0f} | {r['replay_ms']:.2f} | {100 * r['replay_ms'] / update_ms:.0f}% |")
    lines += ["", "Each product of (g), timed alone: its operation, the shapes of its operands (the first operand "
              "of addmm is the bias), how many an update makes, and the throughput reached:", "",
              "| agent | operation | shapes | per update | GFLOP/s |", "|---|---|---|---|---|"]
    for r in update_rows:
        for product in sorted(r["products"], key=lambda p: -p["gflop_per_s"]):
            shapes = ", ".join(product["shapes"])
            lines.append(f"| {r['agent']} | {product['op'].split('.')[1]} | {shapes} | {product['per_update']:g} | "
                         f"{product['gflop_per_s']:.1f} |")
    if solve_rows:
        lines += ["", "| agent | median env steps to solve | median train time (s) | steps per seed |"]
        lines += ["|---|---|---|---|"]
        for r in solve_rows:
            per_seed = ", ".join("—" if s is None else f"{s:,}" for s in r["steps_per_seed"])
            median_steps, median_seconds = r["median_steps_to_solve"], r["median_train_seconds"]
            lines.append(f"| {r['agent']} | {median_steps:,.0f} | {median_seconds:.0f} | {per_seed} |")
    lines += ["", f"Where an update's time goes (CPU time, mean of {part_rows[0]['updates']} updates, the fastest "
              "of the rounds; a part's figures exclude the parts it calls):", "",
              "| agent | part | ms per update | matmul MFLOP per update | ms at the FLOP bound | measured / bound |",
              "|---|---|---|---|---|---|"]
    for r in part_rows:
        ratio = f"{r['ms_per_update'] / r['ms_at_flop_bound']:.1f}x" if r["ms_at_flop_bound"] > 0 else "—"
        lines.append(f"| {r['agent']} | {r['part']} | {r['ms_per_update']:.2f} | {r['mflop_per_update']:.1f} | "
                     f"{r['ms_at_flop_bound']:.2f} | {ratio} |")
    lines += ["", "Torch threads (best of the same rounds; the limit at each count uses that count's matmul "
              "throughput):", "", "| agent | threads | updates/s | matmul GFLOP/s | share of the limit |",
              "|---|---|---|---|---|"]
    for r in thread_rows:
        gflops = r["matmul_flop_per_s"] / 1e9
        lines.append(f"| {r['agent']} | {r['threads']} | {r['updates_per_s']:.0f} | {gflops:.1f} | "
                     f"{100 * r['fraction_of_limit']:.0f}% |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac"])
    parser.add_argument("--updates", type=int, default=100, help="timed updates per round")
    parser.add_argument("--rounds", type=int, default=10, help="rounds, alternating ours and the draft-style code")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--solve", action="store_true", help="also time solving the task, 5 seeds per agent")
    parser.add_argument("--runs", default="runs/sweeps/speed_solve", help="the sweep's folder of solving runs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "speed"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = (f"{platform.processor() or platform.machine()}, {args.threads} torch thread(s), torch {torch.__version__}, "
            f"batch {BATCH}, hidden layers {list(HIDDEN)}; best of {args.rounds} rounds of {args.updates} updates.")
    if args.solve:
        info += (f" Solving: seeds 0-4, evaluated every 1,000 steps, one thread per run, one run per CPU through "
                 f"the sweep ({os.cpu_count()} CPUs); the train time excludes evaluations.")
    env, transitions = random_transitions()
    throughput, update_rows, part_rows = measure_updates(args.algos, env, transitions, args.updates, args.rounds)
    thread_rows = thread_scaling(update_rows, env, transitions, args.updates, args.rounds)
    solve_rows = solve_times(args.algos, [0, 1, 2, 3, 4], args.runs) if args.solve else []
    Path(args.out + ".json").write_text(json.dumps(
        {"info": info, "matmul_flop_per_s": throughput, "updates": update_rows, "solve": solve_rows,
         "parts": part_rows, "threads": thread_rows}, indent=1) + "\n")
    text = markdown(info, throughput, update_rows, solve_rows, part_rows, thread_rows)
    Path(args.out + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
