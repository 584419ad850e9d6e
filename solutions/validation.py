"""Checks of what a user passes in: each fails at once, before any work, with a one-line message
that names the value, why it is wrong and the fix.

- `check_action_space`, `check_network_spaces`: the spaces an agent or a network is built for (a vector
  MLP on a discrete or image space names the network or agent to use instead); every check of action
  and observation spaces in the package is one of these;
- `check_config_values`: an agent's config values, their types and ranges (called by `read_config`);
- `check_training_start`: at the top of `train`, `max_steps` and the networks against the env passed;
- `check_finite_transition`: right after `env.step`, a NaN or infinite reward or observation stops
  training before it reaches the replay buffer, so the networks keep their last finite weights.

Nothing here knows an algorithm: networks are read through their layers, agents through the roles
they declare (`roles`, see `Agent` in training.py) or, for a class that declares none, the names the
exercise statements give them: Q, Q1, Q2 (critics) and pi (policy).
"""

import math
import numbers

import gymnasium as gym
import numpy as np
import torch.nn as nn


class NonFiniteTransition(ValueError):
    """A NaN or infinite reward or observation: training stopped before it reached the buffer."""


# --- networks and their spaces ---------------------------------------------------------------------

def check_action_space(env, who, kind="continuous", fix=None):
    """Raise TypeError unless env's actions are what `who` needs: a bounded Box of shape (n,), or Discrete(n).

    `fix` replaces the default advice (the command line names its --algo choices instead of classes).
    """
    space = env.action_space
    if kind == "continuous" and isinstance(space, gym.spaces.Discrete):
        fix = fix or ("for discrete actions use discreteQNetwork, categoricalPolicy and sac_discrete_agent "
                      "from solutions/sac_discrete.py")
        raise TypeError(f"{who} needs a continuous action space (gymnasium.spaces.Box), but this environment's "
                        f"is {space}: {fix}.")
    if kind == "continuous" and not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
        raise TypeError(f"{who} needs a Box action space of shape (n,), but this environment's is {space}: no "
                        "network of this package fits it (flatten or rescale the actions with a wrapper).")
    if kind == "continuous" and not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise TypeError(f"{who} needs finite action bounds to scale its tanh output, but the action space is "
                        f"{space}: wrap the environment with gymnasium.wrappers.ClipAction or RescaleAction.")
    if kind == "discrete" and not isinstance(space, gym.spaces.Discrete):
        fix = fix or "for continuous actions use QNetwork and squashedGaussianPolicy with sac_agent"
        raise TypeError(f"{who} needs a discrete action space (gymnasium.spaces.Discrete), but this environment's "
                        f"is {space}: {fix}.")


def check_network_spaces(env, network_name, actions="continuous", observations="vector"):
    """Raise TypeError unless env's spaces are what the network reads.

    actions: "continuous" (a bounded Box of shape (n,)) or "discrete" (Discrete(n));
    observations: "vector" (a Box of shape (n,)) or "pixels" (a (stack, H, W) Box).
    """
    check_action_space(env, network_name, actions)
    observation_space = env.observation_space
    shape = getattr(observation_space, "shape", None)
    if not isinstance(observation_space, gym.spaces.Box):
        raise TypeError(
            f"{network_name} reads Box observations, but this environment's observation space is "
            f"{observation_space}: wrap the environment with gymnasium.wrappers.FlattenObservation."
        )
    if observations == "vector" and len(shape) == 3:
        raise TypeError(
            f"{network_name} takes flat vector observations, but this environment's are images of shape "
            f"{shape}: for pixels use make_pixel_env (solutions/pixel_env.py), pixel_networks "
            "(solutions/pixel_networks.py) and pixel_ddpg_agent (solutions/pixel_ddpg.py)."
        )
    if observations == "vector" and len(shape) != 1:
        raise TypeError(
            f"{network_name} takes flat vector observations, but this environment's have shape {shape}: "
            "wrap the environment with gymnasium.wrappers.FlattenObservation."
        )
    if observations == "pixels" and len(shape) != 3:
        raise TypeError(
            f"{network_name} takes (stack, height, width) frame stacks, but this environment's observations "
            f"have shape {shape}: build the environment with make_pixel_env, or use QNetwork and "
            "policyNetwork for vector observations."
        )


def first_layer(network):
    """(name, module) of the first Linear or Conv2d layer of a network, or (None, None)."""
    for name, module in network.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            return name, module
    return None, None


