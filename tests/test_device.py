"""Device selection and the captured update: the CPU paths run everywhere, the CUDA ones on a GPU.

The CUDA tests skip with their reason on a machine without a GPU (this project's CI has none); on
a GPU they check that the agents train there and that a captured update equals the eager one.
"""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import make_toy_env
from test_agents import AGENTS, make_agent
from torch.utils._python_dispatch import TorchDispatchMode

from solutions.tooling.captured_update import CapturedUpdate
from solutions.tooling.cli import main
from solutions.tooling.device import describe_device, pick_device
from solutions.tooling.registry import build_agent, build_networks

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_auto_picks_cuda_exactly_when_it_is_available():
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")


def test_an_unknown_device_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"^device must be one of auto, cpu, cuda, not 'gpu'\.$"):
        pick_device("gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_what_to_use_instead():
    with pytest.raises(ValueError, match="torch sees no GPU.*use 'auto' or 'cpu'"):
        pick_device("cuda")


def test_the_device_is_described_in_one_line():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert describe_device("cpu") == "Training on the CPU (1 torch thread); no GPU is used."
        torch.set_num_threads(2)
        assert describe_device("cpu", "Evaluating") == "Evaluating on the CPU (2 torch threads); no GPU is used."
    finally:
        torch.set_num_threads(threads)


def test_a_captured_update_refuses_an_agent_on_the_cpu():
    agent = make_agent("sac", make_toy_env())
    with pytest.raises(ValueError, match="needs the networks on a CUDA GPU.*keep the eager agent.update"):
        CapturedUpdate(agent)


def test_a_captured_update_refuses_an_agent_that_does_not_declare_its_periodic_step():
    class undeclared_agent:  # an agent whose update may branch on a counter the capture cannot know
        def update(self):
            pass

    with pytest.raises(ValueError, match="^undeclared_agent declares no periodic_update, so a captured update "
                                         "cannot know which of its branches depend on a counter"):
        CapturedUpdate(undeclared_agent())


def filled_agent(name, device, transitions=512, config=None):
    """An agent on `device` whose buffer holds the same random transitions whatever the device."""
    env = make_toy_env()
    networks = {key: network.to(device) for key, network in build_networks(name, env, (32, 32)).items()}
    agent = build_agent(name, {"batch_size": 64, "tqdm_disable": True, **(config or {})}, networks)
    rng = np.random.default_rng(0)
    for _ in range(transitions):
        state, next_state = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
        action = rng.uniform(env.action_space.low, env.action_space.high)
        agent.memory.append(state, action, -float(np.sum((action - 1) ** 2)), next_state, rng.random() < 0.05)
    return agent


def networks_of(agent):
    return [agent.Q, agent.pi] if hasattr(agent, "Q") else [agent.Q1, agent.Q2, agent.pi]


def parameters_of(agent):
    return [parameter.detach().cpu() for network in networks_of(agent) for parameter in network.parameters()]


@needs_cuda
@pytest.mark.parametrize("name", AGENTS)
def test_agents_train_on_the_gpu_with_buffer_and_targets_there(name):
    agent = filled_agent(name, "cuda")
    agent.update()
    assert agent.memory.storage["state"].device.type == "cuda"
    assert all(parameter.is_cuda for parameter in agent.pi.parameters())
    returns = agent.train(make_toy_env(), 300)
    assert returns and all(np.isfinite(returns))


@needs_cuda
@pytest.mark.parametrize("name", AGENTS)
def test_the_captured_update_gives_the_weights_of_the_eager_one(name):
    torch.manual_seed(0)
    eager = filled_agent(name, "cuda")
    captured = copy.deepcopy(eager)
    update = CapturedUpdate(captured, warmup_updates=3)
    torch.cuda.manual_seed(1)
    for _ in range(23):
        eager.update()
    torch.cuda.manual_seed(1)
    for _ in range(23):  # 3 eager on a side stream, then the capture and 20 replays
        update()
    torch.cuda.synchronize()
    for expected, actual in zip(parameters_of(eager), parameters_of(captured)):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)
    assert getattr(captured, "critic_updates", 0) == getattr(eager, "critic_updates", 0)


def trained_on(device, name, config):
    """300 steps of `train` (toy task, CartPole for discrete SAC), networks on `device`, random streams seeded."""
    torch.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    env = gym.make("CartPole-v1") if name == "sac_discrete" else make_toy_env(episode_length=30)
    networks = {key: network.to(device) for key, network in build_networks(name, env, (32, 32)).items()}
    quiet = {"tqdm_disable": True, "delay_learning": 64, "batch_size": 32, "seed": 5, "history_every": 50}
    agent = build_agent(name, {**quiet, **config}, networks)
    returns = agent.train(env, 150) + agent.train(env, 150)
    return agent, returns


@needs_cuda
@pytest.mark.parametrize("name", [*AGENTS, "sac_discrete"])
def test_the_loop_with_captured_update_trains_as_the_eager_loop(name):
    eager, eager_returns = trained_on("cuda", name, {})
    captured, captured_returns = trained_on("cuda", name, {"captured_update": True})
    assert captured.history.updates == eager.history.updates == 237 * eager.updates_per_step
    np.testing.assert_allclose(captured_returns, eager_returns, rtol=1e-3)
    for expected, actual in zip(parameters_of(eager), parameters_of(captured)):
        torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-4)
    for column in set(eager.history) - {"updates_per_second"}:  # the diagnostics of every replay are kept
        np.testing.assert_allclose(captured.history[column], eager.history[column], rtol=1e-3, atol=1e-5)


