import torch
import torch.nn as nn


def encoder():
    return nn.Sequential(
        nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
        nn.Flatten(),
    )


class PixelQ(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.encoder = encoder()
        self.head = nn.Sequential(nn.Linear(3136 + env.action_space.shape[0], 256), nn.ReLU(), nn.Linear(256, 1))

    def forward(self, state, action):
        return self.head(torch.cat([self.encoder(state.float() / 255), action], dim=-1)).squeeze(-1)


class PixelPi(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.encoder = encoder()  # the mistake: a second encoder, not the critic's
        self.head = nn.Sequential(nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, env.action_space.shape[0]))
        low, high = torch.tensor(env.action_space.low), torch.tensor(env.action_space.high)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, state):
        single = state.dim() == 3
        state = state.unsqueeze(0) if single else state
        action = self.action_bias + self.action_scale * torch.tanh(self.head(self.encoder(state.float() / 255)))
        return action.squeeze(0) if single else action


def pixel_networks(env):
    return PixelQ(env), PixelPi(env)
