import math
from copy import deepcopy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import training
from solutions.history import History
from solutions.networks import QNetwork  # noqa: F401 (the check's networks: earlier cells define them)


class NumpyBuffer:
    """A circular replay buffer in NumPy arrays, sampled with replacement."""

    def __init__(self, capacity):
        self.capacity, self.size, self.next = int(capacity), 0, 0
        self.data = None

    def append(self, state, action, reward, next_state, terminated):
        row = (state, action, [reward], next_state, [float(terminated)])
        if self.data is None:
            self.data = [np.zeros((self.capacity, np.size(x)), np.float32) for x in row]
        for column, x in zip(self.data, row):
            column[self.next] = np.ravel(x)
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        index = np.random.randint(0, self.size, batch_size)
        X, A, R, Y, D = (torch.from_numpy(column[index]) for column in self.data)
        return X, A, R.squeeze(1), Y, D.squeeze(1)

    def __len__(self):
        return self.size


class sac_agent:
    """SAC handed to the course's loop, log α an nn.Parameter, one optimizer per critic, diagnostics
    recorded in a History."""

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 1e-3, "batch_size": 256, "tau": 0.02,
                       "alpha": 0.2, "learn_alpha": True, "target_entropy": None, "alpha_learning_rate": 1e-3,
                       "delay_learning": 1000, **config}
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = self.config["batch_size"]
        self.learning_starts = max(self.config["delay_learning"], self.batch_size)
        self.updates_per_step = 1
        self.env_steps = 0
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target = deepcopy(value_network1).requires_grad_(False)
        self.Q2_target = deepcopy(value_network2).requires_grad_(False)
        lr = self.config["learning_rate"]
        self.optimizers = [torch.optim.Adam(q.parameters(), lr=lr) for q in (self.Q1, self.Q2)]
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=lr)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(self.config["alpha"])))
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=self.config["alpha_learning_rate"])
        entropy = self.config["target_entropy"]
        self.target_entropy = -len(self.pi.action_scale) if entropy is None else entropy
        self.memory = NumpyBuffer(self.config["buffer_size"])
        self.history = History()

    @property
    def alpha(self):
        return torch.exp(self.log_alpha.detach())

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            a2, logp2 = self.pi.sample(Y)
            v = torch.min(self.Q1_target(Y, a2), self.Q2_target(Y, a2)) - self.alpha * logp2
            return R + self.gamma * (1.0 - D) * v

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        for Q, optimizer in zip((self.Q1, self.Q2), self.optimizers):
            loss = F.mse_loss(Q(X, A), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            self.history.add(critic_loss=loss.detach())

    def actor_step(self, X):
        a, logp = self.pi.sample(X)
        q = torch.min(self.Q1(X, a), self.Q2(X, a))
        loss = torch.mean(self.alpha * logp - q)
        grads = torch.autograd.grad(loss, list(self.pi.parameters()))
        for p, g in zip(self.pi.parameters(), grads):
            p.grad = g
        self.pi_optimizer.step()
        self.history.add(alpha=self.alpha, entropy=-logp.detach().mean(), mean_q=q.detach().mean())
        return logp.detach()

    def temperature_step(self, log_prob):
        loss = -(self.log_alpha * (log_prob + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()

    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
            for p_target, p in zip(target.parameters(), online.parameters()):
                p_target.copy_(self.tau * p + (1 - self.tau) * p_target)

    @torch.no_grad()
    def explore(self, state):
        action, _ = self.pi.sample(torch.tensor(state, dtype=torch.float32))
        low = (self.pi.action_bias - self.pi.action_scale).numpy()
        high = (self.pi.action_bias + self.pi.action_scale).numpy()
        return np.clip(action.numpy(), low, high)

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        log_prob = self.actor_step(X)
        if self.config["learn_alpha"]:
            self.temperature_step(log_prob)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
