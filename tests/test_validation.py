"""Bad input never costs a run: each mistake is a one-line error at once, and nothing learned is lost.

Networks on the wrong spaces, networks that do not fit the env passed to `train`, config values of
the wrong type or range, a NaN from the environment at a random step, actions out of bounds, and
the pixel agent's replay buffer sized to the memory there is.
"""

import zlib
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import make_toy_env

from solutions.crossq import CROSSQ_DEFAULTS, crossq_agent, crossQNetwork
from solutions.ddpg import DDPG_DEFAULTS, ddpg_agent
from solutions.evaluation import evaluate
from solutions.frame_buffer import fitting_buffer_size, transition_bytes
from solutions.networks import QNetwork, policyNetwork
from solutions.pixel_ddpg import pixel_ddpg_agent
from solutions.pixel_networks import pixel_networks
from solutions.sac import SAC_DEFAULTS, sac_agent
from solutions.sac_discrete import SAC_DISCRETE_DEFAULTS, categoricalPolicy, discreteQNetwork, sac_discrete_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.td3 import TD3_DEFAULTS, td3_agent
from solutions.validation import NonFiniteTransition

QUIET = {"tqdm_disable": True}
SMALL = {**QUIET, "delay_learning": 30, "batch_size": 16}  # learning starts after 30 steps
AGENTS = ["ddpg", "td3", "sac", "crossq"]
DEFAULTS = {"ddpg": DDPG_DEFAULTS, "td3": TD3_DEFAULTS, "sac": SAC_DEFAULTS, "crossq": CROSSQ_DEFAULTS,
            "sac_discrete": SAC_DISCRETE_DEFAULTS}


def make_agent(name, env, config=None, hidden=(16, 16), policy_class=None):
    config = {**QUIET, **(config or {})}
    if name == "ddpg":
        return ddpg_agent(config, QNetwork(env, hidden), (policy_class or policyNetwork)(env, hidden))
    if name == "td3":
        return td3_agent(config, QNetwork(env, hidden), QNetwork(env, hidden),
                         (policy_class or policyNetwork)(env, hidden))
    if name == "sac_discrete":
        return sac_discrete_agent(config, discreteQNetwork(env, hidden), discreteQNetwork(env, hidden),
                                  categoricalPolicy(env, hidden))
    critic = crossQNetwork if name == "crossq" else QNetwork
    agent_class = crossq_agent if name == "crossq" else sac_agent
    return agent_class(config, critic(env, hidden), critic(env, hidden),
                       (policy_class or squashedGaussianPolicy)(env, hidden))


def one_line(error):
    text = str(error.value)
    assert "\n" not in text, text
    return text


def spaces(observation_space, action_space):
    """An env that has only its two spaces: any call to reset or step would fail."""
    return SimpleNamespace(observation_space=observation_space, action_space=action_space, spec=None)


IMAGES = gym.spaces.Box(0, 255, (96, 96, 3), np.uint8)  # CarRacing-v3's observations


# --- 1. networks on a discrete or an image space ----------------------------------------------------

@pytest.mark.parametrize("network", [QNetwork, policyNetwork, squashedGaussianPolicy, crossQNetwork])
def test_vector_networks_on_a_discrete_space_name_discrete_sac(network):
    with pytest.raises(TypeError) as error:
        network(gym.make("CartPole-v1"))
    assert one_line(error) == (
        f"{network.__name__} needs a continuous action space (gymnasium.spaces.Box), but this environment's "
        "is Discrete(2): for discrete actions use discreteQNetwork, categoricalPolicy and sac_discrete_agent "
        "from solutions/sac_discrete.py."
    )


@pytest.mark.parametrize("network", [QNetwork, policyNetwork, squashedGaussianPolicy, crossQNetwork])
def test_vector_networks_on_images_name_the_pixel_agent(network):
    env = spaces(IMAGES, gym.spaces.Box(-1, 1, (3,), np.float32))
    with pytest.raises(TypeError) as error:
        network(env)
    assert one_line(error) == (
        f"{network.__name__} takes flat vector observations, but this environment's are images of shape "
        "(96, 96, 3): for pixels use make_pixel_env (solutions/pixel_env.py), pixel_networks "
        "(solutions/pixel_networks.py) and pixel_ddpg_agent (solutions/pixel_ddpg.py)."
    )


