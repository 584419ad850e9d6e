"""What recording the diagnostics (agent.history) costs: update time with and without it, side by side.

"Without" is the same agent class with its `self.history.add(...)` lines removed from the source
(so that the tensors they record, mean Q, entropy, α, are not computed either). Both agents are
built with the same seed and fill their replay buffers with the same warm-up; then they take
updates in alternating blocks of `--block` updates, each update followed by the training loop's
book-keeping (count, and every 100 updates `history.record`, which converts the window to numbers).
The overhead is the median over the pairs of blocks of (CPU time with) / (CPU time without): an
upper bound of its share of training time, which also includes the environment steps.

    python benchmarks/history_overhead.py --pairs 15 --block 100

writes benchmarks/results/history_overhead.json and .md.
"""

import argparse
import inspect
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch

from solutions import crossq, ddpg, sac, sac_discrete, td3
from solutions.tooling.registry import ALGORITHMS, build_networks

ENV_ID = "InvertedPendulum-v5"
MODULES = {"ddpg": ddpg, "td3": td3, "sac": sac, "crossq": crossq, "sac_discrete": sac_discrete}
WARM_UP = 1000


def without_recording(algo):
    """The agent class of `algo`, compiled again from its source without its history.add calls."""
    module = MODULES[algo]
    source = re.sub(r"^ *self\.history\.add\(.*\)\n", "", inspect.getsource(module), flags=re.MULTILINE)
    assert "history.add" not in source
    namespace = {"__name__": f"{module.__name__}_unrecorded"}
    exec(compile(source, f"<{module.__name__} without history.add>", "exec"), namespace)
    return namespace[ALGORITHMS[algo][0].__name__]


def warmed_up_agent(agent_class, algo):
    torch.manual_seed(0)
    env = gym.make(ENV_ID)
    networks = build_networks(algo, env)
    config = {"seed": 0, "tqdm_disable": True, "delay_learning": WARM_UP + 1}
    agent = agent_class(config, *(networks[name] for name in agent_class.roles))
    agent.train(env, WARM_UP)  # random actions into the buffer, no update yet
    agent.history.start()  # record, as `train` does while it runs
    return agent


def block_seconds(agent, updates):
    """CPU time of `updates` updates with the training loop's book-keeping after each."""
    history = agent.history
    start = time.process_time()
    for _ in range(updates):
        agent.update()
        history.updates += 1
        if history.updates % history.every == 0:
            history.record(env_steps=agent.env_steps, episodes=history.episodes)
    return time.process_time() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=15, help="pairs of alternating blocks")
    parser.add_argument("--block", type=int, default=100, help="updates per block")
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac", "crossq"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for algo in args.algos:
        recorded = warmed_up_agent(ALGORITHMS[algo][0], algo)
        unrecorded = warmed_up_agent(without_recording(algo), algo)
        block_seconds(recorded, args.block)  # a first block each, untimed: allocations, caches
        block_seconds(unrecorded, args.block)
        ratios, times = [], {"recorded": [], "unrecorded": []}
        for _ in range(args.pairs):
            times["recorded"].append(block_seconds(recorded, args.block))
            times["unrecorded"].append(block_seconds(unrecorded, args.block))
            ratios.append(times["recorded"][-1] / times["unrecorded"][-1])
        rows.append({"algo": algo, "records": len(recorded.history["updates"]), "ratio": statistics.median(ratios),
                     "ratio_quartiles": statistics.quantiles(ratios, n=4)[::2],
                     **{f"{name}_ms_per_update": 1000 * statistics.median(values) / args.block
                        for name, values in times.items()}})
        print(f"{algo:6s} median ratio {rows[-1]['ratio']:.4f} (quartiles {rows[-1]['ratio_quartiles'][0]:.4f}"
              f"-{rows[-1]['ratio_quartiles'][1]:.4f})", flush=True)
        write_results(rows, args)  # after each agent: a run stopped early keeps what it measured


def write_results(rows, args):
    results = Path(__file__).parent / "results"
    setting = (f"{platform.machine()}, 1 thread, torch {torch.__version__}; {ENV_ID}, hidden [256, 256], "
               f"default configs, history_every 100; {args.pairs} alternating pairs of {args.block}-update "
               "blocks, CPU time")
    (results / "history_overhead.json").write_text(json.dumps({"setting": setting, "rows": rows}, indent=2) + "\n")
    lines = [f"Command: `python {' '.join(['benchmarks/history_overhead.py', *sys.argv[1:]])}`", "", setting + ".", "",
             "| agent | ms per update, with history | without | ratio (median of pairs) | quartiles |",
             "|---|---|---|---|---|"]
    for row in rows:
        low, high = row["ratio_quartiles"]
        lines.append(f"| {row['algo']} | {row['recorded_ms_per_update']:.2f} | {row['unrecorded_ms_per_update']:.2f} "
                     f"| {row['ratio']:.3f} | {low:.3f}-{high:.3f} |")
    (results / "history_overhead.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
