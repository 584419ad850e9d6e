"""The critic Q(s, a; θ) and the deterministic actor π_w(s) used by DDPG and TD3.

Both are multilayer perceptrons for vector observations (two hidden layers of 256 by default).
Both accept one observation (a 1-D tensor) or a batch (a 2-D tensor, one row per observation).
"""

import torch
import torch.nn as nn

from solutions.validation import check_network_spaces


def mlp(input_dim, output_dim, hidden_sizes):
    """Linear layers with ReLU between them, and no activation after the last one."""
    layers = []
    for width in hidden_sizes:
        layers += [nn.Linear(input_dim, width), nn.ReLU()]
        input_dim = width
    layers.append(nn.Linear(input_dim, output_dim))
    return nn.Sequential(*layers)


class QNetwork(nn.Module):
    """Q(s, a; θ): the concatenation [s, a] goes in, one value comes out."""

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        check_network_spaces(env, type(self).__name__)  # a discrete or image space names what to use
        state_dim = env.observation_space.shape[0]
        action_dim = env.action_space.shape[0]
        self.net = mlp(state_dim + action_dim, 1, hidden_sizes)

    def forward(self, state, action):
        # Shape (B,) for a batch, a 0-d tensor for one pair: the trailing 1 is dropped here so that
        # Q-values and targets never broadcast by accident, (B, 1) - (B,) being (B, B).
        return self.net(torch.cat([state, action], dim=-1)).squeeze(-1)


class policyNetwork(nn.Module):
    """π_w(s) = action_scale * tanh(f_w(s)) + action_bias: a deterministic action within the bounds.

    tanh gives a value in (-1, 1) per action dimension; the affine map sends it to (low, high),
    which need not be centred on zero. `action_scale` and `action_bias` are buffers, not
    parameters: they move with `.to(device)` and are saved with the weights, but are not trained.
    """

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        check_network_spaces(env, type(self).__name__)  # a discrete or image space names what to use
        state_dim = env.observation_space.shape[0]
        action_dim = env.action_space.shape[0]
        self.net = mlp(state_dim, action_dim, hidden_sizes)
        low = torch.as_tensor(env.action_space.low, dtype=torch.float32)
        high = torch.as_tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, state):
        return torch.tanh(self.net(state)) * self.action_scale + self.action_bias


def action_bounds(policy):
    """(low, high) of a policy's actions, from its action_scale and action_bias: what exploring clips to."""
    return policy.action_bias - policy.action_scale, policy.action_bias + policy.action_scale
