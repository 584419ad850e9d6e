"""FLOPs of one CrossQ update with critics of two layers of 256 against the paper's 2048, and of one SAC
update with critics of 256 for comparison (InvertedPendulum-v5, batch 256, the default configs), counted
with torch's FlopCounterMode (matrix products and the like; element-wise operations are not counted).

    OMP_NUM_THREADS=1 python benchmarks/crossq_width_flops.py

writes benchmarks/results/crossq_width_flops.{json,md} (quoted in notebook 4). A few seconds on one core.
"""

import json
import platform
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from solutions.crossq import crossq_agent, crossQNetwork
from solutions.networks import QNetwork
from solutions.sac import sac_agent
from solutions.sac_policy import squashedGaussianPolicy

RESULTS = Path(__file__).resolve().parent / "results"
# CrossQ's actor and temperature move every third update: average over one cycle of 3 updates (SAC
# updates all three at every update, so its 3 counts are equal).
CYCLE = 3


def flops_per_update(name, width, env):
    torch.manual_seed(0)
    config = {"tqdm_disable": True}
    if name == "crossq":
        agent = crossq_agent(config, crossQNetwork(env, (width, width)), crossQNetwork(env, (width, width)),
                             squashedGaussianPolicy(env))
    else:
        agent = sac_agent(config, QNetwork(env, (width, width)), QNetwork(env, (width, width)),
                          squashedGaussianPolicy(env))
    for _ in range(300):
        s = env.observation_space.sample()
        agent.memory.append(s, env.action_space.sample(), 1.0, s, False)
    counts = []
    for _ in range(CYCLE):
        with FlopCounterMode(display=False) as counter:
            agent.update()
        counts.append(int(counter.get_total_flops()))
    return counts


def main():
    env = gym.make("InvertedPendulum-v5")
    rows = []
    for name, width in (("sac", 256), ("crossq", 256), ("crossq", 2048)):
        counts = flops_per_update(name, width, env)
        rows.append({"agent": name, "critic_hidden": [width, width], "flops_per_update": counts,
                     "mean_mflop_per_update": round(float(np.mean(counts)) / 1e6, 1)})
        print(f"{name} critics 2x{width}: {rows[-1]['mean_mflop_per_update']:.1f} MFLOP per update "
              f"(mean of {len(counts)} updates: {counts})")
    by_key = {(r["agent"], r["critic_hidden"][0]): r["mean_mflop_per_update"] for r in rows}
    ratio = by_key[("crossq", 2048)] / by_key[("crossq", 256)]
    print(f"ratio crossq 2048/256: {ratio:.1f}")
    machine = f"{platform.machine()}, torch {torch.__version__}"
    (RESULTS / "crossq_width_flops.json").write_text(
        json.dumps({"env": "InvertedPendulum-v5", "batch_size": 256, "machine": machine, "rows": rows,
                    "ratio_crossq_2048_over_256": round(ratio, 1)}, indent=1) + "\n")
    lines = [
        "FLOPs of one update on InvertedPendulum-v5 (batch 256, default configs, the actor's hidden layers "
        "[256, 256]), counted with torch's FlopCounterMode (matrix products; element-wise operations are "
        f"not counted); mean over {CYCLE} consecutive updates, one cycle of CrossQ's delayed actor; {machine}.",
        "",
        "| agent | critics' hidden layers | MFLOP per update (mean) | the 3 updates (MFLOP) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        each = ", ".join(f"{c / 1e6:.1f}" for c in r["flops_per_update"])
        lines.append(f"| {r['agent']} | {r['critic_hidden']} | {r['mean_mflop_per_update']:.1f} | {each} |")
    lines += ["", f"CrossQ with the paper's 2048-wide critics against 256: {ratio:.1f} times the FLOPs per update.",
              "", "    OMP_NUM_THREADS=1 python benchmarks/crossq_width_flops.py"]
    (RESULTS / "crossq_width_flops.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
