# Exercise 5.1 with nn.ModuleList, any number of hidden layers, and squeeze(-1).
import torch
import torch.nn as nn


class QNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        sizes = [env.observation_space.shape[0] + env.action_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, state, action):
        x = torch.cat((state, action), dim=-1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x).squeeze(-1)


class policyNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        sizes = [env.observation_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], env.action_space.shape[0])
        low = torch.from_numpy(env.action_space.low).float()
        high = torch.from_numpy(env.action_space.high).float()
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, state):
        x = state
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.action_bias + self.action_scale * torch.tanh(self.out(x))
