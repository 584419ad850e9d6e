# WRONG: stores `terminated or truncated` as the done flag. Otherwise a correct TD3 with its own loop.
import copy

import numpy as np
import torch
import torch.nn.functional as F

from solutions.networks import QNetwork, policyNetwork  # noqa: F401 (the networks loaded above)


class NumpyBuffer:
    def __init__(self, capacity, device):
        self.capacity, self.device = int(capacity), device
        self.size, self.pos, self.data = 0, 0, None

    def append(self, state, action, reward, next_state, terminated):
        fields = [np.asarray(state, np.float32), np.asarray(action, np.float32), np.float32(reward),
                  np.asarray(next_state, np.float32), np.float32(terminated)]
        if self.data is None:
            self.data = [np.zeros((self.capacity, *np.shape(f)), np.float32) for f in fields]
        for column, value in zip(self.data, fields):
            column[self.pos] = value
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def __len__(self):
        return self.size

    def sample(self, batch_size):
        idx = np.random.randint(0, self.size, size=batch_size)
        return [torch.as_tensor(column[idx], device=self.device) for column in self.data]


class td3_agent:
    defaults = dict(gamma=0.99, buffer_size=1e6, learning_rate=1e-3, batch_size=256, tau=0.02,
                    exploration_noise=0.1, action_noise_scale=0.2, action_noise_clip=0.5, policy_update_freq=2,
                    clipped_double_q=True, delay_learning=1000, updates_per_step=2, seed=None,
                    tqdm_disable=False, disable_episode_report=True)

    def __init__(self, config, value_network1, value_network2, policy_network):
        unknown = set(config) - set(self.defaults)
        if unknown:
            raise ValueError(f"unknown config keys: {unknown}")
        self.config = {**self.defaults, **config}
        c = self.config
        self.gamma, self.tau = c["gamma"], c["tau"]
        self.batch_size = int(c["batch_size"])
        self.policy_update_freq = int(c["policy_update_freq"])
        self.updates_per_step = int(c["updates_per_step"])
        self.learning_starts = max(int(c["delay_learning"]), self.batch_size)
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target, self.Q2_target = copy.deepcopy(self.Q1), copy.deepcopy(self.Q2)
        self.pi_target = copy.deepcopy(self.pi)
        self.device = next(self.pi.parameters()).device
        self.q_opt = torch.optim.Adam(list(self.Q1.parameters()) + list(self.Q2.parameters()), lr=c["learning_rate"])
        self.pi_opt = torch.optim.Adam(self.pi.parameters(), lr=c["learning_rate"])
        self.memory = NumpyBuffer(c["buffer_size"], self.device)
        self.env_steps = 0
        self.n_critic = 0

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            a = self.pi_target(Y)
            eps = torch.randn_like(a) * self.config["action_noise_scale"]
            eps = eps.clamp(-self.config["action_noise_clip"], self.config["action_noise_clip"])
            low = self.pi.action_bias - self.pi.action_scale
            high = self.pi.action_bias + self.pi.action_scale
            a = torch.max(torch.min(a + self.pi.action_scale * eps, high), low)
            q = self.Q1_target(Y, a)
            if self.config["clipped_double_q"]:
                q = torch.min(q, self.Q2_target(Y, a))
            return R + self.gamma * (1 - D) * q

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        loss = F.mse_loss(self.Q1(X, A), y) + F.mse_loss(self.Q2(X, A), y)
        self.q_opt.zero_grad()
        loss.backward()
        self.q_opt.step()
        self.n_critic += 1

    def actor_step(self, X):
        self.Q1.requires_grad_(False)
        try:
            loss = -self.Q1(X, self.pi(X)).mean()
            self.pi_opt.zero_grad()
            loss.backward()
            self.pi_opt.step()
        finally:
            self.Q1.requires_grad_(True)

    def soft_update(self):
        with torch.no_grad():
            for target, net in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2), (self.pi_target, self.pi)):
                for tp, p in zip(target.parameters(), net.parameters()):
                    tp.mul_(1 - self.tau).add_(self.tau * p)

    def explore(self, state):
        with torch.no_grad():
            a = self.pi(torch.as_tensor(state, dtype=torch.float32, device=self.device))
            a = a + self.config["exploration_noise"] * self.pi.action_scale * torch.randn_like(a)
            low = self.pi.action_bias - self.pi.action_scale
            high = self.pi.action_bias + self.pi.action_scale
            return torch.max(torch.min(a, high), low).cpu().numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        if self.n_critic % self.policy_update_freq == 0:
            self.actor_step(X)
            self.soft_update()

    def train(self, env, max_steps):
        if self.env_steps == 0:
            env.action_space.seed(self.config["seed"])
            state, _ = env.reset(seed=self.config["seed"])
        else:
            state, _ = env.reset()
        returns, episode_return = [], 0.0
        for _ in range(max_steps):
            if self.env_steps < self.learning_starts:
                action = env.action_space.sample()
            else:
                action = self.explore(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            self.memory.append(state, action, reward, next_state, terminated or truncated)
            self.env_steps += 1
            episode_return += reward
            if self.env_steps >= self.learning_starts:
                for _ in range(self.updates_per_step):
                    self.update()
            if terminated or truncated:
                returns.append(episode_return)
                episode_return = 0.0
                state, _ = env.reset()
            else:
                state = next_state
        return returns
