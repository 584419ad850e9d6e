"""Small helpers that every agent shares: reading its configuration and checking its environment.

An agent's configuration is a plain dict. A key the agent does not know is a mistake (a typo such
as 'action_noise_clip"' would otherwise be ignored without a word), so it raises an error that
names the key and the closest known one; a value of the wrong type or out of range (gamma = 1.5,
batch_size larger than buffer_size) raises one too (`solutions/validation.py`), before any work.
"""

import difflib
from types import MappingProxyType

import gymnasium as gym
import numpy as np

from solutions.validation import check_config_values


def read_config(config, defaults, agent_name):
    """Return `defaults` updated with `config`, read-only; raise ValueError on an unknown key or a wrong value."""
    for key in config:
        if key not in defaults:
            close = difflib.get_close_matches(str(key), defaults, n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(
                f"{agent_name} does not know the config key '{key}'.{hint} "
                f"Known keys: {', '.join(sorted(defaults))}."
            )
    merged = {**defaults, **config}
    check_config_values(merged, defaults, agent_name)
    # Read-only: an agent reads its config once, in __init__; a change later would go unseen.
    return MappingProxyType(merged)


def check_continuous_actions(env, agent_name):
    """Raise TypeError unless the action space is a bounded gymnasium Box (what tanh policies need)."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(
            f"{agent_name} needs a continuous action space (gymnasium.spaces.Box), but this "
            f"environment's action space is {space}. For discrete actions use DQN or discrete SAC."
        )
    if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise TypeError(
            f"{agent_name} needs finite action bounds to scale its tanh output, but the action "
            f"space is {space}. Wrap the environment with gymnasium.wrappers.ClipAction or "
            "RescaleAction to give it bounds."
        )
