import copy
import math

import torch
import torch.nn.functional as F

from solutions import training
from solutions.networks import QNetwork  # noqa: F401 (the check's networks: earlier cells define them)
from solutions.replay_buffer import ReplayBuffer


class sac_agent:
    """Wrong: the critic target is computed with gradients (no torch.no_grad(), no .detach())."""

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 1e-3, "batch_size": 256, "tau": 0.02,
                       "alpha": 0.2, "learn_alpha": True, "target_entropy": None, "alpha_learning_rate": 1e-3,
                       "delay_learning": 1000, "updates_per_step": 1, **config}
        self.gamma, self.tau = self.config["gamma"], self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.updates_per_step, self.env_steps = 1, 0
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target, self.Q2_target = copy.deepcopy(value_network1), copy.deepcopy(value_network2)
        lr = self.config["learning_rate"]
        self.Q_optimizer = torch.optim.Adam([*self.Q1.parameters(), *self.Q2.parameters()], lr=lr)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=lr)
        self.log_alpha = torch.tensor(math.log(self.config["alpha"]), requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=self.config["alpha_learning_rate"])
        target = self.config["target_entropy"]
        self.target_entropy = -float(self.pi.action_scale.shape[0]) if target is None else target
        self.memory = ReplayBuffer(self.config["buffer_size"])

    @property
    def alpha(self):
        return self.log_alpha.exp().detach()

    def critic_target(self, R, Y, D):
        next_action, next_log_prob = self.pi.sample(Y)
        next_q = torch.min(self.Q1_target(Y, next_action), self.Q2_target(Y, next_action))
        return R + self.gamma * (1 - D) * (next_q - self.alpha * next_log_prob)

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        loss = F.mse_loss(self.Q1(X, A), y) + F.mse_loss(self.Q2(X, A), y)
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()

    def actor_step(self, X):
        action, log_prob = self.pi.sample(X)
        loss = (self.alpha * log_prob - torch.min(self.Q1(X, action), self.Q2(X, action))).mean()
        self.pi_optimizer.zero_grad()
        loss.backward()
        self.pi_optimizer.step()
        return log_prob.detach()

    def temperature_step(self, log_prob):
        loss = -(self.log_alpha * (log_prob + self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()

    def soft_update(self):
        with torch.no_grad():
            for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
                for tp, p in zip(target.parameters(), online.parameters()):
                    tp.lerp_(p, self.tau)

    def explore(self, state):
        with torch.no_grad():
            return self.pi.sample(torch.as_tensor(state, dtype=torch.float32))[0].numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        log_prob = self.actor_step(X)
        if self.config["learn_alpha"]:
            self.temperature_step(log_prob)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
