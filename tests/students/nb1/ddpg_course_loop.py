# Exercise 5.3: the course's loop, the textbook gradient steps with the critic frozen during the actor's
# step, Ornstein-Uhlenbeck noise from solutions/noise.py, and the critic's loss recorded as a diagnostic.
import copy

import torch
import torch.nn.functional as F

from solutions import training
from solutions.history import History
from solutions.noise import OrnsteinUhlenbeckNoise

DEFAULTS = {
    "gamma": 0.99, "buffer_size": 1e6, "learning_rate": 3e-4, "batch_size": 256, "tau": 0.02,
    "exploration_noise": 0.1, "noise_type": "gaussian", "delay_learning": 1000, "updates_per_step": 1,
    "seed": None, "tqdm_disable": False, "disable_episode_report": True,
}


class ddpg_agent:
    def __init__(self, config, value_network, policy_network):
        unknown = set(config) - set(DEFAULTS)
        if unknown:
            raise KeyError(f"unknown config keys: {sorted(unknown)}")
        self.config = {**DEFAULTS, **config}
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.updates_per_step = int(self.config["updates_per_step"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.env_steps = 0
        self.noise_scale = self.config["exploration_noise"]

        self.Q, self.pi = value_network, policy_network
        self.Q_target = copy.deepcopy(value_network)
        self.pi_target = copy.deepcopy(policy_network)
        self.device = next(policy_network.parameters()).device
        self.Q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=self.config["learning_rate"])
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"])
        self.memory = ReplayBuffer(self.config["buffer_size"], self.device)
        self.ou = None
        if self.config["noise_type"] == "ou":
            self.ou = OrnsteinUhlenbeckNoise(self.pi.action_scale.shape[0], self.noise_scale, device=self.device)
        self.history = History()

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y))

    def critic_step(self, X, A, R, Y, D):
        loss = F.mse_loss(self.Q(X, A), self.critic_target(R, Y, D))
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()
        self.history.add(critic_loss=loss.detach())

    def actor_step(self, X):
        self.Q.requires_grad_(False)  # the critic is held fixed: no gradient for θ
        try:
            loss = -self.Q(X, self.pi(X)).mean()
            self.pi_optimizer.zero_grad()
            loss.backward()
            self.pi_optimizer.step()
        finally:
            self.Q.requires_grad_(True)

    def soft_update(self):
        with torch.no_grad():
            for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
                for tp, p in zip(target.parameters(), online.parameters()):
                    tp.mul_(1 - self.tau).add_(self.tau * p)

    def explore(self, state):
        with torch.no_grad():
            action = self.pi(torch.as_tensor(state, dtype=torch.float32, device=self.device))
            if self.ou is None:
                noise = self.noise_scale * torch.randn_like(action)
            else:
                noise = self.ou.sample()
            low = self.pi.action_bias - self.pi.action_scale
            high = self.pi.action_bias + self.pi.action_scale
            action = torch.max(torch.min(action + self.pi.action_scale * noise, high), low)
        return action.cpu().numpy()

    def reset_noise(self):
        if self.ou is not None:
            self.ou.reset()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
