import copy

import numpy as np
import torch

from solutions.frame_buffer import PixelReplayBuffer


class pixel_ddpg_agent:
    """DDPG from pixels with its own CleanRL-style loop; the critic frozen during the actor's step."""

    def __init__(self, config, value_network, policy_network):
        defaults = dict(gamma=0.99, buffer_size=100_000, learning_rate=3e-4, batch_size=64, tau=0.02,
                        exploration_noise=0.3, delay_learning=1000, updates_per_step=1, seed=None,
                        tqdm_disable=True, disable_episode_report=True)
        for key in config:
            if key not in defaults:
                raise ValueError(f"unknown config key {key!r}")
        self.config = {**defaults, **config}
        c = self.config
        self.gamma, self.tau, self.batch_size = c["gamma"], c["tau"], int(c["batch_size"])
        self.Q, self.pi = value_network, policy_network
        self.Q_target = copy.deepcopy(self.Q)
        self.pi_target = copy.deepcopy(self.pi)
        shared = set(self.Q.encoder.parameters())
        self.Q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=c["learning_rate"])
        self.pi_optimizer = torch.optim.Adam([p for p in self.pi.parameters() if p not in shared],
                                             lr=c["learning_rate"])
        self.device = self.pi.action_scale.device
        self.memory = PixelReplayBuffer(c["buffer_size"], self.device)
        self.env_steps, self.state = 0, None

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            next_q = self.Q_target(Y, self.pi_target(Y))
        return R + self.gamma * (1.0 - D) * next_q

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        loss = ((self.Q(X, A) - y) ** 2).mean()
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()

    def actor_step(self, X):
        self.Q.requires_grad_(False)  # the critic (and the encoder inside it) frozen
        try:
            loss = -self.Q(X, self.pi(X)).mean()
            self.pi_optimizer.zero_grad()
            loss.backward()
            self.pi_optimizer.step()
        finally:
            self.Q.requires_grad_(True)

    def soft_update(self):
        with torch.no_grad():
            for net, target in ((self.Q, self.Q_target), (self.pi, self.pi_target)):
                for p, p_t in zip(net.parameters(), target.parameters()):
                    p_t.copy_(self.tau * p + (1 - self.tau) * p_t)

    def explore(self, state):
        with torch.no_grad():
            a = self.pi(torch.as_tensor(np.asarray(state), device=self.device)).cpu().numpy()
        scale, bias = self.pi.action_scale.cpu().numpy(), self.pi.action_bias.cpu().numpy()
        a = a + self.config["exploration_noise"] * scale * np.random.randn(*a.shape)
        return np.clip(a, bias - scale, bias + scale).astype(np.float32)

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        if self.env_steps == 0:
            env.action_space.seed(self.config["seed"])
            self.state, _ = env.reset(seed=self.config["seed"])
            self.episode_return = 0.0
        elif self.state is None:
            self.state, _ = env.reset()
        returns = []
        for _ in range(max_steps):
            if self.env_steps < learning_starts:
                action = env.action_space.sample()
            else:
                action = self.explore(self.state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            self.memory.append(self.state, action, reward, next_state, terminated)
            self.env_steps += 1
            self.episode_return += reward
            if self.env_steps >= learning_starts:
                for _ in range(int(self.config["updates_per_step"])):
                    self.update()
            if terminated or truncated:
                returns.append(self.episode_return)
                self.state, _ = env.reset()
                self.episode_return = 0.0
            else:
                self.state = next_state
        return returns
