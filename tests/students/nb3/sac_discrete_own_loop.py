import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions.replay_buffer import ReplayBuffer


class discreteQNetwork(nn.Module):
    """Layers in an nn.ModuleList."""

    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        sizes = [env.observation_space.shape[0], *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], env.action_space.n)

    def forward(self, state):
        for layer in self.hidden:
            state = torch.relu(layer(state))
        return self.out(state)


class categoricalPolicy(nn.Module):
    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        self.n_actions = env.action_space.n
        self.body = nn.Sequential(nn.Linear(env.observation_space.shape[0], hidden_sizes[0]), nn.Tanh(),
                                  nn.Linear(hidden_sizes[0], hidden_sizes[1]), nn.Tanh())
        self.head = nn.Linear(hidden_sizes[1], self.n_actions)

    def probabilities(self, state):
        logits = self.head(self.body(state))
        return F.softmax(logits, dim=-1), F.log_softmax(logits, dim=-1)

    def sample(self, state):
        probs, _ = self.probabilities(state)
        flat = probs.reshape(-1, self.n_actions)
        return torch.multinomial(flat, 1).reshape(probs.shape[:-1])

    def forward(self, state):
        return self.probabilities(state)[0].argmax(-1)


class sac_discrete_agent:
    """Discrete SAC with its own loop inside train, one-hot masks instead of gather, log α learned
    when learn_alpha is set, no diagnostics recorded."""

    def __init__(self, config, value_network1, value_network2, policy_network):
        defaults = dict(gamma=0.99, buffer_size=100_000, learning_rate=1e-3, batch_size=128, tau=0.005, alpha=1.0,
                        learn_alpha=False, target_entropy_ratio=0.5, alpha_learning_rate=1e-3, delay_learning=1000,
                        seed=None)
        self.config = config = {**defaults, **config}
        self.gamma, self.tau = config["gamma"], config["tau"]
        self.batch_size = config["batch_size"]
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.Q1_target = copy.deepcopy(value_network1)
        self.Q2_target = copy.deepcopy(value_network2)
        self.critic_optimizer = torch.optim.Adam(list(self.Q1.parameters()) + list(self.Q2.parameters()),
                                                 lr=config["learning_rate"])
        self.actor_optimizer = torch.optim.Adam(self.pi.parameters(), lr=config["learning_rate"])
        self.log_alpha = torch.zeros(1, requires_grad=True)
        with torch.no_grad():
            self.log_alpha.fill_(np.log(config["alpha"]))
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=config["alpha_learning_rate"])
        self.target_entropy = config["target_entropy_ratio"] * np.log(self.pi.n_actions)
        self.memory = ReplayBuffer(int(config["buffer_size"]))
        self.env_steps = 0
        self.state = None

    @property
    def alpha(self):
        return self.log_alpha.detach().exp().squeeze()

    def critic_target(self, R, Y, D):
        with torch.no_grad():
            probs, log_probs = self.pi.probabilities(Y)
            v = (probs * (torch.min(self.Q1_target(Y), self.Q2_target(Y)) - self.alpha * log_probs)).sum(dim=1)
            return R + self.gamma * (1.0 - D) * v

    def critic_step(self, X, A, R, Y, D):
        y = self.critic_target(R, Y, D)
        taken = F.one_hot(A.long(), self.pi.n_actions).float()
        loss = sum(((critic(X) * taken).sum(1) - y).pow(2).mean() for critic in (self.Q1, self.Q2))
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()

    def actor_step(self, X):
        probs, log_probs = self.pi.probabilities(X)
        q = torch.min(self.Q1(X), self.Q2(X)).detach()
        loss = (probs * (self.alpha * log_probs - q)).sum(dim=1).mean()
        self.actor_optimizer.zero_grad()
        loss.backward()
        self.actor_optimizer.step()
        return (-(probs * log_probs).sum(dim=1)).detach()

    def temperature_step(self, entropy):
        loss = (self.log_alpha * (entropy - self.target_entropy)).mean()
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()

    def soft_update(self):
        with torch.no_grad():
            for target, online in ((self.Q1_target, self.Q1), (self.Q2_target, self.Q2)):
                for tp, p in zip(target.parameters(), online.parameters()):
                    tp.mul_(1 - self.tau).add_(p, alpha=self.tau)

    def explore(self, state):
        with torch.no_grad():
            return self.pi.sample(torch.as_tensor(state, dtype=torch.float32)).item()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        entropy = self.actor_step(X)
        if self.config["learn_alpha"]:
            self.temperature_step(entropy)
        self.soft_update()

    def train(self, env, max_steps):
        warm_up = max(self.config["delay_learning"], self.batch_size)
        if self.state is None:
            self.state, _ = env.reset(seed=self.config["seed"] if self.env_steps == 0 else None)
            env.action_space.seed(self.config["seed"])
            self.episode_return = 0.0
        returns = []
        for _ in range(max_steps):
            if self.env_steps < warm_up:
                action = env.action_space.sample()
            else:
                action = self.explore(self.state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            self.memory.append(self.state, action, reward, next_state, terminated)
            self.env_steps += 1
            self.episode_return += reward
            self.state = next_state
            if self.env_steps >= warm_up:
                self.update()
            if terminated or truncated:
                returns.append(self.episode_return)
                self.state, _ = env.reset()
                self.episode_return = 0.0
        return returns
