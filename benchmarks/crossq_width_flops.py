"""FLOPs of one CrossQ update with critics of two layers of 256 against the paper's 2048 (InvertedPendulum-v5),
counted with torch's FlopCounterMode. Run: OMP_NUM_THREADS=1 python benchmarks/crossq_width_flops.py"""

import gymnasium as gym
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from solutions.crossq import crossq_agent, crossQNetwork
from solutions.sac_policy import squashedGaussianPolicy

env = gym.make("InvertedPendulum-v5")
flops = {}
for width in (256, 2048):
    torch.manual_seed(0)
    agent = crossq_agent(
        {"tqdm_disable": True},
        crossQNetwork(env, (width, width)),
        crossQNetwork(env, (width, width)),
        squashedGaussianPolicy(env),
    )
    for _ in range(300):
        s = env.observation_space.sample()
        agent.memory.append(s, env.action_space.sample(), 1.0, s, False)
    counts = []
    for _ in range(3):  # the actor and the temperature move every third update: average over one cycle
        with FlopCounterMode(display=False) as counter:
            agent.update()
        counts.append(counter.get_total_flops())
    flops[width] = np.mean(counts)
    print(f"critics 2x{width}: {flops[width] / 1e6:.1f} MFLOP per update (mean of {len(counts)} updates: {counts})")
print(f"ratio 2048/256: {flops[2048] / flops[256]:.1f}")
