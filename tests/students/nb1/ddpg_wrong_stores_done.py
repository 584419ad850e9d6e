# Exercise 5.3 with a mistake: the loop, written inside train, stores done = terminated or truncated.
import copy

import numpy as np
import torch


class ddpg_agent:
    def __init__(self, config, value_network, policy_network):
        self.config = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 3e-4, "batch_size": 256, "tau": 0.02,
                       "exploration_noise": 0.1, "delay_learning": 1000, "updates_per_step": 1, **config}
        self.gamma, self.tau = self.config["gamma"], self.config["tau"]
        self.batch_size = self.config["batch_size"]
        self.learning_starts = max(self.config["delay_learning"], self.batch_size)
        self.Q, self.pi = value_network, policy_network
        self.Q_target, self.pi_target = copy.deepcopy(value_network), copy.deepcopy(policy_network)
        self.q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=self.config["learning_rate"])
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"])
        self.memory = ReplayBuffer(self.config["buffer_size"], "cpu")

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            return R + self.gamma * (1 - D) * self.Q_target(Y, self.pi_target(Y))

    def critic_step(self, X, A, R, Y, D):
        loss = torch.nn.functional.mse_loss(self.Q(X, A), self.critic_target(R, Y, D))
        self.q_optimizer.zero_grad()
        loss.backward()
        self.q_optimizer.step()

    def actor_step(self, X):
        loss = -self.Q(X, self.pi(X)).mean()
        self.pi_optimizer.zero_grad()
        loss.backward()
        self.pi_optimizer.step()

    def soft_update(self):
        for target, online in ((self.Q_target, self.Q), (self.pi_target, self.pi)):
            for t, p in zip(target.parameters(), online.parameters()):
                t.data.copy_(self.tau * p.data + (1 - self.tau) * t.data)

    def explore(self, state):
        with torch.no_grad():
            action = self.pi(torch.as_tensor(state, dtype=torch.float32)).numpy()
        scale = self.pi.action_scale.numpy()
        low, high = self.pi.action_bias.numpy() - scale, self.pi.action_bias.numpy() + scale
        return np.clip(action + scale * np.random.normal(0, self.config["exploration_noise"], action.shape), low, high)

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        returns, episode_return = [], 0.0
        state, _ = env.reset()
        for step in range(1, max_steps + 1):
            action = env.action_space.sample() if step <= self.learning_starts else self.explore(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            self.memory.append(state, action, reward, next_state, done)
            episode_return += reward
            if step >= self.learning_starts:
                self.update()
            if done:
                returns.append(episode_return)
                episode_return = 0.0
                state, _ = env.reset()
            else:
                state = next_state
        return returns
