"""The update steps of DDPG, TD3 and SAC written the way the chapter's draft writes them.

This is the baseline of `speed.py`, kept only to be measured against: a replay buffer that is a
Python list of tuples converted with np.array at every sample, target networks updated parameter
by parameter, gradients computed for the critic during the actor step. The mathematics is the same
as in `solutions/`; only the implementation differs. Do not teach from this file.
"""

import random
from copy import deepcopy

import numpy as np
import torch
import torch.nn.functional as F


class ListReplayBuffer:
    def __init__(self, capacity, device):
        self.capacity, self.device, self.data, self.index = int(capacity), device, [], 0

    def append(self, s, a, r, s_, d):
        if len(self.data) < self.capacity:
            self.data.append(None)
        self.data[self.index] = (s, a, r, s_, d)
        self.index = (self.index + 1) % self.capacity

    def sample(self, batch_size):
        batch = random.sample(self.data, batch_size)
        return [torch.Tensor(np.array(x)).to(self.device) for x in zip(*batch)]

    def __len__(self):
        return len(self.data)


def polyak_per_parameter(target, online, tau):
    for param, target_param in zip(online.parameters(), target.parameters()):
        target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)


class DraftDDPG:
    def __init__(self, Q, pi, lr=1e-3, gamma=0.99, tau=0.005, batch_size=256):
        self.Q, self.pi, self.Q_target, self.pi_target = Q, pi, deepcopy(Q), deepcopy(pi)
        self.Q_optimizer = torch.optim.Adam(list(Q.parameters()), lr=lr)
        self.pi_optimizer = torch.optim.Adam(list(pi.parameters()), lr=lr)
        self.memory = ListReplayBuffer(1e6, "cpu")
        self.gamma, self.tau, self.batch_size = gamma, tau, batch_size

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        with torch.no_grad():
            target = R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y)).view(-1)
        loss = F.mse_loss(self.Q(X, A).view(-1), target)
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()
        pi_loss = -self.Q(X, self.pi(X)).mean()
        self.pi_optimizer.zero_grad()
        pi_loss.backward()
        self.pi_optimizer.step()
        polyak_per_parameter(self.pi_target, self.pi, self.tau)
        polyak_per_parameter(self.Q_target, self.Q, self.tau)


class DraftTD3:
    def __init__(self, Q1, Q2, pi, lr=1e-3, gamma=0.99, tau=0.005, batch_size=256, policy_update_freq=2):
        self.Q1, self.Q2, self.pi = Q1, Q2, pi
        self.Q1_target, self.Q2_target, self.pi_target = deepcopy(Q1), deepcopy(Q2), deepcopy(pi)
        self.Q_optimizer = torch.optim.Adam(list(Q1.parameters()) + list(Q2.parameters()), lr=lr)
        self.pi_optimizer = torch.optim.Adam(list(pi.parameters()), lr=lr)
        self.memory = ListReplayBuffer(1e6, "cpu")
        self.gamma, self.tau, self.batch_size, self.freq, self.step = gamma, tau, batch_size, policy_update_freq, 0

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        with torch.no_grad():
            noise = (torch.randn_like(A) * 0.2).clamp(-0.5, 0.5) * self.pi_target.action_scale
            low = (self.pi.action_bias - self.pi.action_scale)[0].item()
            high = (self.pi.action_bias + self.pi.action_scale)[0].item()
            next_actions = (self.pi_target(Y) + noise).clamp(low, high)
            min_q = torch.min(self.Q1_target(Y, next_actions), self.Q2_target(Y, next_actions))
            target = R + self.gamma * (1 - D) * min_q.view(-1)
        loss = F.mse_loss(self.Q1(X, A).view(-1), target) + F.mse_loss(self.Q2(X, A).view(-1), target)
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()
        self.step += 1
        if self.step % self.freq == 0:
            pi_loss = -self.Q1(X, self.pi(X)).mean()
            self.pi_optimizer.zero_grad()
            pi_loss.backward()
            self.pi_optimizer.step()
            polyak_per_parameter(self.pi_target, self.pi, self.tau)
            polyak_per_parameter(self.Q1_target, self.Q1, self.tau)
            polyak_per_parameter(self.Q2_target, self.Q2, self.tau)


class DraftSAC:
    def __init__(self, Q1, Q2, pi, lr=1e-3, gamma=0.99, tau=0.005, batch_size=256, alpha=0.2):
        self.Q1, self.Q2, self.pi = Q1, Q2, pi
        self.Q1_target, self.Q2_target = deepcopy(Q1), deepcopy(Q2)
        self.Q_optimizer = torch.optim.Adam(list(Q1.parameters()) + list(Q2.parameters()), lr=lr)
        self.pi_optimizer = torch.optim.Adam(list(pi.parameters()), lr=lr)
        self.log_alpha = torch.tensor(np.log(alpha), requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=lr)
        self.target_entropy = -float(pi.action_scale.shape[0])
        self.memory = ListReplayBuffer(1e6, "cpu")
        self.gamma, self.tau, self.batch_size = gamma, tau, batch_size

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        alpha = self.log_alpha.exp().item()
        with torch.no_grad():
            next_actions, next_log_prob = self.pi.sample(Y)
            min_q = torch.min(self.Q1_target(Y, next_actions), self.Q2_target(Y, next_actions)) - alpha * next_log_prob
            target = R + self.gamma * (1 - D) * min_q.view(-1)
        loss = F.mse_loss(self.Q1(X, A).view(-1), target) + F.mse_loss(self.Q2(X, A).view(-1), target)
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()
        actions, log_prob = self.pi.sample(X)
        pi_loss = (alpha * log_prob - torch.min(self.Q1(X, actions), self.Q2(X, actions))).mean()
        self.pi_optimizer.zero_grad()
        pi_loss.backward()
        self.pi_optimizer.step()
        alpha_loss = (-self.log_alpha.exp() * (log_prob.detach() + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad()
        alpha_loss.backward()
        self.alpha_optimizer.step()
        polyak_per_parameter(self.Q1_target, self.Q1, self.tau)
        polyak_per_parameter(self.Q2_target, self.Q2, self.tau)
