"""Reading an agent's configuration: a plain dict of overrides over the agent's defaults.

A key the agent does not know is a mistake (a typo such as 'action_noise_clip"' would otherwise be
ignored without a word), so it raises an error that names the key and the closest known one; a value
of the wrong type or out of range (gamma = 1.5, batch_size larger than buffer_size) raises one too
(`solutions/validation.py`), before any work. `parse_overrides` reads the same values from text, as
the command line's `--set key=value` gives them.
"""

import ast
import difflib
from types import MappingProxyType

from solutions.validation import check_config_values, expected_value, value_fits


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


def parse_overrides(pairs, defaults):
    """['learning_rate=3e-4', 'seed=1'] -> {'learning_rate': 0.0003, 'seed': 1}.

    A value is read as a Python literal, else kept as a bare word (noise_type=ou). A pair that is not
    key=value, or a value that is not what its key takes (its type and range, as the agent checks them),
    raises ValueError naming what is expected; a key the agent does not know is left to the agent.
    """
    config = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--set takes key=value, got '{pair}'")
        default = defaults.get(key)
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text  # a bare word such as ou
        if key in defaults and not value_fits(key, value, default):
            example = default if isinstance(default, str) else repr(default)
            raise ValueError(f"--set {pair}: {key} takes {expected_value(key, default)}, and '{text}' is not one; "
                             f"for example --set {key}={example}")
        config[key] = value
    return config
