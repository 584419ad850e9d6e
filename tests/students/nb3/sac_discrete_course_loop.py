import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import training
from solutions.replay_buffer import ReplayBuffer


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the last layer


class discreteQNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        self.net = mlp([env.observation_space.shape[0], *hidden_sizes, env.action_space.n])

    def forward(self, state):
        return self.net(state)


class categoricalPolicy(nn.Module):
    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        self.logits = mlp([env.observation_space.shape[0], *hidden_sizes, env.action_space.n])

    def probabilities(self, state):
        log_probs = F.log_softmax(self.logits(state), dim=-1)
        return log_probs.exp(), log_probs

    def sample(self, state):
        return torch.distributions.Categorical(logits=self.logits(state)).sample()

    def forward(self, state):
        return self.logits(state).argmax(dim=-1)


class sac_discrete_agent:
    """Discrete SAC handed to the course's loop; the critics' values of the taken actions by gather."""

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = {"gamma": 0.99, "buffer_size": 1e5, "learning_rate": 1e-3, "batch_size": 128, "tau": 0.005,
                       "alpha": 1.0, "learn_alpha": False, "target_entropy_ratio": 0.5, "alpha_learning_rate": 1e-3,
                       "delay_learning": 1000, **config}
        c = self.config
        self.gamma, self.tau, self.batch_size = c["gamma"], c["tau"], int(c["batch_size"])
        self.learning_starts = max(int(c["delay_learning"]), self.batch_size)
        self.updates_per_step = 1
        self.env_steps = 0
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target, self.Q2_target = copy.deepcopy(self.Q1), copy.deepcopy(self.Q2)
        self.Q_optimizer = torch.optim.Adam([*self.Q1.parameters(), *self.Q2.parameters()], lr=c["learning_rate"])
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=c["learning_rate"])
        self.log_alpha = torch.tensor(math.log(c["alpha"]), requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=c["alpha_learning_rate"])
        n_actions = self.pi.logits[-1].out_features  # the policy's last layer has one output per action
        self.target_entropy = c["target_entropy_ratio"] * math.log(n_actions)
        self.memory = ReplayBuffer(c["buffer_size"])

    @property
    def alpha(self):
        return self.log_alpha.exp().detach()

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            probs, log_probs = self.pi.probabilities(Y)
            q = torch.min(self.Q1_target(Y), self.Q2_target(Y))
            return R + self.gamma * (1 - D) * (probs * (q - self.alpha * log_probs)).sum(-1)

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        index = A.long().reshape(-1, 1)
        q1 = self.Q1(X).gather(1, index).squeeze(1)
        q2 = self.Q2(X).gather(1, index).squeeze(1)
        loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        self.Q_optimizer.zero_grad()
        loss.backward()
        self.Q_optimizer.step()

    def actor_step(self, X):
        with torch.no_grad():
            q = torch.min(self.Q1(X), self.Q2(X))
        probs, log_probs = self.pi.probabilities(X)
        loss = (probs * (self.alpha * log_probs - q)).sum(-1).mean()
        self.pi_optimizer.zero_grad()
        loss.backward()
        self.pi_optimizer.step()
        return -(probs * log_probs).sum(-1).detach()  # the entropy of each state

    def temperature_step(self, entropy):
        loss = (self.log_alpha * (entropy - self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()

    @torch.no_grad()
    def soft_update(self):
        for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
            for tp, p in zip(target.parameters(), online.parameters()):
                tp.data.copy_(self.tau * p.data + (1 - self.tau) * tp.data)

    @torch.no_grad()
    def explore(self, state):
        return int(self.pi.sample(torch.as_tensor(state, dtype=torch.float32)))

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        entropy = self.actor_step(X)
        if self.config["learn_alpha"]:
            self.temperature_step(entropy)
        self.soft_update()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
