"""The squashed-Gaussian policy of SAC: a = action_scale · tanh(u) + action_bias, u ~ N(μ_w(s), σ_w(s)²).

The network predicts a mean μ and a log standard deviation log σ per action dimension. Actions
are drawn with the reparametrisation trick (u = μ + σ ε, ε ~ N(0, I)), so that gradients reach w
through the sample. tanh keeps the action within bounds; the log-probability is corrected for it
(trick 1) and for the affine map to [low, high]. Calling the network, `policy(s)`, gives the
deterministic action action_scale · tanh(μ) + action_bias, used for evaluation and videos.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions.networks import mlp
from solutions.validation import check_network_spaces

# Trick 2: log σ is kept in [LOG_STD_MIN, LOG_STD_MAX], i.e. σ in [e^-5, e^2] ≈ [0.0067, 7.39].
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def squashed_log_prob(u, mean, log_std, action_scale):
    """log π(a|s) for a = action_scale · tanh(u) + action_bias, summed over action dimensions.

    log π(a|s) = Σ_i [ log N(u_i; μ_i, σ_i²) - log(1 - tanh²(u_i)) - log(action_scale_i) ]
    """
    gaussian = -0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    # log(1 - tanh²(u)) = 2 (log 2 - u - softplus(-2u)): the same value, written so that it stays
    # finite when |u| is large (where 1 - tanh²(u) rounds to 0 and its log to -inf).
    log_tanh_derivative = 2 * (math.log(2) - u - F.softplus(-2 * u))
    return (gaussian - log_tanh_derivative - torch.log(action_scale)).sum(dim=-1)


class squashedGaussianPolicy(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        check_network_spaces(env, type(self).__name__)  # a discrete or image space names what to use
        state_dim = env.observation_space.shape[0]
        action_dim = env.action_space.shape[0]
        # Shared hidden layers, then two heads: the mean μ and the log standard deviation log σ.
        self.body = nn.Sequential(mlp(state_dim, hidden_sizes[-1], hidden_sizes[:-1]), nn.ReLU())
        self.mean_head = nn.Linear(hidden_sizes[-1], action_dim)
        self.log_std_head = nn.Linear(hidden_sizes[-1], action_dim)
        low = torch.as_tensor(env.action_space.low, dtype=torch.float32)
        high = torch.as_tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def mean_and_log_std(self, state):
        features = self.body(state)
        # A scaled tanh maps the raw output smoothly onto [LOG_STD_MIN, LOG_STD_MAX].
        squashed = torch.tanh(self.log_std_head(features))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (squashed + 1)
        return self.mean_head(features), log_std

    def sample(self, state):
        """A reparametrised action and its log-probability: (a, log π(a|s))."""
        mean, log_std = self.mean_and_log_std(state)
        u = mean + log_std.exp() * torch.randn_like(mean)  # u = μ + σ ε: differentiable in w
        action = torch.tanh(u) * self.action_scale + self.action_bias
        return action, squashed_log_prob(u, mean, log_std, self.action_scale)

    def forward(self, state):
        """The deterministic action action_scale · tanh(μ) + action_bias (for evaluation)."""
        mean, _ = self.mean_and_log_std(state)
        return torch.tanh(mean) * self.action_scale + self.action_bias
