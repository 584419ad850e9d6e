"""CrossQ: the batch-norm critic, the joint forward pass, the detached target, the actor's eval mode."""

import pytest
import torch
from conftest import BoxSpaces, make_toy_env
from test_agents import make_agent

from solutions.crossq import crossq_agent, crossQNetwork
from solutions.networks import QNetwork
from solutions.sac_policy import squashedGaussianPolicy


def filled_agent(config=None, transitions=300):
    agent = make_agent("crossq", make_toy_env(), {"delay_learning": 100, "batch_size": 64, **(config or {})})
    env = make_toy_env()
    agent.train(env, transitions)
    return agent


def test_critic_gives_one_value_per_pair_and_a_scalar_for_one_pair():
    Q = crossQNetwork(BoxSpaces(), (16, 16))
    assert Q(torch.randn(10, 3), torch.randn(10, 2)).shape == (10,)
    Q.eval()  # one pair has no batch statistics: evaluation mode uses the running ones
    assert Q(torch.randn(3), torch.randn(2)).shape == ()


def test_joint_pass_normalises_both_halves_with_the_statistics_of_the_whole_batch():
    Q = crossQNetwork(BoxSpaces(), (16, 16))
    X, A = torch.randn(32, 3), torch.randn(32, 2)
    Y, next_action = torch.randn(32, 3) + 3.0, torch.randn(32, 2)  # s' with other statistics than s
    q, next_q = crossq_agent.joint_q_values(Q, X, A, Y, next_action)
    assert q.shape == next_q.shape == (32,)
    both = Q(torch.cat([X, Y]), torch.cat([A, next_action]))
    assert torch.allclose(q, both[:32]) and torch.allclose(next_q, both[32:])
    # Two separate passes would normalise (s, a) with its own statistics: different Q-values.
    assert not torch.allclose(q, Q(X, A), atol=1e-3)


def test_critic_target_by_hand_and_detached():
    agent = make_agent("crossq", make_toy_env(), {"gamma": 0.9, "alpha": 0.5})
    R, D = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 1.0])
    next_q1 = torch.tensor([4.0, 7.0], requires_grad=True)
    next_q2 = torch.tensor([5.0, 3.0], requires_grad=True)
    next_log_prob = torch.tensor([-1.0, 2.0])
    target = agent.critic_target(R, D, next_q1, next_q2, next_log_prob)
    # seed 1: 1 + 0.9 * (min(4, 5) - 0.5 * (-1)) = 5.05; seed 2 is terminal: y = r = 2
    assert torch.allclose(target, torch.tensor([5.05, 2.0]))
    assert not target.requires_grad  # no gradient through Q(s', a'): there is no target network to stop it


def test_critic_step_updates_batch_statistics_and_actor_step_does_not():
    agent = filled_agent()
    X, A, R, Y, D = agent.memory.sample(64)
    bn = agent.Q1.net[0]
    before = bn.running_mean.clone()
    agent.critic_step(X, A, R, Y, D)
    assert not torch.allclose(bn.running_mean, before)
    assert agent.Q1.training

    after_critic = bn.running_mean.clone()
    critic_weights = [p.clone() for p in agent.Q1.parameters()]
    actor_weights = [p.clone() for p in agent.pi.parameters()]
    agent.actor_step(X)
    assert torch.equal(bn.running_mean, after_critic)  # eval mode: running statistics are only read
    assert all(torch.equal(p, q) for p, q in zip(agent.Q1.parameters(), critic_weights))
    assert any(not torch.equal(p, q) for p, q in zip(agent.pi.parameters(), actor_weights))
    assert all(p.requires_grad for p in agent.Q1.parameters())  # unfrozen for the next critic step


@pytest.mark.parametrize("freq", [1, 3])
def test_actor_steps_once_every_policy_update_freq_critic_steps(freq):
    agent = filled_agent({"policy_update_freq": freq})
    calls = []
    agent.actor_step = lambda X: calls.append(agent.critic_updates) or torch.zeros(len(X))
    start = agent.critic_updates
    for _ in range(6):
        agent.update()
    assert calls == [n for n in range(start + 1, start + 7) if n % freq == 0]


def test_critics_without_batch_norm_are_refused_with_the_fix():
    env = BoxSpaces()
    with pytest.raises(ValueError, match=r"needs critics with batch normalisation.*crossQNetwork\(env\)"):
        crossq_agent({}, QNetwork(env), QNetwork(env), squashedGaussianPolicy(env))


@pytest.mark.parametrize("target_entropy, rises", [(10.0, True), (-10.0, False)])
def test_temperature_rises_when_entropy_is_below_target_and_falls_above(target_entropy, rises):
    agent = filled_agent({"policy_update_freq": 1, "target_entropy": target_entropy})
    assert (agent.alpha > 0.2) == rises and agent.alpha != pytest.approx(0.2)