def test_discrete_and_pixel_networks_on_the_wrong_space_name_the_right_ones():
    with pytest.raises(TypeError, match="for continuous actions use QNetwork and squashedGaussianPolicy"):
        discreteQNetwork(gym.make("Pendulum-v1"))
    with pytest.raises(TypeError, match="takes .stack, height, width. frame stacks.*use QNetwork"):
        pixel_networks(gym.make("Pendulum-v1"))


# --- 2. the networks against the env passed to train ------------------------------------------------

class CountingSteps(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


@pytest.mark.parametrize("name", AGENTS)
def test_networks_of_a_4_dim_env_trained_on_pendulum_stop_before_any_step(name):
    agent = make_agent(name, gym.make("InvertedPendulum-v5"))  # 4 observation numbers, 1 action
    env = CountingSteps(gym.make("Pendulum-v1"))  # 3 observation numbers, 1 action
    with pytest.raises(ValueError) as error:
        agent.train(env, 100)
    critic = "Q" if name == "ddpg" else "Q1"
    network = "crossQNetwork" if name == "crossq" else "QNetwork"
    layer = "net.1" if name == "crossq" else "net.0"  # crossQNetwork starts with batch norm
    assert one_line(error) == (
        f"{name}_agent.train: {critic}'s first layer ({layer}) takes 5 inputs, but Pendulum-v1 gives 3 observation "
        f"+ 1 action numbers = 4: {critic} was built for another environment; build it from this one, {network}(env)."
    )
    assert env.steps == 0 and agent.env_steps == 0 and len(agent.memory) == 0


@pytest.mark.parametrize("name", AGENTS)
def test_a_policy_built_for_other_action_bounds_is_refused(name):
    agent = make_agent(name, make_toy_env())  # bounds [-1, 0] to [3, 2]
    other = spaces(gym.spaces.Box(-1, 1, (3,), np.float32), gym.spaces.Box(-1, 1, (2,), np.float32))
    with pytest.raises(ValueError) as error:
        agent.train(other, 100)
    policy = "policyNetwork" if name in ("ddpg", "td3") else "squashedGaussianPolicy"
    assert one_line(error) == (
        f"{name}_agent.train: pi acts within [-1, 0] to [3, 2], but SimpleNamespace's action bounds are [-1, -1] "
        f"to [1, 1]: pi was built for another environment; build it from this one, {policy}(env)."
    )


def test_discrete_sac_on_an_env_with_more_actions_is_refused():
    agent = make_agent("sac_discrete", gym.make("CartPole-v1"))
    other = spaces(gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(3))
    with pytest.raises(ValueError, match=r"Q1's last layer \(net.4\) gives 2 values, but SimpleNamespace has 3 act"):
        agent.train(other, 100)


def test_pixel_networks_for_another_frame_stack_are_refused():
    pixel_spaces = spaces(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), gym.spaces.Box(-1, 1, (3,), np.float32))
    Q, pi = pixel_networks(pixel_spaces, hidden_size=8)
    agent = pixel_ddpg_agent({**QUIET, "buffer_size": 100}, Q, pi)
    three_frames = spaces(gym.spaces.Box(0, 255, (3, 84, 84), np.uint8), pixel_spaces.action_space)
    with pytest.raises(ValueError, match=r"Q's first layer \(encoder.conv.0\) takes 4 channels, but SimpleNamespace"):
        agent.train(three_frames, 10)


@pytest.mark.parametrize("max_steps", [0, -5, 2.5, "100"])
def test_max_steps_must_be_a_positive_whole_number(max_steps):
    agent = make_agent("sac", make_toy_env())
    with pytest.raises(ValueError) as error:
        agent.train(make_toy_env(), max_steps)
    assert one_line(error) == (
        f"sac_agent.train: max_steps is {max_steps!r}, but it must be a positive whole number of environment "
        "steps, e.g. agent.train(env, 10_000)."
    )


