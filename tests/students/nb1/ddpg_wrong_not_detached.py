# Exercise 5.3 with a mistake: the critic's target is computed with a graph (no torch.no_grad, no detach).
# Otherwise right: the course's gradient_step and loop, Gaussian noise only.
import copy

import torch
import torch.nn.functional as F

from solutions import training
from solutions.gradient_step import gradient_step


class ddpg_agent:
    def __init__(self, config, value_network, policy_network):
        self.config = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 3e-4, "batch_size": 256, "tau": 0.02,
                       "exploration_noise": 0.1, "noise_type": "gaussian", "delay_learning": 1000,
                       "updates_per_step": 1, "seed": None, "tqdm_disable": False, "disable_episode_report": True}
        self.config.update(config)
        self.gamma, self.tau = self.config["gamma"], self.config["tau"]
        self.batch_size = self.config["batch_size"]
        self.updates_per_step = self.config["updates_per_step"]
        self.learning_starts = max(self.config["delay_learning"], self.batch_size)
        self.env_steps = 0
        self.Q, self.pi = value_network, policy_network
        self.Q_target, self.pi_target = copy.deepcopy(self.Q), copy.deepcopy(self.pi)
        lr = self.config["learning_rate"]
        self.Q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=lr)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=lr)
        self.memory = ReplayBuffer(self.config["buffer_size"], next(self.pi.parameters()).device)

    def critic_target(self, R, Y, D):
        return R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y))

    def critic_step(self, X, A, R, Y, D):
        gradient_step(self.Q_optimizer, F.mse_loss(self.Q(X, A), self.critic_target(R, Y, D)))

    def actor_step(self, X):
        gradient_step(self.pi_optimizer, -self.Q(X, self.pi(X)).mean())

    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
            for t, p in zip(target.parameters(), online.parameters()):
                t.copy_(self.tau * p + (1 - self.tau) * t)

    @torch.no_grad()
    def explore(self, state):
        mu = self.pi(torch.as_tensor(state, dtype=torch.float32))
        noisy = mu + self.config["exploration_noise"] * self.pi.action_scale * torch.randn_like(mu)
        low, high = self.pi.action_bias - self.pi.action_scale, self.pi.action_bias + self.pi.action_scale
        return noisy.clamp(low, high).numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
