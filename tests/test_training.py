"""The one training loop (solutions/training.py): chunked calls continue, diagnostics are recorded."""

import math

import numpy as np
import pytest
import torch
from conftest import make_toy_env

from solutions.networks import QNetwork
from solutions.sac import sac_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.tooling.registry import make_agent

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
    # the same diagnostics too (a window of 100 updates may span two calls), but for the timing
    for name in set(whole.history) - {"updates_per_second"}:
        assert chunked.history[name] == whole.history[name], name


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


def test_make_agent_builds_every_algorithm_by_name():
    import gymnasium as gym

    from solutions.tooling.registry import ALGOS

    assert ALGOS == ["ddpg", "td3", "sac", "crossq", "sac_discrete"]
    for algo in ALGOS:
        env = gym.make("CartPole-v1") if algo == "sac_discrete" else make_toy_env()
        agent = make_agent(algo, env, {"tqdm_disable": True, "delay_learning": 40, "batch_size": 16, "seed": 0}, (8,))
        assert type(agent).__name__ == f"{algo}_agent" and agent.pi is agent.networks["pi"]
        assert len(agent.train(env, 60)) >= 1 and agent.history.updates == 21 * agent.updates_per_step
    with pytest.raises(ValueError, match="unknown algorithm 'ppo'; choose one of ddpg, td3"):
        make_agent("ppo", make_toy_env())


def test_the_config_cannot_be_changed_after_the_agent_is_built():
    agent = make_agent("td3", make_toy_env(), {"tqdm_disable": True}, (8,))
    with pytest.raises(TypeError):
        agent.config["exploration_noise"] = 0.5  # the agent read it in __init__: a change would go unseen


def test_plot_history_draws_each_diagnostic_against_environment_steps():
    import matplotlib

    matplotlib.use("Agg")
    from solutions.evaluation import plot_history

    agent, _ = trained("sac", [300], {"history_every": 50})
    axes = plot_history(agent.history)
    labels = [ax.get_ylabel() for ax in axes if ax.get_visible()]
    assert labels == ["critic loss", "mean Q(s, a) on the batch", "actor loss", "temperature α",
                      "policy entropy (nats)", "updates per second"]
    x, y = axes[1].lines[0].get_data()
    assert list(x) == agent.history["env_steps"] and list(y) == agent.history["mean_q"]
    assert axes[0].get_xlabel() == "environment steps"


def test_learning_curve_against_steps_with_evaluations_and_several_seeds():
    import matplotlib

    matplotlib.use("Agg")
    from solutions.evaluation import plot_learning_curve

    ax = plot_learning_curve([1.0, 2.0, 3.0], window=1, steps=[10, 30, 60], evaluations=[(30, 5.0), (60, 7.0)])
    assert ax.get_xlabel() == "environment steps"
    assert list(ax.lines[0].get_xdata()) == [10, 30, 60]
    assert [tuple(point) for point in ax.lines[2].get_xydata()] == [(30, 5.0), (60, 7.0)]
    # two seeds whose episodes end at different steps: read at common steps, from 20 to 60
    ax = plot_learning_curve([[0.0, 2.0], [2.0, 4.0, 6.0]], window=1, steps=[[20, 60], [10, 40, 70]],
                             evaluations=[[(50, 1.0)], [(50, 3.0)]])
    x, mean = ax.lines[0].get_data()
    assert x[0] == 20 and x[-1] == 60
    assert mean[0] == pytest.approx((0.0 + (2.0 + 2.0 * 10 / 30)) / 2)  # seed 2 interpolated at step 20
    band = ax.collections[0]
    assert band is not None and ax.get_legend() is not None
    assert ax.containers[0].lines[0].get_ydata()[0] == pytest.approx(2.0)  # mean of the two evaluations


def test_plot_history_keeps_a_panel_per_column_and_says_what_an_agent_did_not_record(capsys):
    import matplotlib

    matplotlib.use("Agg")
    from solutions.evaluation import plot_history

    class OwnLoopAgent:  # a student's agent whose own training loop keeps no history
        pass

    axes = plot_history(OwnLoopAgent(), ["mean_q", "critic_loss"])
    assert len(axes) == 2 and [ax.texts[0].get_text() for ax in axes] == ["mean_q: not recorded",
                                                                         "critic_loss: not recorded"]
    assert capsys.readouterr().out == (
        "No diagnostics to plot: this agent has no `history`. The course's loop fills one: end your agent's train "
        "with `return training.train(self, env, max_steps)` (solutions/training.py).\n")
    history = {"env_steps": [100, 200], "updates": [100, 200], "critic_loss": [1.0, 0.5]}
    axes = plot_history(history, ["mean_q", "critic_loss"])
    assert axes[0].texts[0].get_text() == "mean_q: not recorded" and list(axes[1].lines[0].get_ydata()) == [1.0, 0.5]
    assert capsys.readouterr().out.startswith("Not recorded by this agent: mean_q. Its steps record a value with "
                                              "self.history.add(mean_q=value.detach())")


