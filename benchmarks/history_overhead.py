"""What recording the diagnostics (agent.history) costs: training time with and without it, side by side.

"Without" is the same agent class with its `self.history.add(...)` lines removed from the source
(so that the tensors they record, mean Q, entropy, α, are not computed either); the training loop
still counts updates. Both variants train the same seed, the same number of steps, in alternating
rounds of one process, one thread; the ratio of their CPU times is the overhead.

    python benchmarks/history_overhead.py --steps 1500 --rounds 3

writes benchmarks/results/history_overhead.json and .md.
"""

import argparse
import inspect
import json
import platform
import re
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch

from solutions import crossq, ddpg, sac, sac_discrete, td3
from solutions.agents import ALGORITHMS, build_networks

ENV_ID = "InvertedPendulum-v5"
MODULES = {"ddpg": ddpg, "td3": td3, "sac": sac, "crossq": crossq, "sac_discrete": sac_discrete}


def without_recording(algo):
    """The agent class of `algo`, compiled again from its source without its history.add calls."""
    module = MODULES[algo]
    source = re.sub(r"^ *self\.history\.add\(.*\)\n", "", inspect.getsource(module), flags=re.MULTILINE)
    assert "history.add" not in source
    namespace = {"__name__": f"{module.__name__}_unrecorded"}
    exec(compile(source, f"<{module.__name__} without history.add>", "exec"), namespace)
    return namespace[ALGORITHMS[algo][2].__name__]


def cpu_seconds(agent_class, algo, steps, config):
    torch.manual_seed(0)
    env = gym.make(ENV_ID)
    networks = build_networks(algo, env)
    agent = (agent_class(config, networks["Q"], networks["pi"]) if algo == "ddpg"
             else agent_class(config, networks["Q1"], networks["Q2"], networks["pi"]))
    start = time.process_time()
    agent.train(env, steps)
    return time.process_time() - start, agent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="environment steps per run")
    parser.add_argument("--delay", type=int, default=500, help="warm-up steps (delay_learning)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--algos", nargs="+", default=["ddpg", "td3", "sac", "crossq"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = {"seed": 0, "tqdm_disable": True, "delay_learning": args.delay}
    rows = []
    for algo in args.algos:
        variants = {"recorded": ALGORITHMS[algo][2], "unrecorded": without_recording(algo)}
        times = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, agent_class in variants.items():
                seconds, agent = cpu_seconds(agent_class, algo, args.steps, config)
                times[name].append(seconds)
                if name == "recorded":
                    updates, records = agent.history.updates, len(agent.history["updates"])
        best = {name: min(values) for name, values in times.items()}
        rows.append({"algo": algo, "updates": updates, "records": records, **{f"{k}_s": v for k, v in times.items()},
                     "ratio": best["recorded"] / best["unrecorded"]})
        print(f"{algo:6s} recorded {best['recorded']:6.2f} s, unrecorded {best['unrecorded']:6.2f} s, "
              f"ratio {rows[-1]['ratio']:.4f}", flush=True)
    results = Path(__file__).parent / "results"
    setting = (f"{platform.machine()}, 1 thread, torch {torch.__version__}; {ENV_ID}, {args.steps} steps "
               f"({args.delay} warm-up), hidden [256, 256], history_every 100; best CPU time of {args.rounds} "
               "alternating rounds")
    (results / "history_overhead.json").write_text(json.dumps({"setting": setting, "rows": rows}, indent=2) + "\n")
    lines = [f"Command: `python {' '.join(['benchmarks/history_overhead.py', *sys.argv[1:]])}`", "", setting + ".", "",
             "| agent | updates | records | with history (s) | without (s) | ratio |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['algo']} | {row['updates']} | {row['records']} | {min(row['recorded_s']):.2f} | "
                     f"{min(row['unrecorded_s']):.2f} | {row['ratio']:.3f} |")
    (results / "history_overhead.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
