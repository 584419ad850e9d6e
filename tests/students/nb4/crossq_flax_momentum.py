# WRONG: BatchNorm1d(momentum=0.99), Flax's convention (PyTorch's momentum is the weight of the new batch).
# Otherwise a correct CrossQ.
import math

import numpy as np
import torch
import torch.nn as nn

from solutions.sac_policy import squashedGaussianPolicy  # noqa: F401 (imported at the top of the notebook)


class crossQNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        n = env.observation_space.shape[0] + env.action_space.shape[0]
        self.input_norm = nn.BatchNorm1d(n, momentum=0.99)
        self.linears, self.norms = nn.ModuleList(), nn.ModuleList()
        for width in hidden_sizes:
            self.linears.append(nn.Linear(n, width))
            self.norms.append(nn.BatchNorm1d(width, momentum=0.99))
            n = width
        self.head = nn.Linear(n, 1)

    def forward(self, state, action):
        x = self.input_norm(torch.cat([state, action], dim=-1))
        for linear, norm in zip(self.linears, self.norms):
            x = norm(torch.relu(linear(x)))
        return self.head(x).squeeze(-1)


class TorchBuffer:
    def __init__(self, capacity, device):
        self.capacity, self.device, self.n, self.i, self.fields = int(capacity), device, 0, 0, None

    def append(self, state, action, reward, next_state, terminated):
        row = [torch.as_tensor(np.asarray(v, dtype=np.float32)) for v in (state, action, reward, next_state,
                                                                         float(terminated))]
        if self.fields is None:
            self.fields = [torch.zeros((self.capacity, *r.shape), device=self.device) for r in row]
        for field, value in zip(self.fields, row):
            field[self.i] = value
        self.i, self.n = (self.i + 1) % self.capacity, min(self.n + 1, self.capacity)

    def __len__(self):
        return self.n

    def sample(self, batch_size):
        idx = torch.randint(self.n, (batch_size,), device=self.device)
        return tuple(field[idx] for field in self.fields)


class crossq_agent:
    def __init__(self, config, value_network1, value_network2, policy_network):
        c = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 1e-3, "adam_beta1": 0.5, "batch_size": 256,
             "policy_update_freq": 3, "alpha": 0.2, "learn_alpha": True, "target_entropy": None,
             "alpha_learning_rate": 1e-3, "delay_learning": 1000, "updates_per_step": 1, "seed": None,
             "tqdm_disable": False, "disable_episode_report": True}
        c.update(config)
        self.config = c
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.device = next(self.pi.parameters()).device
        betas = (c["adam_beta1"], 0.999)
        self.q_optimizer = torch.optim.Adam(list(self.Q1.parameters()) + list(self.Q2.parameters()),
                                            lr=c["learning_rate"], betas=betas)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=c["learning_rate"], betas=betas)
        self.log_alpha = torch.tensor(math.log(c["alpha"]), device=self.device, requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=c["alpha_learning_rate"])
        act_dim = self.pi.action_scale.numel()
        self.target_entropy = -act_dim if c["target_entropy"] is None else c["target_entropy"]
        self.memory = TorchBuffer(c["buffer_size"], self.device)
        self.batch_size = int(c["batch_size"])
        self.learning_starts = max(int(c["delay_learning"]), self.batch_size)
        self.updates_per_step = int(c["updates_per_step"])
        self.env_steps, self.n_updates = 0, 0

    @property
    def alpha(self):
        return self.log_alpha.exp().item()

    def joint_q_values(self, Q, X, A, Y, next_action):
        both = Q(torch.cat([X, Y], dim=0), torch.cat([A, next_action], dim=0))
        return both[: len(X)], both[len(X):]

    def critic_target(self, R, D, next_q1, next_q2, next_log_prob):
        v = torch.min(next_q1, next_q2) - self.alpha * next_log_prob
        return (R + self.config["gamma"] * (1 - D) * v).detach()

    def critic_step(self, X, A, R, Y, D):
        with torch.no_grad():
            next_action, next_log_prob = self.pi.sample(Y)
        self.Q1.train()
        self.Q2.train()
        q1, next_q1 = self.joint_q_values(self.Q1, X, A, Y, next_action)
        q2, next_q2 = self.joint_q_values(self.Q2, X, A, Y, next_action)
        y = self.critic_target(R, D, next_q1, next_q2, next_log_prob)
        loss = ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()
        self.q_optimizer.zero_grad()
        loss.backward()
        self.q_optimizer.step()
        self.n_updates += 1

    def actor_step(self, X):
        self.Q1.eval()
        self.Q2.eval()
        self.Q1.requires_grad_(False)
        self.Q2.requires_grad_(False)
        action, log_prob = self.pi.sample(X)
        loss = (self.alpha * log_prob - torch.min(self.Q1(X, action), self.Q2(X, action))).mean()
        self.pi_optimizer.zero_grad()
        loss.backward()
        self.pi_optimizer.step()
        self.Q1.requires_grad_(True)
        self.Q2.requires_grad_(True)
        if self.config["learn_alpha"]:
            alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
            self.alpha_optimizer.zero_grad()
            alpha_loss.backward()
            self.alpha_optimizer.step()

    @torch.no_grad()
    def explore(self, state):
        action, _ = self.pi.sample(torch.as_tensor(state, dtype=torch.float32, device=self.device))
        low, high = self.pi.action_bias - self.pi.action_scale, self.pi.action_bias + self.pi.action_scale
        return torch.max(torch.min(action, high), low).cpu().numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        if self.n_updates % self.config["policy_update_freq"] == 0:
            self.actor_step(X)

    def train(self, env, max_steps):
        seed = self.config["seed"] if self.env_steps == 0 else None
        if seed is not None:
            env.action_space.seed(seed)
        state, _ = env.reset(seed=seed)
        finished, total = [], 0.0
        for _ in range(max_steps):
            if self.env_steps < self.learning_starts:
                action = env.action_space.sample()
            else:
                action = self.explore(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            self.memory.append(state, action, reward, next_state, terminated)
            self.env_steps += 1
            total += reward
            if self.env_steps >= self.learning_starts:
                for _ in range(self.updates_per_step):
                    self.update()
            state = next_state
            if terminated or truncated:
                finished.append(total)
                total = 0.0
                state, _ = env.reset()
        return finished
