import copy

import numpy as np
import torch

from solutions.networks import QNetwork  # noqa: F401 (the check's networks: earlier cells define them)
from solutions.replay_buffer import ReplayBuffer


class sac_agent:
    """A CleanRL-style SAC: the loop written inside train, log α as the learned variable, the critics
    frozen with requires_grad_(False) during the actor's step, no diagnostics recorded."""

    defaults = dict(gamma=0.99, buffer_size=1e6, learning_rate=1e-3, batch_size=256, tau=0.02, alpha=0.2,
                    learn_alpha=True, target_entropy=None, alpha_learning_rate=1e-3, delay_learning=1000,
                    seed=None, tqdm_disable=False, disable_episode_report=True)

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = {**self.defaults, **config}
        c = self.config
        self.gamma, self.tau, self.batch_size = c["gamma"], c["tau"], int(c["batch_size"])
        self.learning_starts = max(int(c["delay_learning"]), self.batch_size)
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target, self.Q2_target = copy.deepcopy(self.Q1), copy.deepcopy(self.Q2)
        self.q_optimizer = torch.optim.Adam(list(self.Q1.parameters()) + list(self.Q2.parameters()),
                                            lr=c["learning_rate"])
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=c["learning_rate"])
        n_actions = self.pi.action_scale.numel()
        self.target_entropy = -n_actions if c["target_entropy"] is None else c["target_entropy"]
        self.learn_alpha = c["learn_alpha"]
        self.log_alpha = torch.tensor(np.log(c["alpha"]), dtype=torch.float32, requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=c["alpha_learning_rate"])
        self.memory = ReplayBuffer(int(c["buffer_size"]))
        self.env_steps = 0

    @property
    def alpha(self):
        return self.log_alpha.exp().detach()

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            next_action, next_log_prob = self.pi.sample(Y)
            q1, q2 = self.Q1_target(Y, next_action), self.Q2_target(Y, next_action)
            return R + self.gamma * (1 - D) * (torch.minimum(q1, q2) - self.alpha * next_log_prob)

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        loss = ((self.Q1(X, A) - y) ** 2).mean() + ((self.Q2(X, A) - y) ** 2).mean()
        self.q_optimizer.zero_grad()
        loss.backward()
        self.q_optimizer.step()

    def actor_step(self, X):
        for critic in (self.Q1, self.Q2):
            critic.requires_grad_(False)
        action, log_prob = self.pi.sample(X)
        loss = (self.alpha * log_prob - torch.min(self.Q1(X, action), self.Q2(X, action))).mean()
        self.pi_optimizer.zero_grad()
        loss.backward()
        self.pi_optimizer.step()
        for critic in (self.Q1, self.Q2):
            critic.requires_grad_(True)
        return log_prob.detach()

    def temperature_step(self, log_prob):
        loss = (-self.log_alpha * (log_prob + self.target_entropy).detach()).mean()
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()

    def soft_update(self):
        with torch.no_grad():
            for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
                for tp, p in zip(target.parameters(), online.parameters()):
                    tp.mul_(1 - self.tau).add_(self.tau * p)

    def explore(self, state):
        with torch.no_grad():
            action, _ = self.pi.sample(torch.as_tensor(state, dtype=torch.float32))
        return action.numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        log_prob = self.actor_step(X)
        if self.learn_alpha:
            self.temperature_step(log_prob)
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
            self.memory.append(state, action, reward, next_state, terminated)
            self.env_steps += 1
            episode_return += reward
            if self.env_steps >= self.learning_starts:
                self.update()
            if terminated or truncated:
                returns.append(episode_return)
                state, _ = env.reset()
                episode_return = 0.0
            else:
                state = next_state
        return returns
