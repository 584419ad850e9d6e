from copy import deepcopy

import torch
import torch.nn.functional as F

from solutions import training
from solutions.augmentation import random_shift

DEFAULTS = {
    "gamma": 0.99, "buffer_size": 100_000, "learning_rate": 3e-4, "batch_size": 64, "tau": 0.02,
    "exploration_noise": 0.3, "noise_type": "gaussian", "delay_learning": 1000, "seed": None,
    "tqdm_disable": False, "disable_episode_report": True, "updates_per_step": 1, "random_shift": 4,
}


class pixel_ddpg_agent:
    def __init__(self, config, value_network, policy_network):
        unknown = set(config) - set(DEFAULTS)
        if unknown:
            raise KeyError(f"pixel_ddpg_agent: unknown config keys {sorted(unknown)}")
        self.config = {**DEFAULTS, **config}
        self.gamma, self.tau = self.config["gamma"], self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.updates_per_step = int(self.config["updates_per_step"])
        self.env_steps = 0

        self.Q, self.pi = value_network, policy_network
        self.Q_target, self.pi_target = deepcopy(value_network), deepcopy(policy_network)
        self.device = next(self.pi.parameters()).device
        lr = self.config["learning_rate"]
        self.Q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=lr)  # the critic and the shared encoder
        encoder = {id(p) for p in self.Q.encoder.parameters()}
        self.actor_params = [p for p in self.pi.parameters() if id(p) not in encoder]  # the actor's own layers
        self.pi_optimizer = torch.optim.Adam(self.actor_params, lr=lr)
        self.memory = PixelReplayBuffer(int(self.config["buffer_size"]), self.device)

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y))

    def critic_step(self, X, A, R, Y, D):
        loss = F.mse_loss(self.Q(X, A), self.critic_target(R, Y, D))
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()

    def actor_step(self, X):
        loss = -self.Q(X, self.pi(X)).mean()
        # only the actor's own layers get gradients: the critic and the encoder stay as they are
        grads = torch.autograd.grad(loss, self.actor_params)
        for p, g in zip(self.actor_params, grads):
            p.grad = g
        self.pi_optimizer.step()

    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
            for t, p in zip(target.parameters(), online.parameters()):
                t.mul_(1 - self.tau).add_(self.tau * p)

    @torch.no_grad()
    def explore(self, state):
        action = self.pi(torch.as_tensor(state, device=self.device))
        action = action + self.config["exploration_noise"] * self.pi.action_scale * torch.randn_like(action)
        low, high = self.pi.action_bias - self.pi.action_scale, self.pi.action_bias + self.pi.action_scale
        return torch.clamp(action, low, high).cpu().numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        shift = self.config["random_shift"]
        if shift:  # DrQ: each image moved by a few random pixels
            X, Y = random_shift(X, shift), random_shift(Y, shift)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
