# Exercise 5.3 with a CleanRL-style loop written inside train, torch.autograd.grad for the actor (only ∇_w
# is computed), NumPy Gaussian noise, torch.lerp_ for the Polyak averaging, and no diagnostics.
from copy import deepcopy

import numpy as np
import torch

from solutions.noise import OrnsteinUhlenbeckNoise


class ddpg_agent:
    defaults = dict(gamma=0.99, buffer_size=1e6, learning_rate=3e-4, batch_size=256, tau=0.02,
                    exploration_noise=0.1, noise_type="gaussian", delay_learning=1000, updates_per_step=1,
                    seed=None, tqdm_disable=False, disable_episode_report=True)

    def __init__(self, config, value_network, policy_network):
        for key in config:
            assert key in self.defaults, f"unknown config key {key!r}"
        self.config = dict(self.defaults, **config)
        c = self.config
        self.gamma, self.tau, self.batch_size = c["gamma"], c["tau"], int(c["batch_size"])
        self.updates_per_step = int(c["updates_per_step"])
        self.learning_starts = max(int(c["delay_learning"]), self.batch_size)
        self.env_steps = 0
        self.Q, self.pi = value_network, policy_network
        self.Q_target, self.pi_target = deepcopy(self.Q), deepcopy(self.pi)
        self.device = next(self.pi.parameters()).device
        self.q_opt = torch.optim.Adam(self.Q.parameters(), lr=c["learning_rate"])
        self.pi_opt = torch.optim.Adam(self.pi.parameters(), lr=c["learning_rate"])
        self.memory = ReplayBuffer(c["buffer_size"], self.device)
        self.low = (self.pi.action_bias - self.pi.action_scale).cpu().numpy()
        self.high = (self.pi.action_bias + self.pi.action_scale).cpu().numpy()
        self.scale = self.pi.action_scale.cpu().numpy()
        self.ou = OrnsteinUhlenbeckNoise(len(self.scale), c["exploration_noise"]) if c["noise_type"] == "ou" else None
        self.rng = np.random.default_rng(c["seed"])
        self.state, self.episode_return = None, 0.0

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            next_q = self.Q_target(Y, self.pi_target(Y))
        return R + self.gamma * (1.0 - D) * next_q

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        loss = ((self.Q(X, A) - y) ** 2).mean()
        self.q_opt.zero_grad()
        loss.backward()
        self.q_opt.step()

    def actor_step(self, X):
        loss = -self.Q(X, self.pi(X)).mean()
        params = list(self.pi.parameters())
        grads = torch.autograd.grad(loss, params)
        for p, g in zip(params, grads):
            p.grad = g
        self.pi_opt.step()

    def soft_update(self):
        with torch.no_grad():
            for net, target in ((self.Q, self.Q_target), (self.pi, self.pi_target)):
                for p, tp in zip(net.parameters(), target.parameters()):
                    tp.lerp_(p, self.tau)

    def explore(self, state):
        with torch.no_grad():
            action = self.pi(torch.as_tensor(state, dtype=torch.float32, device=self.device)).cpu().numpy()
        if self.ou is None:
            noise = self.rng.normal(0.0, self.config["exploration_noise"], size=action.shape)
        else:
            noise = self.ou.sample().numpy()
        return np.clip(action + self.scale * noise, self.low, self.high).astype(np.float32)

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        returns = []
        if self.state is None:  # the first call; a second one continues the episode left unfinished
            env.action_space.seed(self.config["seed"])
            self.state, _ = env.reset(seed=self.config["seed"])
        for _ in range(max_steps):
            if self.env_steps < self.learning_starts:
                action = env.action_space.sample()
            else:
                action = self.explore(self.state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            self.memory.append(self.state, action, reward, next_state, terminated)
            self.env_steps += 1
            self.episode_return += reward
            if self.env_steps >= self.learning_starts:
                for _ in range(self.updates_per_step):
                    self.update()
            if terminated or truncated:
                returns.append(self.episode_return)
                self.episode_return = 0.0
                if self.ou is not None:
                    self.ou.reset()
                self.state, _ = env.reset()
            else:
                self.state = next_state
        return returns