# --- 3. config values -------------------------------------------------------------------------------

BAD_CONFIGS = [
    ({"gamma": 0}, "config 'gamma' is 0, but it must be a number with 0 < gamma <= 1 (the discount factor); "
                   "the default is 0.99."),
    ({"gamma": 1.5}, "config 'gamma' is 1.5, but it must be a number with 0 < gamma <= 1"),
    ({"gamma": "0.99x"}, "config 'gamma' is '0.99x' (a str), but it must be a number with 0 < gamma <= 1"),
    ({"gamma": float("nan")}, "config 'gamma' is nan, but it must be a number with 0 < gamma <= 1"),
    ({"tau": 0}, "config 'tau' is 0, but it must be a number with 0 < tau <= 1 (the Polyak averaging rate)"),
    ({"tau": 2}, "config 'tau' is 2, but it must be a number with 0 < tau <= 1"),
    ({"learning_rate": -1e-3}, "config 'learning_rate' is -0.001, but it must be a positive number (Adam's step"),
    ({"learning_rate": "3e-4x"}, "config 'learning_rate' is '3e-4x' (a str), but it must be a positive number"),
    ({"batch_size": 0}, "config 'batch_size' is 0, but it must be a positive whole number of transitions"),
    ({"batch_size": 32.5}, "config 'batch_size' is 32.5, but it must be a positive whole number of transitions"),
    ({"buffer_size": -1}, "config 'buffer_size' is -1, but it must be a positive whole number of transitions"),
    ({"batch_size": 512, "buffer_size": 256},
     "config 'batch_size' is 512, larger than 'buffer_size' 256: a batch is drawn from the replay buffer, which "
     "never holds more than buffer_size transitions; lower batch_size or raise buffer_size."),
    ({"delay_learning": -1}, "config 'delay_learning' is -1, but it must be a whole number >= 0 of environment"),
    ({"seed": -1}, "config 'seed' is -1, but it must be a whole number >= 0, or None"),
    ({"seed": "0"}, "config 'seed' is '0' (a str), but it must be a whole number >= 0, or None"),
    ({"tqdm_disable": "yes"}, "config 'tqdm_disable' is 'yes' (a str), but it must be True or False"),
]
AGENT_ONLY = [
    ("ddpg", {"updates_per_step": 0}, "config 'updates_per_step' is 0, but it must be a positive whole number"),
    ("ddpg", {"noise_type": "pink"}, "config 'noise_type' is 'pink' (a str), but it must be 'gaussian' or 'ou'"),
    ("ddpg", {"exploration_noise": -0.1}, "config 'exploration_noise' is -0.1, but it must be a number >= 0"),
    ("td3", {"policy_update_freq": 0}, "config 'policy_update_freq' is 0, but it must be a positive whole number"),
    ("td3", {"action_noise_clip": -1}, "config 'action_noise_clip' is -1, but it must be a number >= 0"),
    ("td3", {"clipped_double_q": 1}, "config 'clipped_double_q' is 1, but it must be True or False"),
    ("sac", {"alpha": 0}, "config 'alpha' is 0, but it must be a positive number (the temperature α)"),
    ("sac", {"learn_alpha": "True"}, "config 'learn_alpha' is 'True' (a str), but it must be True or False"),
    ("sac", {"target_entropy": "auto"}, "config 'target_entropy' is 'auto' (a str), but it must be a number, or"),
    ("crossq", {"adam_beta1": 1.0}, "config 'adam_beta1' is 1.0, but it must be a number with 0 <= adam_beta1 < 1"),
    ("crossq", {"alpha_learning_rate": 0}, "config 'alpha_learning_rate' is 0, but it must be a positive number"),
    ("sac_discrete", {"target_entropy_ratio": 0}, "config 'target_entropy_ratio' is 0, but it must be a number in"),
]


@pytest.mark.parametrize("name, config, message", [
    (name, config, message) for name in DEFAULTS for config, message in BAD_CONFIGS
    if all(key in DEFAULTS[name] for key in config)  # CrossQ has no tau
])
def test_a_wrong_config_value_is_one_line_naming_it(name, config, message):
    env = gym.make("CartPole-v1") if name == "sac_discrete" else make_toy_env()
    with pytest.raises(ValueError) as error:
        make_agent(name, env, config)
    assert one_line(error).startswith(f"{name}_agent: {message}")


