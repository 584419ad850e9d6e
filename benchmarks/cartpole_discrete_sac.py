"""Discrete SAC on CartPole-v1: the greedy return after 6,000 steps with the default config, measured
as tests/test_sac_discrete.py and notebook 3 do (10 episodes, evaluation seeds from 1,000, one thread).
--policy-first builds the policy before the critics, as notebook 3's cell does (the test builds the
critics first), which changes the initial weights.

    OMP_NUM_THREADS=1 python benchmarks/cartpole_discrete_sac.py 0 1 2 3 4 5
    OMP_NUM_THREADS=1 python benchmarks/cartpole_discrete_sac.py --policy-first 0
    OMP_NUM_THREADS=1 python benchmarks/cartpole_discrete_sac.py --learn-alpha 0.98 0 1 2

writes benchmarks/results/cartpole_discrete_sac.md (the default: fixed α = 1, critics first), or a file
of its own for --policy-first or --learn-alpha RATIO (α learned from 0.1 towards the target entropy
RATIO · log 2; the paper's ratio is 0.98).
"""

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from solutions.evaluation import evaluate
from solutions.sac_discrete import categoricalPolicy, discreteQNetwork, sac_discrete_agent

STEPS = 6_000


def greedy_return(seed, policy_first, config):
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1")
    if policy_first:
        pi = categoricalPolicy(env)
        Q1, Q2 = discreteQNetwork(env), discreteQNetwork(env)
    else:
        Q1, Q2, pi = discreteQNetwork(env), discreteQNetwork(env), categoricalPolicy(env)
    agent = sac_discrete_agent({"seed": seed, "tqdm_disable": True, **config}, Q1, Q2, pi)
    agent.train(env, STEPS)
    mean, std = evaluate(gym.make("CartPole-v1"), agent.pi, n_episodes=10, seed=1000)
    return mean, std, agent.alpha.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--policy-first", action="store_true")
    parser.add_argument("--learn-alpha", type=float, metavar="RATIO",
                        help="learn α from 0.1, towards the target entropy RATIO · log 2")
    args = parser.parse_args()
    config = {} if args.learn_alpha is None else {"learn_alpha": True, "alpha": 0.1,
                                                  "target_entropy_ratio": args.learn_alpha}
    torch.set_num_threads(1)
    rows, means = [], []
    for seed in args.seeds:
        mean, std, alpha = greedy_return(seed, args.policy_first, config)
        means.append(mean)
        rows.append(f"| {seed} | {mean:.0f} ± {std:.0f} | {alpha:.3g} |")
        print(rows[-1], flush=True)
    order = "policy built first, as notebook 3" if args.policy_first else "critics built first, as the test"
    temperature = ("fixed α = 1, the default" if args.learn_alpha is None else
                   f"α learned from 0.1 towards {args.learn_alpha:g} · log 2 nats")
    text = (f"Discrete SAC, CartPole-v1, {temperature} (the rest as the default config), {STEPS:,} steps, "
            f"{order}; greedy return (argmax of π) over 10 episodes from evaluation seed 1,000. CartPole-v1 "
            f"counts as solved at 475.\n\n"
            "| seed | greedy return | final α |\n|---|---|---|\n" + "\n".join(rows) +
            f"\n\nMean over seeds {np.mean(means):.0f}, lowest {min(means):.0f}.\n\n"
            f"    OMP_NUM_THREADS=1 python {' '.join(['benchmarks/cartpole_discrete_sac.py', *sys.argv[1:]])}\n")
    name = "cartpole_discrete_sac" + "_policy_first" * args.policy_first
    name += "" if args.learn_alpha is None else f"_learned_alpha_{args.learn_alpha:g}"
    Path(__file__).parent.joinpath("results", name + ".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
