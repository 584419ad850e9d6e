import torch
import torch.nn as nn
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution


class squashedGaussianPolicy(nn.Module):
    """A squashed Gaussian written with torch.distributions: Normal, then tanh, then the affine map."""

    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        layers, width = [], env.observation_space.shape[0]
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.trunk = nn.Sequential(*layers)
        n_actions = env.action_space.shape[0]
        self.mu = nn.Linear(width, n_actions)
        self.log_std = nn.Linear(width, n_actions)
        low = torch.tensor(env.action_space.low, dtype=torch.float32)
        high = torch.tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def mean_and_log_std(self, state):
        h = self.trunk(state)
        log_std = -5 + 3.5 * (torch.tanh(self.log_std(h)) + 1)
        return self.mu(h), log_std

    def distribution(self, state):
        mean, log_std = self.mean_and_log_std(state)
        # cache_size=1: log_prob of the sampled action reuses u instead of inverting tanh (atanh(±1) = inf)
        transforms = [TanhTransform(cache_size=1), AffineTransform(self.action_bias, self.action_scale, cache_size=1)]
        return TransformedDistribution(Normal(mean, log_std.exp()), transforms)

    def sample(self, state):
        dist = self.distribution(state)
        action = dist.rsample()
        return action, dist.log_prob(action).sum(-1)

    def forward(self, state):
        mean, _ = self.mean_and_log_std(state)
        return self.action_scale * torch.tanh(mean) + self.action_bias
