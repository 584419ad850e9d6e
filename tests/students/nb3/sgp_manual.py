import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class squashedGaussianPolicy(nn.Module):
    """The log-probability written out by hand, layers in an nn.ModuleList, log σ clamped."""

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        sizes = [env.observation_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.heads = nn.Linear(sizes[-1], 2 * env.action_space.shape[0])  # μ and z side by side
        low, high = env.action_space.low, env.action_space.high
        self.register_buffer("action_scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.register_buffer("action_bias", torch.as_tensor((high + low) / 2, dtype=torch.float32))

    def mean_and_log_std(self, state):
        x = state
        for layer in self.hidden:
            x = F.relu(layer(x))
        mean, z = self.heads(x).chunk(2, dim=-1)
        return mean, torch.clamp(z, -5.0, 2.0)

    def sample(self, state):
        mean, log_std = self.mean_and_log_std(state)
        std = torch.exp(log_std)
        eps = torch.randn_like(mean)
        u = mean + std * eps
        action = self.action_scale * torch.tanh(u) + self.action_bias
        log_normal = -0.5 * eps**2 - log_std - 0.5 * math.log(2 * math.pi)
        log_det = 2 * (math.log(2) - u - F.softplus(-2 * u)) + torch.log(self.action_scale)
        return action, (log_normal - log_det).sum(dim=-1)

    def forward(self, state):
        mean, _ = self.mean_and_log_std(state)
        return self.action_scale * torch.tanh(mean) + self.action_bias