@pytest.mark.parametrize("name, config, message", AGENT_ONLY)
def test_a_wrong_agent_specific_value_is_one_line_naming_it(name, config, message):
    env = gym.make("CartPole-v1") if name == "sac_discrete" else make_toy_env()
    with pytest.raises(ValueError) as error:
        make_agent(name, env, config)
    assert one_line(error).startswith(f"{name}_agent: {message}")


@pytest.mark.parametrize("name", AGENTS)
def test_edge_values_that_are_right_are_accepted(name):
    config = {"gamma": 1, "tau": 1, "buffer_size": 1e6, "batch_size": 256.0, "learning_rate": 1,
              "delay_learning": 0, "seed": np.int64(3)}
    if name == "crossq":
        config.pop("tau")  # CrossQ has no target networks
    assert make_agent(name, make_toy_env(), config).config["gamma"] == 1


# --- 4. a NaN from the environment, at a random step ------------------------------------------------

class NonFiniteAt(gym.Wrapper):
    """Returns a NaN reward (or an infinite observation) at step `at`; records the episode returns
    finished before it, as the agent should have them."""

    def __init__(self, env, at, what="reward"):
        super().__init__(env)
        self.at, self.what, self.steps = at, what, 0
        self.finished_returns, self.episode_return = [], 0.0

    def step(self, action):
        state, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps == self.at:
            if self.what == "reward":
                reward = float("nan")
            else:
                state = np.array(state, dtype=np.float32)
                state[1] = np.inf
            return state, reward, terminated, truncated, info
        self.episode_return += reward
        if terminated or truncated:
            self.finished_returns.append(self.episode_return)
            self.episode_return = 0.0
        return state, reward, terminated, truncated, info


def parameters_of(agent):
    return {name: [p.detach().clone() for p in getattr(agent, name).parameters()]
            for name in ("Q", "Q1", "Q2", "pi") if hasattr(agent, name)}


@pytest.mark.parametrize("name", [*AGENTS, "sac_discrete"])
@pytest.mark.parametrize("what", ["reward", "observation"])
def test_a_nan_at_a_random_step_stops_training_there_with_finite_weights(name, what):
    rng = np.random.default_rng(zlib.crc32(f"{name} {what}".encode()))  # a random step, the same each run
    at = int(rng.integers(40, 120))  # after learning has started (step 30)
    base = gym.make("CartPole-v1") if name == "sac_discrete" else make_toy_env()
    env = NonFiniteAt(base, at, what)
    agent = make_agent(name, base, {**SMALL, "seed": 0})
    before = parameters_of(agent)
    with pytest.raises(NonFiniteTransition) as error:
        agent.train(env, 500)
    origin = "reward (nan)" if what == "reward" else "observation (inf at index 1)"
    assert one_line(error).startswith(f"step {at}: env.step returned a non-finite {origin}; training stopped")
    assert "Fix the environment or wrapper" in str(error.value)
    # Stopped at that step: nothing of it stored, everything before it kept.
    assert agent.env_steps == at - 1 and len(agent.memory) == at - 1
    assert torch.isfinite(agent.memory.storage["reward"][: at - 1]).all()
    assert agent.episode_returns == env.finished_returns  # the returns so far, as after Ctrl-C
    after = parameters_of(agent)
    for network in after:
        assert all(torch.isfinite(p).all() for p in after[network]), network
    assert any(not torch.equal(a, b) for a, b in zip(before["pi"], after["pi"]))  # it had learned
    # Training goes on once the environment is fixed, from the same networks and buffer.
    agent.train(base, 20)
    assert agent.env_steps == at - 1 + 20


