"""The one training loop (solutions/training.py): chunked calls continue, diagnostics are recorded."""

import math

import numpy as np
import pytest
import torch
from conftest import make_toy_env

from solutions.agents import make_agent

QUIET = {"tqdm_disable": True, "delay_learning": 64, "batch_size": 32, "seed": 5}
ALGOS = ["ddpg", "td3", "sac", "crossq"]


def trained(algo, chunks, config=None):
    torch.manual_seed(5)
    env = make_toy_env(episode_length=30)
    agent = make_agent(algo, env, {**QUIET, **(config or {})}, hidden_sizes=(16, 16))
    returns = [r for steps in chunks for r in agent.train(env, steps)]
    return agent, returns


@pytest.mark.parametrize("algo", ALGOS)
def test_train_in_chunks_continues_the_episode_and_equals_one_call(algo):
    # 3 calls of 100 steps end inside episodes (30 steps long): each call continues the episode
    # the previous one left, so the run is the one 300-step call's, return for return, weight for weight.
    whole, whole_returns = trained(algo, [300])
    chunked, chunked_returns = trained(algo, [100, 100, 100])
    assert len(whole_returns) == 10 and chunked_returns == whole_returns
    assert all(torch.equal(a, b) for a, b in zip(whole.pi.parameters(), chunked.pi.parameters()))
    assert chunked.env_steps == 300 and len(chunked.memory) == 300


def test_an_episode_split_between_two_calls_counts_all_its_rewards():
    agent, _ = trained("sac", [])
    env = make_toy_env(episode_length=30)
    assert agent.train(env, 20) == []  # no episode ended yet
    (episode_return,) = agent.train(env, 10)
    assert episode_return == pytest.approx(agent.memory.storage["reward"][:30].sum().item(), abs=1e-4)


def test_ctrl_c_inside_an_episode_is_continued_by_the_next_call(capsys):
    env = make_toy_env(episode_length=10, interrupt_at=15)
    agent = make_agent("ddpg", env, QUIET, hidden_sizes=(16, 16))
    assert len(agent.train(env, 100)) == 1  # interrupted at the 5th step of the second episode
    assert "Training stopped by Ctrl-C" in capsys.readouterr().out
    returns = agent.train(env, 6)  # 5 steps finish the second episode
    assert len(returns) == 1 and agent.env_steps == 20
    assert returns[0] == pytest.approx(agent.memory.storage["reward"][10:20].sum().item(), abs=1e-4)


@pytest.mark.parametrize("algo", ALGOS)
def test_history_records_every_n_updates_as_columns(algo):
    agent, _ = trained(algo, [400], {"history_every": 50})
    history = agent.history
    updates = (400 - 64 + 1) * agent.updates_per_step
    rows = updates // 50
    expected = {"updates", "env_steps", "episodes", "updates_per_second", "critic_loss", "mean_q", "actor_loss"}
    if algo in ("sac", "crossq"):
        expected |= {"alpha", "entropy"}
    assert set(history) == expected and all(len(column) == rows for column in history.values())
    assert history["updates"] == [50.0 * (i + 1) for i in range(rows)]
    assert np.all(np.diff(history["env_steps"]) > 0) and history["episodes"][-1] <= 400 / 30
    assert all(math.isfinite(value) for column in history.values() for value in column)


def test_history_mean_q_and_critic_loss_are_the_window_means():
    env = make_toy_env(episode_length=30)
    agent = make_agent("ddpg", env, {**QUIET, "history_every": 4}, hidden_sizes=(16, 16))
    seen = []
    critic_step = agent.critic_step

    def watched_critic_step(X, A, R, Y, D):
        with torch.no_grad():
            q = agent.Q(X, A).mean()
        seen.append((critic_step(X, A, R, Y, D).item(), q.item()))
        return seen[-1][0]

    agent.critic_step = watched_critic_step  # the agent's own step still records its values
    agent.train(env, 64 + 7)  # 8 updates: two rows
    losses, qs = np.array(seen).T
    assert agent.history["critic_loss"] == pytest.approx([losses[:4].mean(), losses[4:].mean()], rel=1e-5)
    assert agent.history["mean_q"] == pytest.approx([qs[:4].mean(), qs[4:].mean()], rel=1e-5)


def test_a_step_called_outside_train_records_nothing():
    agent, _ = trained("sac", [])
    X = torch.randn(8, 3)
    agent.actor_step(X)
    assert agent.history.pending == {} and dict(agent.history) == {}