def test_an_algorithm_that_does_not_fit_the_action_space_is_refused_by_name():
    import gymnasium as gym

    with pytest.raises(TypeError, match="sac_discrete needs a discrete action space.*Box.*choose ddpg, td3"):
        make_agent("sac_discrete", make_toy_env())
    with pytest.raises(TypeError, match="td3 needs a continuous action space.*Discrete.*choose sac_discrete"):
        make_agent("td3", gym.make("CartPole-v1"))


class FakeCapturedUpdate:
    """Stands in for solutions.tooling.captured_update.CapturedUpdate on a CPU: the agent's own update, counted."""

    built = []
    replays_a_cuda_graph = True

    def __init__(self, agent, warmup_updates):
        self.eager_update, self.calls = agent.update, 0
        FakeCapturedUpdate.built.append(agent)

    def __call__(self):
        self.calls += 1
        self.eager_update()


@pytest.mark.parametrize("algo", ALGOS)
def test_captured_update_makes_the_loop_call_it_built_once_in_place_of_the_update(algo, monkeypatch):
    monkeypatch.setattr(FakeCapturedUpdate, "built", [])
    monkeypatch.setattr("solutions.tooling.captured_update.CapturedUpdate", FakeCapturedUpdate)
    eager, eager_returns = trained(algo, [150, 150])
    captured, captured_returns = trained(algo, [150, 150], {"captured_update": True})
    assert FakeCapturedUpdate.built == [captured]  # one, for both calls of train
    assert captured.update.calls == captured.history.updates == eager.history.updates == 237 * eager.updates_per_step
    assert captured_returns == eager_returns
    for network in type(eager).roles:
        for a, b in zip(getattr(eager, network).parameters(), getattr(captured, network).parameters()):
            assert torch.equal(a, b)
    for name in set(eager.history) - {"updates_per_second"}:
        assert captured.history[name] == eager.history[name], name


@pytest.mark.parametrize("algo", ALGOS)
def test_captured_update_on_the_cpu_is_refused_before_any_environment_step(algo):
    with pytest.raises(ValueError) as error:
        make_agent(algo, make_toy_env(), {**QUIET, "captured_update": True}, hidden_sizes=(8,))
    message = str(error.value)
    assert "\n" not in message and message.startswith(
        "a captured update (config captured_update=True) needs the networks on a CUDA GPU, but this agent's are "
        "on cpu: build them on the GPU (network.to('cuda'), or --device cuda on the command line), or keep")


def test_an_agent_asked_for_a_captured_update_that_it_was_not_given_is_refused_before_any_step():
    env = make_toy_env()
    agent = sac_agent({**QUIET, "captured_update": True}, QNetwork(env), QNetwork(env), squashedGaussianPolicy(env))
    with pytest.raises(ValueError, match="config captured_update=True, but its update is the eager one: build the "
                                         "agent with solutions.tooling.registry.make_agent"):
        agent.train(env, 100)
    assert env.unwrapped.total_steps == 0 and agent.env_steps == 0


def test_an_agent_without_a_member_the_loop_reads_is_stopped_by_one_line_naming_it():
    from solutions import training

    class half_written_agent:  # a student's agent that forgot two members
        def __init__(self):
            self.config, self.memory, self.batch_size, self.updates_per_step, self.env_steps = {}, [], 8, 1, 0

        def update(self):
            pass

    env = make_toy_env()
    with pytest.raises(AttributeError) as error:
        training.train(half_written_agent(), env, 10)
    assert str(error.value) == (
        "half_written_agent has no learning_starts, explore: the training loop reads config, memory, batch_size, "
        "learning_starts, updates_per_step, env_steps, explore, update (see Agent in solutions/training.py); set "
        "them in __init__.")
    assert env.unwrapped.total_steps == 0
