"""The fixed inputs of the checks: fake environments, hand-built batches, the agents' configs, and
the one factory that builds an agent from the small reference networks.

The continuous action space is NOT centred on zero, low = [-1, 0] and high = [3, 2], so that a policy
that forgets to shift its actions by (high + low) / 2 is caught.
"""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch

OBS_DIM, ACT_DIM, BATCH = 3, 2, 8
LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 2.0], np.float32)
SCALE, BIAS = torch.tensor((HIGH - LOW) / 2), torch.tensor((HIGH + LOW) / 2)  # [2, 1] and [1, 1]
HIDDEN = (16, 16)  # the reference networks given to the agents are small, hence fast

DDPG_CONFIG = {
    "gamma": 0.9,
    "buffer_size": 100,
    "learning_rate": 1e-3,
    "batch_size": BATCH,
    "tau": 0.1,
    "exploration_noise": 0.1,
    "delay_learning": 0,
    "tqdm_disable": True,
    "disable_episode_report": True,
}
# No smoothing noise by default, so that the target is deterministic; some tests change it.
TD3_CONFIG = {**DDPG_CONFIG, "action_noise_scale": 0.0, "action_noise_clip": 0.5, "policy_update_freq": 3}
SAC_CONFIG = {
    **{key: value for key, value in DDPG_CONFIG.items() if key != "exploration_noise"},
    "alpha": 0.5,
    "learn_alpha": True,
    "target_entropy": -float(ACT_DIM),
    "alpha_learning_rate": 0.1,
}

CROSSQ_CONFIG = {
    **{key: value for key, value in SAC_CONFIG.items() if key not in ("tau", "target_entropy")},
    "policy_update_freq": 3,
}
N_ACTIONS = 3  # the discrete action space of discrete SAC
DISCRETE_CONFIG = {
    **{key: value for key, value in SAC_CONFIG.items() if key not in ("target_entropy", "learn_alpha")},
    "learn_alpha": False,
}
FRAMES, SIDE = 4, 84  # a stack of 4 grey 84x84 frames, as make_pixel_env gives

# torch imports part of itself the first time an optimizer is built (seconds on a small machine):
# done once here, so that each check stays well under two seconds.
torch.optim.Adam([torch.zeros(1, requires_grad=True)])


# ---------------------------------------------------------------------------------------------
# Fake environments: networks and agents only read their two spaces
# ---------------------------------------------------------------------------------------------


def fake_env():
    """A stand-in for an environment: networks and agents only read its two spaces."""
    return SimpleNamespace(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Box(LOW, HIGH, dtype=np.float32),
    )


def fake_discrete_env():
    """Like fake_env, with n = 3 discrete actions."""
    return SimpleNamespace(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Discrete(N_ACTIONS),
    )


def fake_pixel_env():
    """Like fake_env, with stacks of 4 grey 84x84 uint8 frames as observations."""
    return SimpleNamespace(
        observation_space=gym.spaces.Box(0, 255, (FRAMES, SIDE, SIDE), np.uint8),
        action_space=gym.spaces.Box(LOW, HIGH, dtype=np.float32),
    )


# ---------------------------------------------------------------------------------------------
# Hand-built batches and transitions
# ---------------------------------------------------------------------------------------------


def fixed_batch(seed=1):
    """A hand-built batch X, A, R, Y, D of 8 transitions; every other one is terminal."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(BATCH, OBS_DIM, generator=g)
    A = BIAS + SCALE * (2 * torch.rand(BATCH, ACT_DIM, generator=g) - 1)
    R = torch.randn(BATCH, generator=g)
    Y = torch.randn(BATCH, OBS_DIM, generator=g)
    D = torch.tensor([0.0, 1.0] * (BATCH // 2))
    return X, A, R, Y, D


def transition(i):
    """Transition number i, recognisable from its state s = (i, i, i): a = (i/100, -i/100), r = i,
    s' = s + 0.5, and terminated for every third one. float64 arrays, as environments give them."""
    state = np.full(OBS_DIM, float(i))
    return state, np.array([i / 100, -i / 100]), np.float64(i), state + 0.5, i % 3 == 0


def discrete_batch():
    """fixed_batch with action indices 0, 1, 2, 0, ... in A, stored as floats as the buffer does."""
    X, _, R, Y, D = fixed_batch()
    return X, (torch.arange(BATCH) % N_ACTIONS).float(), R, Y, D


def pixel_batch():
    """fixed_batch with 4x84x84 pixel stacks as states: s' is s shifted by one new frame."""
    g = torch.Generator().manual_seed(4)
    X = torch.randint(0, 256, (BATCH, FRAMES, SIDE, SIDE), generator=g).float()
    Y = torch.cat([X[:, 1:], torch.randint(0, 256, (BATCH, 1, SIDE, SIDE), generator=g).float()], dim=1)
    _, A, R, _, D = fixed_batch()
    return X, A, R, Y, D


# ---------------------------------------------------------------------------------------------
# Agents built from small reference networks
# ---------------------------------------------------------------------------------------------


def perturb(module, seed, size=0.3):
    """Move every parameter by a fixed random amount (so that a network differs from its copy)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(size * torch.randn(p.shape, generator=g))


def agent_factory(agent_class, config, env, networks, perturbed=()):
    """The function make(overrides=None, shifted=True) with which a check builds its agents:
    agent_class({**config, **overrides}, *the networks), the networks built after
    torch.manual_seed(1), so that every agent of a check starts the same. `networks` is a tuple of
    reference network classes, each built as cls(env, HIDDEN) in turn, or a function of env that
    builds them all (networks that share an encoder are built together). With shifted, the online
    networks named in `perturbed` are then moved by fixed amounts (seeds 2, 3, ...), so that they
    differ from their target copies and a target computed with the wrong networks shows."""

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        built = networks(env) if callable(networks) else [cls(env, HIDDEN) for cls in networks]
        agent = agent_class({**config, **(overrides or {})}, *built)
        if shifted:
            for seed, name in enumerate(perturbed, start=2):
                perturb(getattr(agent, name), seed)
        return agent

    return make
