"""Ornstein-Uhlenbeck exploration noise, the time-correlated noise of the original DDPG paper.

x ← x + θ (μ - x) Δt + σ √Δt ξ, ξ ~ N(0, I) (Uhlenbeck & Ornstein, 1930). Successive values are
correlated, so the exploring action drifts smoothly instead of jittering; Fujimoto et al. (2018)
found plain Gaussian noise as good, which is why the agents default to it.
"""

import math

import torch


class OrnsteinUhlenbeckNoise:
    def __init__(self, action_dim, std, theta=0.15, dt=1e-2, device="cpu"):
        self.theta, self.dt = theta, dt
        # σ chosen so that the stationary standard deviation, σ / √(2θ), equals `std`: the same
        # spread as the Gaussian noise it replaces, only correlated in time.
        self.std = std
        self.sigma = std * math.sqrt(2 * theta)
        self.state = torch.zeros(action_dim, device=device)
        self.reset()

    def reset(self):
        """Start each episode from a draw of the stationary law N(0, std²), not from 0: with θΔt = 0.0015
        the process needs hundreds of steps to spread out, longer than an early episode lasts."""
        self.state = self.std * torch.randn_like(self.state)

    def sample(self):
        drift = -self.theta * self.state * self.dt
        diffusion = self.sigma * math.sqrt(self.dt) * torch.randn_like(self.state)
        self.state += drift + diffusion
        return self.state.clone()