@needs_cuda
@pytest.mark.parametrize("name", AGENTS)
def test_an_update_on_the_gpu_never_waits_for_the_gpu(name):
    agent = filled_agent(name, "cuda")
    agent.history.start()  # the diagnostics are kept, as in `train`, and stay on the GPU
    for _ in range(3):  # lazily made state (Adam's moments) first
        agent.update()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # a host synchronisation (.item(), a blocking copy) raises
    try:
        for _ in range(6):
            agent.update()
    finally:
        torch.cuda.set_sync_debug_mode("default")


DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", AGENTS)
def test_buffer_sample_noise_and_targets_are_on_the_networks_device(name, device):
    agent = filled_agent(name, device, transitions=64)
    assert agent.device.type == device and agent.memory.device == agent.device
    assert all(tensor.device == agent.device for tensor in agent.memory.sample(16))
    targets = [network for attribute, network in vars(agent).items() if attribute.endswith("_target")]
    assert all(p.device == agent.device for network in targets for p in network.parameters())
    assert len(targets) == {"ddpg": 2, "td3": 3, "sac": 2, "crossq": 0}[name]  # CrossQ has no target networks
    if hasattr(agent, "log_alpha"):
        assert agent.log_alpha.device == agent.device
    action = agent.explore(np.zeros(3, np.float32))
    assert isinstance(action, np.ndarray) and action.shape == (2,)


def test_ou_noise_lives_on_the_networks_device():
    agent = filled_agent("ddpg", "cpu", transitions=0, config={"noise_type": "ou"})
    assert agent.ou_noise.sample().device == agent.device


class HostReads(TorchDispatchMode):
    """Counts the tensor values read on the host (.item(), float(t), int(t), bool(t)) and the tensors made
    from Python data (torch.tensor(...)): on a GPU, the first wait for it; the second are copied to it."""

    def __init__(self, optimizer_steps=()):
        super().__init__()
        self.optimizer_steps = optimizer_steps
        self.reads, self.from_data = 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            # A non-fused Adam reads its step count, a CPU tensor even on a GPU run: no wait for the GPU.
            self.reads += not any(args[0] is step for step in self.optimizer_steps)
        self.from_data += func is torch.ops.aten.lift_fresh.default
        return func(*args, **(kwargs or {}))


def filled_on_cpu(name):
    env = gym.make("CartPole-v1") if name == "sac_discrete" else make_toy_env()
    config = {"tqdm_disable": True, "batch_size": 16, **({} if name in ("ddpg", "td3") else {"learn_alpha": True})}
    agent = build_agent(name, config, build_networks(name, env, (8,)))
    state, _ = env.reset(seed=0)
    for _ in range(40):
        action = env.action_space.sample()
        next_state, reward, terminated, truncated, _ = env.step(action)
        agent.memory.append(state, action, reward, next_state, terminated)
        state = env.reset()[0] if terminated or truncated else next_state
    return agent, state


@pytest.mark.parametrize("name", [*AGENTS, "sac_discrete"])
def test_the_update_reads_nothing_on_the_host_and_explore_copies_the_action_back_once(name):
    agent, state = filled_on_cpu(name)
    agent.history.start()
    for _ in range(3):  # the optimizers' state exists after their first step
        agent.update()
    steps = [s["step"] for o in vars(agent).values() if isinstance(o, torch.optim.Optimizer) for s in o.state.values()]
    with HostReads(steps) as update:
        for _ in range(6):  # every phase of TD3's and CrossQ's actor delay
            agent.update()
    assert (update.reads, update.from_data) == (0, 0)
    with HostReads() as explore:
        action = agent.explore(state)
    # The state is made into a tensor once; the action comes back once: as a NumPy array through .cpu(),
    # which reads no value on a CPU, or as discrete SAC's int(...).
    assert explore.from_data == 1 and explore.reads == (1 if name == "sac_discrete" else 0)
    assert np.shape(action) == agent.memory.storage["action"].shape[1:]


@needs_cuda
def test_a_run_resumed_on_the_gpu_equals_the_uninterrupted_one(tmp_path):
    def train(out, *extra, steps):
        main(["train", "--algo", "sac", "--device", "cuda", "--steps", str(steps), "--out", str(out), "--hidden", "32",
              "--set", "delay_learning=500", "batch_size=64", "tqdm_disable=True", "--episodes", "1", "--no-video",
              *extra])
        return torch.load(out / "checkpoint.pt", weights_only=True)

    whole = train(tmp_path / "whole", steps=1200)
    train(tmp_path / "resumed", "--save-buffer", steps=600)
    main(["train", "--resume", str(tmp_path / "resumed" / "checkpoint.pt"), "--device", "cuda", "--steps", "600",
          "--episodes", "1", "--no-video"])
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    assert resumed["run"]["episode_end_steps"] == whole["run"]["episode_end_steps"]
    np.testing.assert_allclose(resumed["run"]["episode_returns"], whole["run"]["episode_returns"], rtol=1e-4)
    for name, weights in whole["networks"].items():
        for expected, actual in zip(weights.values(), resumed["networks"][name].values()):
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)
