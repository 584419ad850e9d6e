# WRONG: the target uses Q1' alone (no minimum over the twin target critics). Otherwise a correct TD3.
import copy

import torch
import torch.nn as nn

from solutions import training
from solutions.history import History
from solutions.replay_buffer import ReplayBuffer


class QNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        sizes = [env.observation_space.shape[0] + env.action_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, state, action):
        x = torch.cat([state, action], dim=-1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x).squeeze(-1)


class policyNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        sizes = [env.observation_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], env.action_space.shape[0])
        low = torch.as_tensor(env.action_space.low, dtype=torch.float32)
        high = torch.as_tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def forward(self, state):
        x = state
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.action_bias + self.action_scale * torch.tanh(self.out(x))


class td3_agent:
    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = dict(config)
        get = self.config.get
        self.gamma = get("gamma", 0.99)
        self.tau = get("tau", 0.02)
        self.lr = get("learning_rate", 1e-3)
        self.batch_size = get("batch_size", 256)
        self.sigma = get("exploration_noise", 0.1)
        self.target_sigma = get("action_noise_scale", 0.2)
        self.noise_clip = get("action_noise_clip", 0.5)
        self.policy_update_freq = get("policy_update_freq", 2)
        self.updates_per_step = get("updates_per_step", 2)
        self.twin_min = get("clipped_double_q", True)
        self.learning_starts = max(get("delay_learning", 1000), self.batch_size)
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target = copy.deepcopy(value_network1)
        self.Q2_target = copy.deepcopy(value_network2)
        self.pi_target = copy.deepcopy(policy_network)
        device = next(policy_network.parameters()).device
        self.critic_optimizer = torch.optim.Adam([*self.Q1.parameters(), *self.Q2.parameters()], lr=self.lr)
        self.actor_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.lr)
        self.memory = ReplayBuffer(get("buffer_size", 1e6), device)
        self.env_steps = 0
        self.critic_steps = 0
        self.history = History()

    def bounds(self):
        return self.pi.action_bias - self.pi.action_scale, self.pi.action_bias + self.pi.action_scale

    @torch.no_grad()
    def critic_target(self, R, Y, D):
        action = self.pi_target(Y)
        noise = (self.target_sigma * torch.randn_like(action)).clamp(-self.noise_clip, self.noise_clip)
        low, high = self.bounds()
        action = torch.clamp(action + noise * self.pi.action_scale, low, high)
        return R + self.gamma * (1.0 - D) * self.Q1_target(Y, action)

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        q1, q2 = self.Q1(X, A), self.Q2(X, A)
        loss = ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()
        self.critic_steps += 1
        self.history.add(critic_loss=loss.detach(), mean_q=q1.detach().mean())

    def actor_step(self, X):
        loss = -self.Q1(X, self.pi(X)).mean()
        params = list(self.pi.parameters())
        for p, g in zip(params, torch.autograd.grad(loss, params)):
            p.grad = g
        self.actor_optimizer.step()
        self.history.add(actor_loss=loss.detach())

    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2), (self.pi_target, self.pi)):
            for t, o in zip(target.parameters(), online.parameters()):
                t.lerp_(o, self.tau)

    @torch.no_grad()
    def explore(self, state):
        device = self.pi.action_scale.device
        action = self.pi(torch.as_tensor(state, dtype=torch.float32, device=device))
        action = action + self.sigma * self.pi.action_scale * torch.randn_like(action)
        low, high = self.bounds()
        return torch.clamp(action, low, high).cpu().numpy()

    def update(self):
        batch = self.memory.sample(self.batch_size)
        self.critic_step(*batch)
        if self.critic_steps % self.policy_update_freq == 0:
            self.actor_step(batch[0])
            self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
