"""Discrete SAC on CartPole-v1: the greedy return after 6,000 steps with the default config, measured
as tests/test_sac_discrete.py and notebook 3 do (10 episodes, evaluation seeds from 1,000, one thread).
--policy-first builds the policy before the critics, as notebook 3's cell does (the test builds the
critics first), which changes the initial weights.

    OMP_NUM_THREADS=1 python benchmarks/cartpole_discrete_sac.py 0 1 2
    OMP_NUM_THREADS=1 python benchmarks/cartpole_discrete_sac.py --policy-first 0
"""

import argparse

import gymnasium as gym
import torch

from solutions.evaluation import evaluate
from solutions.sac_discrete import categoricalPolicy, discreteQNetwork, sac_discrete_agent

parser = argparse.ArgumentParser()
parser.add_argument("seeds", type=int, nargs="+")
parser.add_argument("--policy-first", action="store_true")
args = parser.parse_args()
torch.set_num_threads(1)
for seed in args.seeds:
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1")
    if args.policy_first:
        pi = categoricalPolicy(env)
        Q1, Q2 = discreteQNetwork(env), discreteQNetwork(env)
    else:
        Q1, Q2, pi = discreteQNetwork(env), discreteQNetwork(env), categoricalPolicy(env)
    agent = sac_discrete_agent({"seed": seed, "tqdm_disable": True}, Q1, Q2, pi)
    agent.train(env, 6_000)
    mean, std = evaluate(gym.make("CartPole-v1"), agent.pi, n_episodes=10, seed=1000)
    print(f"seed {seed}: greedy return {mean:.0f} ± {std:.0f}", flush=True)
