import torch
import torch.nn as nn


class PixelEncoder(nn.Module):
    """Stacks of 4 grey 84x84 frames, pixel values 0..255 of any dtype -> 50 features."""

    def __init__(self, in_channels, n_features=50):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.trunk = nn.Sequential(nn.Linear(64 * 7 * 7, n_features), nn.LayerNorm(n_features), nn.Tanh())
        self.n_features = n_features

    def forward(self, pixels):
        return self.trunk(self.conv(pixels.float() / 255.0))


class PixelCritic(nn.Module):
    def __init__(self, env, encoder, hidden=512):
        super().__init__()
        self.encoder = encoder
        act_dim = env.action_space.shape[0]
        self.head = nn.Sequential(nn.Linear(encoder.n_features + act_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, state, action):
        features = self.encoder(state)
        return self.head(torch.cat([features, action], dim=-1)).squeeze(-1)


class PixelActor(nn.Module):
    def __init__(self, env, encoder, hidden=512):
        super().__init__()
        self.encoder = encoder
        act_dim = env.action_space.shape[0]
        self.head = nn.Sequential(nn.Linear(encoder.n_features, hidden), nn.ReLU(), nn.Linear(hidden, act_dim))
        low = torch.tensor(env.action_space.low, dtype=torch.float32)
        high = torch.tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, state):
        one = state.dim() == 3
        if one:
            state = state.unsqueeze(0)
        action = torch.tanh(self.head(self.encoder(state))) * self.action_scale + self.action_bias
        return action[0] if one else action


def pixel_networks(env):
    encoder = PixelEncoder(env.observation_space.shape[0])
    return PixelCritic(env, encoder), PixelActor(env, encoder)
