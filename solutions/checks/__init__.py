"""Checks for the coding exercises: run your class against the reference on fixed inputs.

In reinforcement learning a mistake rarely crashes: the learning curve just stays flat. Each check
below takes your class (not an instance), tries it on tiny fixed inputs, and prints one line per
property,

    PASS <property>
    FAIL <property>: <what was seen>. Likely mistake: <...>. Look at: <method or line>

then returns True if every property holds. A check takes a second or two (the pixel check, with its
convolutions, the longest), and leaves the random state of your notebook as it was.

    from solutions.checks import check_networks
    check_networks(QNetwork, policyNetwork)

The environment is a fake: an object with an `observation_space` (3 numbers) and an `action_space`
whose bounds are NOT centred on zero, low = [-1, 0] and high = [3, 2], so that a policy that
forgets to shift its actions by (high + low) / 2 is caught. Agents are checked with small
reference networks and a hand-built batch of 8 transitions.

Layout: one module per solution module (networks, replay_buffer, ddpg, td3, sac_policy, sac,
sac_discrete, crossq, pixel_networks, frame_buffer, pixel_ddpg; discrete_networks checks the
networks of sac_discrete, crossq_network CrossQ's critic), and the
machinery they share: report (the PASS/FAIL lines), fixtures (fake environments, batches, configs,
the agent factory), fake_episodes (runs `train` on a fake environment), agent_properties and
policy_properties (properties several checks share).
"""

from solutions.checks.crossq import check_crossq_agent
from solutions.checks.crossq_network import check_crossq_network
from solutions.checks.ddpg import check_ddpg_agent
from solutions.checks.discrete_networks import check_categorical_policy, check_discrete_q_network
from solutions.checks.frame_buffer import check_frame_buffer
from solutions.checks.networks import check_networks, check_policy_network, check_q_network
from solutions.checks.pixel_ddpg import check_pixel_ddpg_agent
from solutions.checks.pixel_networks import check_pixel_networks
from solutions.checks.replay_buffer import check_replay_buffer
from solutions.checks.sac import check_sac_agent
from solutions.checks.sac_discrete import check_sac_discrete_agent
from solutions.checks.sac_policy import check_squashed_gaussian_policy
from solutions.checks.td3 import check_td3_agent

__all__ = [
    "check_networks",
    "check_q_network",
    "check_policy_network",
    "check_replay_buffer",
    "check_ddpg_agent",
    "check_pixel_networks",
    "check_frame_buffer",
    "check_pixel_ddpg_agent",
    "check_td3_agent",
    "check_squashed_gaussian_policy",
    "check_sac_agent",
    "check_discrete_q_network",
    "check_categorical_policy",
    "check_sac_discrete_agent",
    "check_crossq_network",
    "check_crossq_agent",
]
