"""Every algorithm by name, and the one factory that builds its networks and agent.

    agent = make_agent("sac", env, {"seed": 0}, hidden_sizes=(256, 256))

The command line, the sweeps, the tests and the benchmarks build their agents here. A new algorithm is
one line of ALGORITHMS: its agent class (which declares its networks' `roles`, see `Agent` in
solutions/training.py), the classes that build each role, and its config defaults.
"""

from solutions.crossq import CROSSQ_DEFAULTS, crossq_agent, crossQNetwork
from solutions.ddpg import DDPG_DEFAULTS, ddpg_agent
from solutions.networks import QNetwork, policyNetwork
from solutions.sac import SAC_DEFAULTS, sac_agent
from solutions.sac_discrete import SAC_DISCRETE_DEFAULTS, categoricalPolicy, discreteQNetwork, sac_discrete_agent
from solutions.sac_policy import squashedGaussianPolicy
from solutions.td3 import TD3_DEFAULTS, td3_agent
from solutions.tooling.captured_update import capture_update
from solutions.tooling.device import on_device
from solutions.validation import check_action_space

# name -> (agent class, {role: network class}, config defaults)
ALGORITHMS = {
    "ddpg": (ddpg_agent, {"critic": QNetwork, "policy": policyNetwork}, DDPG_DEFAULTS),
    "td3": (td3_agent, {"critic": QNetwork, "policy": policyNetwork}, TD3_DEFAULTS),
    "sac": (sac_agent, {"critic": QNetwork, "policy": squashedGaussianPolicy}, SAC_DEFAULTS),
    "crossq": (crossq_agent, {"critic": crossQNetwork, "policy": squashedGaussianPolicy}, CROSSQ_DEFAULTS),
    "sac_discrete": (sac_discrete_agent, {"critic": discreteQNetwork, "policy": categoricalPolicy},
                     SAC_DISCRETE_DEFAULTS),
}
ALGOS = list(ALGORITHMS)
DEFAULTS = {algo: defaults for algo, (_, _, defaults) in ALGORITHMS.items()}  # what --set checks values against
DISCRETE_ALGOS = ("sac_discrete",)


def check_algo(algo):
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm '{algo}'; choose one of {', '.join(ALGOS)}.")


def build_networks(algo, env, hidden_sizes=(256, 256)):
    """The networks of `algo` for `env`, by the names its agent declares: {"Q", "pi"} or {"Q1", "Q2", "pi"}."""
    check_algo(algo)
    if algo in DISCRETE_ALGOS:
        check_action_space(env, algo, "discrete", fix="choose ddpg, td3, sac or crossq")
    else:
        check_action_space(env, algo, "continuous", fix="choose sac_discrete")
    agent_class, network_classes, _ = ALGORITHMS[algo]
    return {name: network_classes[role](env, tuple(hidden_sizes)) for name, role in agent_class.roles.items()}


def build_agent(algo, config, networks):
    """The agent of `algo` with `config` (a dict of overrides) and the networks of `build_networks`.

    With config `captured_update`, the agent's update is replayed as a CUDA graph (captured_update.py).
    """
    check_algo(algo)
    agent_class = ALGORITHMS[algo][0]
    agent = agent_class(dict(config), *(networks[name] for name in agent_class.roles))
    if agent.config["captured_update"]:
        capture_update(agent)
    return agent


def make_agent(algo, env, config=None, hidden_sizes=(256, 256), device="cpu"):
    """A fresh agent of `algo` for `env`, its networks on `device`; they are also `agent.networks` (by name)."""
    networks = on_device(build_networks(algo, env, hidden_sizes), device)
    agent = build_agent(algo, config or {}, networks)
    agent.networks = networks
    return agent