def last_linear(network):
    linears = [(name, m) for name, m in network.named_modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else (None, None)


def env_name(env):
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(getattr(env, "unwrapped", env)).__name__


def numbers_list(values):
    return "[" + ", ".join(f"{float(v):g}" for v in np.ravel(values)) + "]"


# The exercise statements' names, for an agent that declares no `roles`.
STATEMENT_ROLES = {"Q": "critic", "Q1": "critic", "Q2": "critic", "pi": "policy"}


def network_mismatch(role, network, env, is_critic):
    """What is wrong between one of an agent's networks and env, as a sentence; None if they fit."""
    name = env_name(env)
    rebuild = f"{role} was built for another environment; build it from this one, {type(network).__name__}(env)"
    observation_shape = env.observation_space.shape
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    action_dim = None if discrete else env.action_space.shape[0]
    layer_name, layer = first_layer(network)
    if isinstance(layer, nn.Conv2d) and layer.in_channels != observation_shape[0]:
        return (f"{role}'s first layer ({layer_name}) takes {layer.in_channels} channels, but {name}'s "
                f"observations have shape {observation_shape}: {rebuild}")
    if isinstance(layer, nn.Linear):
        if len(observation_shape) != 1:
            return (f"{role}'s first layer ({layer_name}) is a Linear layer of {layer.in_features} inputs, but "
                    f"{name}'s observations have shape {observation_shape}: {rebuild}")
        obs_dim = observation_shape[0]
        if is_critic and not discrete:
            expected = obs_dim + action_dim
            what = f"{obs_dim} observation + {action_dim} action numbers = {expected}"
        else:
            expected, what = obs_dim, f"{obs_dim} observation numbers"
        if layer.in_features != expected:
            return (f"{role}'s first layer ({layer_name}) takes {layer.in_features} inputs, "
                    f"but {name} gives {what}: {rebuild}")
    if discrete:
        n = int(env.action_space.n)
        out_name, out = last_linear(network)
        if is_critic and out is not None and out.out_features != n:
            return (f"{role}'s last layer ({out_name}) gives {out.out_features} values, "
                    f"but {name} has {n} actions: {rebuild}")
        if not is_critic and getattr(network, "n_actions", n) != n:
            return f"{role} chooses among {network.n_actions} actions, but {name} has {n}: {rebuild}"
        return None
    if not is_critic and hasattr(network, "action_scale"):
        scale, bias = network.action_scale.detach().cpu().numpy(), network.action_bias.detach().cpu().numpy()
        if scale.shape != (action_dim,):
            return f"{role} gives {scale.size} action numbers, but {name} takes {action_dim}: {rebuild}"
        low, high = env.action_space.low, env.action_space.high
        if not (np.allclose(bias - scale, low, atol=1e-6) and np.allclose(bias + scale, high, atol=1e-6)):
            return (f"{role} acts within {numbers_list(bias - scale)} to {numbers_list(bias + scale)}, "
                    f"but {name}'s action bounds are {numbers_list(low)} to {numbers_list(high)}: {rebuild}")
    return None


def check_training_start(agent, env, max_steps):
    """At the top of `train`, before any env step: max_steps, and each network against env's spaces."""
    caller = f"{type(agent).__name__}.train"
    if not (is_whole(max_steps) and max_steps >= 1):
        raise ValueError(f"{caller}: max_steps is {max_steps!r}, but it must be a positive whole number of "
                         "environment steps, e.g. agent.train(env, 10_000).")
    for name, role in getattr(agent, "roles", STATEMENT_ROLES).items():
        network = getattr(agent, name, None)
        if isinstance(network, nn.Module):
            problem = network_mismatch(name, network, env, is_critic=role == "critic")
            if problem:
                raise ValueError(f"{caller}: {problem}.")


# --- a transition from the environment --------------------------------------------------------------

def non_finite(value):
    """True if a reward or an observation holds a NaN or an infinity (integer arrays never do)."""
    array = np.asarray(value)
    return array.dtype.kind in "fc" and not np.isfinite(array).all()


def check_finite_transition(step, state, reward, next_state):
    """Raise NonFiniteTransition, before the transition is stored, if it holds a NaN or an infinity."""
    for what, value, origin in (
        ("reward", reward, "env.step"),
        ("observation", next_state, "env.step"),
        ("observation", state, "env.reset"),  # a state that was a checked next_state is finite
    ):
        if non_finite(value):
            flat = np.ravel(np.asarray(value, dtype=float))
            index = int(np.flatnonzero(~np.isfinite(flat))[0])
            shown = f"{flat[index]}" if np.ndim(value) == 0 else f"{flat[index]} at index {index}"
            raise NonFiniteTransition(
                f"step {step}: {origin} returned a non-finite {what} ({shown}); training stopped before it reached "
                "the replay buffer, the networks keep their last finite weights and the returns of the finished "
                f"episodes are in agent.episode_returns. Fix the environment or wrapper so that every {what} is "
                "finite (e.g. np.nan_to_num or a clip)."
            )


# --- config values ----------------------------------------------------------------------------------

def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value):
    return is_number(value) and value == int(value)


