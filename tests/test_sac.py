"""SAC's squashed-Gaussian log-probability, critic target, actor step and temperature."""

import math

import pytest
import torch
from conftest import make_toy_env
from test_agents import make_agent
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution

from solutions.sac_policy import LOG_STD_MAX, LOG_STD_MIN, squashed_log_prob, squashedGaussianPolicy


def test_log_prob_matches_torch_transformed_distribution():
    torch.manual_seed(0)
    mean, log_std = torch.randn(500, 2), torch.rand(500, 2) * 2 - 1.5
    u = mean + log_std.exp() * torch.randn(500, 2)
    u = u.clamp(-3, 3)  # where torch's own inverse (atanh) is still accurate in float32
    scale, bias = torch.tensor([2.0, 1.0]), torch.tensor([1.0, 1.0])
    reference = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform(), AffineTransform(bias, scale)])
    action = torch.tanh(u) * scale + bias
    expected = reference.log_prob(action).sum(-1)
    assert torch.allclose(squashed_log_prob(u, mean, log_std, scale), expected, atol=1e-4)


def test_log_prob_stays_finite_for_large_pre_tanh_values():
    u = torch.tensor([[30.0, -30.0], [100.0, 9.0]])
    log_prob = squashed_log_prob(u, torch.zeros(2, 2), torch.zeros(2, 2), torch.tensor([2.0, 1.0]))
    assert torch.isfinite(log_prob).all()
    # 1 - tanh²(30) ≈ 4 e^-60: the correction term is about +2·30 - 2 log 2 ... per dimension
    expected_correction = 2 * (30 - math.log(2)) * 2
    gaussian = -0.5 * 30.0**2 * 2 - math.log(2 * math.pi)
    assert torch.isclose(log_prob[0], torch.tensor(gaussian + expected_correction - math.log(2.0)), atol=1e-3)


def test_policy_samples_in_bounds_with_bounded_log_std(asymmetric_env):
    pi = squashedGaussianPolicy(asymmetric_env)
    with torch.no_grad():
        pi.log_std_head.weight.mul_(100)
        states = torch.randn(1000, 3) * 10
        mean, log_std = pi.mean_and_log_std(states)
        action, log_prob = pi.sample(states)
    assert log_std.min() >= LOG_STD_MIN and log_std.max() <= LOG_STD_MAX
    assert ((action >= torch.tensor([-1.0, 0.0])) & (action <= torch.tensor([3.0, 2.0]))).all()
    assert action.shape == (1000, 2) and log_prob.shape == (1000,)
    assert torch.allclose(pi(states), torch.tanh(mean) * pi.action_scale + pi.action_bias)


def test_sample_is_reparametrised(asymmetric_env):
    pi = squashedGaussianPolicy(asymmetric_env)
    action, _ = pi.sample(torch.randn(8, 3))
    action.sum().backward()
    assert pi.mean_head.weight.grad.abs().sum() > 0 and pi.log_std_head.weight.grad.abs().sum() > 0


def test_sac_critic_target_equals_a_hand_computation():
    agent = make_agent("sac", make_toy_env(), {"gamma": 0.9, "alpha": 0.5})
    R, Y, D = torch.tensor([1.0, 2.0]), torch.randn(2, 3), torch.tensor([0.0, 1.0])
    torch.manual_seed(5)
    with torch.no_grad():
        next_action, next_log_prob = agent.pi.sample(Y)
        next_q = torch.min(agent.Q1_target(Y, next_action), agent.Q2_target(Y, next_action))
        expected = R + 0.9 * (1 - D) * (next_q - 0.5 * next_log_prob)
    torch.manual_seed(5)
    assert torch.allclose(agent.critic_target(R, Y, D), expected, atol=1e-6)


def test_sac_actor_step_uses_the_current_critics_and_leaves_them_alone():
    agent = make_agent("sac", make_toy_env())
    with torch.no_grad():  # poisoned target critics: an actor that reads them learns NaN
        for p in [*agent.Q1_target.parameters(), *agent.Q2_target.parameters()]:
            p.fill_(float("nan"))
    critics = [p.clone() for p in [*agent.Q1.parameters(), *agent.Q2.parameters()]]
    actor = [p.clone() for p in agent.pi.parameters()]
    agent.actor_step(torch.randn(32, 3))
    assert all(torch.isfinite(p).all() for p in agent.pi.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(actor, agent.pi.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(critics, [*agent.Q1.parameters(), *agent.Q2.parameters()]))


@pytest.mark.parametrize("entropy, alpha_moves", [(5.0, "down"), (-5.0, "up")])
def test_learned_temperature_follows_the_entropy(entropy, alpha_moves):
    agent = make_agent("sac", make_toy_env(), {"alpha": 0.2})  # target entropy -dim(A) = -2
    assert agent.target_entropy == -2.0
    before = agent.alpha.clone()
    for _ in range(5):
        agent.temperature_step(torch.full((64,), -entropy))  # log π = -entropy
    assert (agent.alpha < before) if alpha_moves == "down" else (agent.alpha > before)


def test_fixed_temperature_does_not_move():
    env = make_toy_env()
    agent = make_agent("sac", env, {"learn_alpha": False, "alpha": 0.3, "delay_learning": 32, "batch_size": 32})
    agent.train(env, 100)
    assert torch.isclose(agent.alpha, torch.tensor(0.3))