def test_a_nan_observation_from_reset_is_caught_before_it_is_stored():
    class NaNReset(gym.Wrapper):
        def reset(self, **kwargs):
            state, info = self.env.reset(**kwargs)
            return np.full_like(state, np.nan), info

    agent = make_agent("sac", make_toy_env(), SMALL)
    with pytest.raises(NonFiniteTransition, match=r"^step 1: env.reset returned a non-finite observation \(nan at"):
        agent.train(NaNReset(make_toy_env()), 10)
    assert len(agent.memory) == 0


# --- 5. every action sent to the environment is within the bounds -----------------------------------

class RecordingActions(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(np.array(action, dtype=np.float64))
        return self.env.step(action)


class WildPolicy(policyNetwork):
    """A student's actor that forgot the tanh: actions 100 times too large."""

    def forward(self, state):
        return 100 * super().forward(state)


class WildGaussianPolicy(squashedGaussianPolicy):
    def sample(self, state):
        action, log_prob = super().sample(state)
        return 100 * action, log_prob

    def forward(self, state):
        return 100 * super().forward(state)


@pytest.mark.parametrize("name", AGENTS)
def test_actions_sent_to_the_env_are_clipped_whatever_the_policy_returns(name):
    policy_class = WildPolicy if name in ("ddpg", "td3") else WildGaussianPolicy
    env = RecordingActions(make_toy_env())
    agent = make_agent(name, env, {**SMALL, "seed": 0, "exploration_noise": 0.0} if name == "ddpg"
                       else {**SMALL, "seed": 0}, policy_class=policy_class)
    agent.train(env, 60)  # 30 steps of the policy's own actions
    explored = np.array(env.actions[30:])
    low, high = env.action_space.low, env.action_space.high
    assert (explored >= low).all() and (explored <= high).all()
    assert np.isclose(explored, low).any() or np.isclose(explored, high).any()  # it did clip


def test_evaluate_clips_the_policy_action_to_the_action_space():
    env = RecordingActions(make_toy_env(episode_length=5))
    evaluate(env, WildPolicy(env, (8,)), n_episodes=2)
    actions = np.array(env.actions)
    assert len(actions) == 10
    assert (actions >= env.action_space.low).all() and (actions <= env.action_space.high).all()


# --- 7. the pixel agent's replay buffer fits in memory ----------------------------------------------

PIXEL_SPACES = spaces(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), gym.spaces.Box(-1, 1, (3,), np.float32))


def test_the_pixel_default_buffer_is_cut_to_half_the_available_memory(monkeypatch, capsys):
    monkeypatch.setattr("solutions.pixel_ddpg.available_memory_bytes", lambda: 1_000_000_000)
    Q, pi = pixel_networks(PIXEL_SPACES, hidden_size=8)
    agent = pixel_ddpg_agent(QUIET, Q, pi)
    assert transition_bytes((4, 84, 84), 3) == 35_300
    assert agent.memory.capacity == agent.config["buffer_size"] == 500_000_000 // 35_300 == 14_164
    assert capsys.readouterr().out == (
        "pixel_ddpg_agent: replay buffer of 14,164 transitions (0.5 GB, half of the 1.0 GB of available memory) "
        "instead of the default 100,000; set config['buffer_size'] to choose.\n"
    )


def test_a_chosen_pixel_buffer_that_cannot_fit_is_refused_at_once(monkeypatch):
    monkeypatch.setattr("solutions.pixel_ddpg.available_memory_bytes", lambda: 8_000_000_000)
    Q, pi = pixel_networks(PIXEL_SPACES, hidden_size=8)
    with pytest.raises(ValueError) as error:
        pixel_ddpg_agent({**QUIET, "buffer_size": 1e6}, Q, pi)
    assert one_line(error) == (
        "pixel_ddpg_agent: config 'buffer_size' 1,000,000 needs 35.3 GB of replay memory, but 8.0 GB is "
        "available; lower buffer_size to at most 226,628."
    )


def test_buffer_sizes_that_fit_are_kept():
    assert fitting_buffer_size(100_000, False, 35_300, 64e9) == 100_000  # the default fits: no change
    assert fitting_buffer_size(1000, True, 35_300, 1e9) == 1000
    assert fitting_buffer_size(100_000, False, 35_300, None) == 100_000  # memory unknown: the default
