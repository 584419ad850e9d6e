"""What every agent promises: config errors, action-space errors, Polyak averaging, terminated vs
truncated, Ctrl-C, same-seed determinism."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import make_toy_env

from solutions.crossq import crossq_agent, crossQNetwork
from solutions.ddpg import ddpg_agent
from solutions.networks import QNetwork, policyNetwork
from solutions.sac import sac_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.td3 import td3_agent

QUIET = {"tqdm_disable": True}


def make_agent(name, env, config=None, hidden=(32, 32)):
    config = {**QUIET, **(config or {})}
    if name == "ddpg":
        return ddpg_agent(config, QNetwork(env, hidden), policyNetwork(env, hidden))
    if name == "td3":
        return td3_agent(config, QNetwork(env, hidden), QNetwork(env, hidden), policyNetwork(env, hidden))
    if name == "crossq":
        return crossq_agent(config, crossQNetwork(env, hidden), crossQNetwork(env, hidden),
                            squashedGaussianPolicy(env, hidden))
    return sac_agent(config, QNetwork(env, hidden), QNetwork(env, hidden), squashedGaussianPolicy(env, hidden))


AGENTS = ["ddpg", "td3", "sac", "crossq"]
WITH_TARGET_NETWORKS = ["ddpg", "td3", "sac"]  # CrossQ has none


@pytest.mark.parametrize("name", AGENTS)
def test_unknown_config_key_names_it_and_the_closest_key(name):
    with pytest.raises(ValueError, match=r"does not know the config key 'gama'.*Did you mean 'gamma'"):
        make_agent(name, make_toy_env(), {"gama": 0.9})


def test_td3_typo_of_the_draft_is_caught():
    with pytest.raises(ValueError, match="Did you mean 'action_noise_clip'"):
        make_agent("td3", make_toy_env(), {'action_noise_clip"': 0.5})


@pytest.mark.parametrize("name", AGENTS)
def test_discrete_action_space_is_refused_with_a_clear_error(name):
    agent = make_agent(name, make_toy_env())
    with pytest.raises(TypeError, match="needs a continuous action space"):
        agent.train(gym.make("CartPole-v1"), 10)


@pytest.mark.parametrize("name", AGENTS)
def test_unbounded_action_space_is_refused(name):
    env = make_toy_env()
    agent = make_agent(name, env)
    env.action_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    with pytest.raises(TypeError, match="finite action bounds"):
        agent.train(env, 10)


@pytest.mark.parametrize("name", WITH_TARGET_NETWORKS)
def test_soft_update_is_polyak_averaging(name):
    agent = make_agent(name, make_toy_env(), {"tau": 0.25})
    if name == "ddpg":
        pairs = [(agent.Q_target, agent.Q), (agent.pi_target, agent.pi)]
    else:
        pairs = [(agent.Q1_target, agent.Q1), (agent.Q2_target, agent.Q2)]
        pairs += [(agent.pi_target, agent.pi)] if name == "td3" else []
    with torch.no_grad():
        for _, online in pairs:
            for p in online.parameters():
                p.add_(torch.randn_like(p))
    before = [[(t.clone(), o.clone()) for t, o in zip(tn.parameters(), on.parameters())] for tn, on in pairs]
    agent.soft_update()
    for (target_net, online_net), saved in zip(pairs, before):
        for target, (old_target, online) in zip(target_net.parameters(), saved):
            assert torch.allclose(target, 0.25 * online + 0.75 * old_target, atol=1e-6)
        for online, (_, old_online) in zip(online_net.parameters(), saved):
            assert torch.equal(online, old_online)  # the online networks do not move


@pytest.mark.parametrize("name", AGENTS)
def test_truncation_is_not_stored_as_termination(name):
    agent = make_agent(name, make_toy_env(), {"delay_learning": 10_000})  # no learning: fast
    agent.train(make_toy_env(episode_length=5, terminates=False), 50)
    assert agent.memory.storage["terminated"][:50].sum() == 0
    agent = make_agent(name, make_toy_env(), {"delay_learning": 10_000})
    agent.train(make_toy_env(episode_length=5, terminates=True), 50)
    flags = agent.memory.storage["terminated"][:50]
    assert flags.tolist() == [float(t % 5 == 4) for t in range(50)]


@pytest.mark.parametrize("name", AGENTS)
def test_episode_returns_are_the_sums_of_rewards(name):
    env = make_toy_env(episode_length=10)
    agent = make_agent(name, env, {"delay_learning": 10_000, "seed": 3})
    returns = agent.train(env, 100)
    rewards = agent.memory.storage["reward"][:100].view(10, 10).sum(1)
    assert len(returns) == 10 and np.allclose(returns, rewards.numpy(), atol=1e-4)


@pytest.mark.parametrize("name", AGENTS)
def test_ctrl_c_keeps_learning_and_returns(name, capsys):
    env = make_toy_env(episode_length=10, interrupt_at=400)
    agent = make_agent(name, env, {"delay_learning": 64, "batch_size": 32})
    initial = [p.clone() for p in agent.pi.parameters()]
    returns = agent.train(env, 1000)
    assert len(returns) == 39 and returns is agent.episode_returns
    assert agent.env_steps == 399
    assert any(not torch.equal(a, b) for a, b in zip(initial, agent.pi.parameters()))
    assert "Training stopped by Ctrl-C" in capsys.readouterr().out


@pytest.mark.parametrize("name", AGENTS)
def test_ctrl_c_inside_the_actor_step_leaves_the_critics_trainable(name, capsys):
    """A Ctrl-C lands wherever the time goes, often in the actor step: the next `train` still learns.

    (An actor step that freezes the critic with requires_grad_(False) and thaws it after the step
    leaves it frozen when interrupted in between, and the next critic step fails.)
    """
    env = make_toy_env(episode_length=10)
    agent = make_agent(name, env, {"delay_learning": 64, "batch_size": 32})
    actor_optimizer_step = agent.pi_optimizer.step

    def interrupted_step():
        agent.pi_optimizer.step = actor_optimizer_step  # only the first actor step is interrupted
        raise KeyboardInterrupt

    agent.pi_optimizer.step = interrupted_step
    agent.train(env, 200)
    assert "Training stopped by Ctrl-C" in capsys.readouterr().out
    critics = [agent.Q] if name == "ddpg" else [agent.Q1, agent.Q2]
    before = [p.clone() for critic in critics for p in critic.parameters()]
    agent.train(env, 50)
    after = [p for critic in critics for p in critic.parameters()]
    assert all(p.requires_grad for p in after)
    assert all(not torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("name", AGENTS)
def test_same_seed_gives_identical_returns(name):
    def run():
        torch.manual_seed(7)
        env = make_toy_env(episode_length=10)
        agent = make_agent(name, env, {"seed": 7, "delay_learning": 64, "batch_size": 32})
        return agent.train(env, 300), [p.detach().clone() for p in agent.pi.parameters()]

    (returns_a, weights_a), (returns_b, weights_b) = run(), run()
    assert returns_a == returns_b
    assert all(torch.equal(a, b) for a, b in zip(weights_a, weights_b))


@pytest.mark.parametrize("name", AGENTS)
def test_a_second_train_call_continues_without_a_new_warm_up(name):
    env = make_toy_env(episode_length=10)
    agent = make_agent(name, env, {"delay_learning": 64, "batch_size": 32})
    agent.train(env, 100)
    agent.train(env, 100)
    assert agent.env_steps == 200 and len(agent.memory) == 200


@pytest.mark.parametrize("updates_per_step", [1, 2])
def test_ddpg_makes_updates_per_step_gradient_steps_per_environment_step(updates_per_step):
    env = make_toy_env()
    agent = make_agent("ddpg", env, {"delay_learning": 100, "batch_size": 32, "updates_per_step": updates_per_step})
    calls = []
    update = agent.update
    agent.update = lambda: (calls.append(agent.env_steps), update())
    agent.train(env, 150)
    # learning starts at environment step 100; from there, each step is followed by that many updates
    assert calls == [step for step in range(100, 151) for _ in range(updates_per_step)]


def test_ddpg_critic_target_by_hand():
    env = make_toy_env()
    agent = make_agent("ddpg", env, {"gamma": 0.9})
    R, Y, D = torch.tensor([1.0, 2.0]), torch.randn(2, 3), torch.tensor([0.0, 1.0])
    with torch.no_grad():
        next_q = agent.Q_target(Y, agent.pi_target(Y))
    target = agent.critic_target(R, Y, D)
    assert torch.allclose(target, torch.stack([1.0 + 0.9 * next_q[0], torch.tensor(2.0)]))
    assert not target.requires_grad


def test_ddpg_actor_step_moves_only_the_actor_and_raises_q():
    agent = make_agent("ddpg", make_toy_env(), {"learning_rate": 1e-2})
    X = torch.randn(64, 3)
    critic = [p.clone() for p in agent.Q.parameters()]
    with torch.no_grad():
        q_before = agent.Q(X, agent.pi(X)).mean()
    agent.actor_step(X)
    with torch.no_grad():
        q_after = agent.Q(X, agent.pi(X)).mean()
    assert q_after > q_before
    assert all(torch.equal(a, b) and b.grad is None for a, b in zip(critic, agent.Q.parameters()))
