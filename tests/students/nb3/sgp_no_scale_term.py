import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class squashedGaussianPolicy(nn.Module):
    """Wrong: the Spinning Up formula, written for actions in [-1, 1]: no - Σ log(action_scale)."""

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden_sizes[0]), nn.ReLU(),
                                 nn.Linear(hidden_sizes[0], hidden_sizes[1]), nn.ReLU())
        self.mu_layer = nn.Linear(hidden_sizes[1], act_dim)
        self.log_std_layer = nn.Linear(hidden_sizes[1], act_dim)
        low = torch.as_tensor(env.action_space.low, dtype=torch.float32)
        high = torch.as_tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def mean_and_log_std(self, state):
        h = self.net(state)
        log_std = -5 + 0.5 * 7 * (torch.tanh(self.log_std_layer(h)) + 1)
        return self.mu_layer(h), log_std

    def sample(self, state):
        mu, log_std = self.mean_and_log_std(state)
        dist = torch.distributions.Normal(mu, log_std.exp())
        u = dist.rsample()
        logp = dist.log_prob(u).sum(-1)
        logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return torch.tanh(u) * self.action_scale + self.action_bias, logp

    def forward(self, state):
        mu, _ = self.mean_and_log_std(state)
        return torch.tanh(mu) * self.action_scale + self.action_bias
