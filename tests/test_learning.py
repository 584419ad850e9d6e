"""Short learning tests: each agent, with its default config, solves InvertedPendulum-v5.

Budget and threshold: the agent trains in chunks of 1,000 environment steps and its deterministic
policy is evaluated over 10 episodes after each chunk; the test passes when the mean return reaches
950 (out of 1,000) within the budget below. The budgets are those that benchmarks/ shows are enough
on at least 4 seeds out of 5 (benchmarks/results/sample_efficiency.md, and going_further.md for
CrossQ); each test uses one seed.
"""

import gymnasium as gym
import pytest
import torch

from solutions.evaluation import evaluate
from solutions.tooling.registry import build_agent, build_networks

THRESHOLD = 950.0
BUDGETS = {"ddpg": 20_000, "td3": 10_000, "sac": 15_000, "crossq": 10_000}


@pytest.mark.parametrize("algo", list(BUDGETS))
def test_agent_solves_the_inverted_pendulum_within_its_budget(algo):
    torch.manual_seed(0)
    env, eval_env = gym.make("InvertedPendulum-v5"), gym.make("InvertedPendulum-v5")
    networks = build_networks(algo, env, (256, 256))
    agent = build_agent(algo, {"seed": 0, "tqdm_disable": True}, networks)
    evaluations = []
    while agent.env_steps < BUDGETS[algo]:
        agent.train(env, 1000)
        mean, _ = evaluate(eval_env, networks["pi"], n_episodes=10, seed=10_000)
        evaluations.append((agent.env_steps, round(mean)))
        if mean >= THRESHOLD:
            break
    assert mean >= THRESHOLD, f"{algo} did not reach {THRESHOLD} in {BUDGETS[algo]} steps: {evaluations}"