# key: (test, what the value must be). A key with no rule here must have its default's type.
CONFIG_RULES = {
    "gamma": (lambda v: is_number(v) and 0 < v <= 1, "a number with 0 < gamma <= 1 (the discount factor)"),
    "tau": (lambda v: is_number(v) and 0 < v <= 1, "a number with 0 < tau <= 1 (the Polyak averaging rate)"),
    "learning_rate": (lambda v: is_number(v) and v > 0, "a positive number (Adam's step size)"),
    "alpha_learning_rate": (lambda v: is_number(v) and v > 0, "a positive number (Adam's step size for log α)"),
    "alpha": (lambda v: is_number(v) and v > 0, "a positive number (the temperature α)"),
    "buffer_size": (lambda v: is_whole(v) and v >= 1, "a positive whole number of transitions (1e6 is fine)"),
    "batch_size": (lambda v: is_whole(v) and v >= 1, "a positive whole number of transitions"),
    "updates_per_step": (lambda v: is_whole(v) and v >= 1, "a positive whole number of gradient steps"),
    "policy_update_freq": (lambda v: is_whole(v) and v >= 1, "a positive whole number of critic steps"),
    "delay_learning": (lambda v: is_whole(v) and v >= 0, "a whole number >= 0 of environment steps"),
    "exploration_noise": (lambda v: is_number(v) and v >= 0, "a number >= 0 (a std in action half-ranges)"),
    "action_noise_scale": (lambda v: is_number(v) and v >= 0, "a number >= 0 (a std in action half-ranges)"),
    "action_noise_clip": (lambda v: is_number(v) and v >= 0, "a number >= 0 (in action half-ranges)"),
    "adam_beta1": (lambda v: is_number(v) and 0 <= v < 1, "a number with 0 <= adam_beta1 < 1"),
    "target_entropy": (lambda v: v is None or is_number(v), "a number, or None for -dim(A)"),
    "target_entropy_ratio": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1] (a fraction of log n)"),
    "seed": (lambda v: v is None or (is_whole(v) and v >= 0), "a whole number >= 0, or None"),
    "noise_type": (lambda v: v in ("gaussian", "ou"), "'gaussian' or 'ou'"),
}
TYPE_WORDS = {bool: "True or False", int: "a whole number", float: "a number", str: "a string"}


def type_fits(value, default):
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, numbers.Real):
        return is_number(value)
    return default is None or isinstance(value, type(default))


def value_fits(key, value, default):
    """Whether a config value passes its rule, or, for a key with no rule, has its default's type."""
    return CONFIG_RULES[key][0](value) if key in CONFIG_RULES else type_fits(value, default)


def expected_value(key, default):
    """What a config value must be, in words: from the rules, else from the default's type."""
    if key in CONFIG_RULES:
        return CONFIG_RULES[key][1]
    return TYPE_WORDS.get(type(default), f"a {type(default).__name__}")


def check_config_values(config, defaults, agent_name):
    """Raise ValueError, one line, on the first config value of the wrong type or out of range."""
    for key, value in config.items():
        default = defaults.get(key)
        if not value_fits(key, value, default):
            shown = f"{value!r} (a {type(value).__name__})" if isinstance(value, str) else repr(value)
            raise ValueError(
                f"{agent_name}: config '{key}' is {shown}, but it must be {expected_value(key, default)}; "
                f"the default is {default!r}."
            )
    if "batch_size" in config and "buffer_size" in config and config["batch_size"] > config["buffer_size"]:
        raise ValueError(
            f"{agent_name}: config 'batch_size' is {config['batch_size']!r}, larger than 'buffer_size' "
            f"{config['buffer_size']!r}: a batch is drawn from the replay buffer, which never holds more than "
            "buffer_size transitions; lower batch_size or raise buffer_size."
        )
