"""Every algorithm by name: its networks and its agent, in one place.

    agent = make_agent("sac", env, {"seed": 0}, hidden_sizes=(256, 256))

The command line, the tests, the benchmarks and the sweeps build their agents here, so that a new
algorithm is added once. `build_networks` gives the networks by the names the agent's constructor
gives them (the names a checkpoint stores them under); `build_agent` hands them to the agent.
"""

import gymnasium as gym

from solutions.crossq import CROSSQ_DEFAULTS, crossq_agent, crossQNetwork
from solutions.ddpg import DDPG_DEFAULTS, ddpg_agent
from solutions.networks import QNetwork, policyNetwork
from solutions.sac import SAC_DEFAULTS, sac_agent
from solutions.sac_discrete import SAC_DISCRETE_DEFAULTS, categoricalPolicy, discreteQNetwork, sac_discrete_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.td3 import TD3_DEFAULTS, td3_agent

# name -> (critic class, policy class, agent class); DDPG has one critic, the others two.
ALGORITHMS = {
    "ddpg": (QNetwork, policyNetwork, ddpg_agent),
    "td3": (QNetwork, policyNetwork, td3_agent),
    "sac": (QNetwork, squashedGaussianPolicy, sac_agent),
    "crossq": (crossQNetwork, squashedGaussianPolicy, crossq_agent),  # batch-norm critics
    "sac_discrete": (discreteQNetwork, categoricalPolicy, sac_discrete_agent),  # Discrete actions
}
ALGOS = list(ALGORITHMS)
# name -> the agent's config keys and their defaults (what the CLI's --set checks values against)
DEFAULTS = {"ddpg": DDPG_DEFAULTS, "td3": TD3_DEFAULTS, "sac": SAC_DEFAULTS, "crossq": CROSSQ_DEFAULTS,
            "sac_discrete": SAC_DISCRETE_DEFAULTS}


def check_algo(algo):
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm '{algo}'; choose one of {', '.join(ALGOS)}.")


def build_networks(algo, env, hidden_sizes=(256, 256)):
    """The networks of `algo` for `env`: {"Q", "pi"} for DDPG, {"Q1", "Q2", "pi"} for the others."""
    check_algo(algo)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    if discrete != (algo == "sac_discrete"):
        needs = "continuous" if discrete else "discrete"
        fix = "choose sac_discrete" if discrete else "choose ddpg, td3, sac or crossq"
        raise TypeError(f"{algo} needs a {needs} action space, but this environment's is {env.action_space}: {fix}.")
    critic, policy, _ = ALGORITHMS[algo]
    hidden_sizes = tuple(hidden_sizes)
    if algo == "ddpg":
        return {"Q": critic(env, hidden_sizes), "pi": policy(env, hidden_sizes)}
    return {"Q1": critic(env, hidden_sizes), "Q2": critic(env, hidden_sizes), "pi": policy(env, hidden_sizes)}


def build_agent(algo, config, networks):
    """The agent of `algo` with `config` (a dict of overrides) and the networks of `build_networks`."""
    check_algo(algo)
    agent_class = ALGORITHMS[algo][2]
    if algo == "ddpg":
        return agent_class(dict(config), networks["Q"], networks["pi"])
    return agent_class(dict(config), networks["Q1"], networks["Q2"], networks["pi"])


def make_agent(algo, env, config=None, hidden_sizes=(256, 256)):
    """A fresh agent of `algo` for `env`; its networks are `agent.networks` (a dict by name)."""
    networks = build_networks(algo, env, hidden_sizes)
    agent = build_agent(algo, config or {}, networks)
    agent.networks = networks
    return agent
