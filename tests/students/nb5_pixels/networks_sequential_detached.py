import numpy as np
import torch
import torch.nn as nn


def conv_encoder(observation_shape):
    """The Nature-DQN convolutions, flattened; the networks scale the pixels before calling it."""
    channels, height, width = observation_shape
    encoder = nn.Sequential(
        nn.Conv2d(channels, 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
    )
    with torch.no_grad():
        encoder.n_out = encoder(torch.zeros(1, channels, height, width)).shape[1]
    return encoder


class ConvQ(nn.Module):
    def __init__(self, env, encoder, hidden_sizes=(256, 256)):
        super().__init__()
        self.encoder = encoder
        sizes = [encoder.n_out + int(np.prod(env.action_space.shape)), *hidden_sizes, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, state, action):
        x = torch.cat([self.encoder(state.to(torch.float32) / 255), action], dim=1)
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)[:, 0]


class ConvPolicy(nn.Module):
    """The actor reads the shared features detached: only the critic's loss trains the encoder."""

    def __init__(self, env, encoder, hidden_sizes=(256, 256)):
        super().__init__()
        self.encoder = encoder
        sizes = [encoder.n_out, *hidden_sizes, env.action_space.shape[0]]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.register_buffer("action_scale", torch.as_tensor((env.action_space.high - env.action_space.low) / 2))
        self.register_buffer("action_bias", torch.as_tensor((env.action_space.high + env.action_space.low) / 2))

    def forward(self, state):
        batch = state.reshape(-1, *state.shape[-3:])
        x = self.encoder(batch.to(torch.float32) / 255).detach()
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        action = self.action_bias + self.action_scale * torch.tanh(self.layers[-1](x))
        return action.reshape(*state.shape[:-3], -1)


def pixel_networks(env):
    encoder = conv_encoder(env.observation_space.shape)
    return ConvQ(env, encoder), ConvPolicy(env, encoder)
