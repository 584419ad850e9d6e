"""TD3's target by hand, and its delayed updates."""

import pytest
import torch
from conftest import make_toy_env
from test_agents import make_agent


@pytest.mark.parametrize("noise_scale", [0.2, 3.0])  # 3.0: most of the noise is clipped
def test_td3_target_equals_a_hand_computation(noise_scale):
    agent = make_agent("td3", make_toy_env(), {"gamma": 0.9, "action_noise_scale": noise_scale,
                                               "action_noise_clip": 0.5})
    R, Y, D = torch.tensor([1.0, 2.0, -1.0]), torch.randn(3, 3) * 3, torch.tensor([0.0, 1.0, 0.0])
    low, high = torch.tensor([-1.0, 0.0]), torch.tensor([3.0, 2.0])
    scale = torch.tensor([2.0, 1.0])
    torch.manual_seed(123)
    epsilon = torch.randn(3, 2)  # the draw the agent makes after the same seed
    with torch.no_grad():
        noise = (epsilon * noise_scale).clamp(-0.5, 0.5) * scale
        next_action = torch.max(torch.min(agent.pi_target(Y) + noise, high), low)
        q1, q2 = agent.Q1_target(Y, next_action), agent.Q2_target(Y, next_action)
        expected = R + 0.9 * (1 - D) * torch.min(q1, q2)
    torch.manual_seed(123)
    target = agent.critic_target(R, Y, D)
    assert torch.allclose(target, expected, atol=1e-6)
    assert target[1] == 2.0  # terminated: the reward alone
    assert not target.requires_grad


def test_td3_without_clipped_double_q_uses_the_first_target_critic():
    agent = make_agent("td3", make_toy_env(), {"clipped_double_q": False, "action_noise_scale": 0.0})
    R, Y, D = torch.zeros(4), torch.randn(4, 3), torch.zeros(4)
    with torch.no_grad():
        expected = agent.gamma * agent.Q1_target(Y, agent.pi_target(Y))
    assert torch.allclose(agent.critic_target(R, Y, D), expected, atol=1e-6)


@pytest.mark.parametrize("freq", [1, 2, 3])
def test_actor_and_targets_move_exactly_every_policy_update_freq_critic_steps(freq):
    env = make_toy_env()
    agent = make_agent("td3", env, {"policy_update_freq": freq, "batch_size": 8, "delay_learning": 8})
    for _ in range(20):
        agent.memory.append(env.observation_space.sample(), env.action_space.sample(), 1.0,
                            env.observation_space.sample(), False)
    moved = []
    for _ in range(9):
        actor = [p.clone() for p in agent.pi.parameters()]
        target = [p.clone() for p in agent.Q1_target.parameters()]
        agent.update()
        actor_moved = any(not torch.equal(a, b) for a, b in zip(actor, agent.pi.parameters()))
        target_moved = any(not torch.equal(a, b) for a, b in zip(target, agent.Q1_target.parameters()))
        assert actor_moved == target_moved
        moved.append(actor_moved)
    assert moved == [(step + 1) % freq == 0 for step in range(9)]
    assert agent.critic_updates == 9


@pytest.mark.parametrize("updates_per_step", [1, 2, 3])
def test_updates_per_step_critic_steps_follow_each_environment_step_after_the_warm_up(updates_per_step):
    agent = make_agent("td3", make_toy_env(), {"delay_learning": 100, "batch_size": 32,
                                                "updates_per_step": updates_per_step})
    agent.train(make_toy_env(), 150)
    # updates start at environment step 100 (learning_starts) and follow every step from there: 51 steps
    assert agent.critic_updates == 51 * updates_per_step
