# WRONG: (s, a) and (s', a') go through each critic in two separate passes, each normalised with its own
# batch statistics. Otherwise a correct CrossQ.
import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import training
from solutions.gradient_step import gradient_step
from solutions.history import History
from solutions.replay_buffer import ReplayBuffer
from solutions.sac_policy import squashedGaussianPolicy  # noqa: F401 (imported at the top of the notebook)


class crossQNetwork(nn.Module):
    def __init__(self, env, hidden_sizes=(256, 256)):
        super().__init__()
        in_dim = env.observation_space.shape[0] + env.action_space.shape[0]
        layers = [nn.BatchNorm1d(in_dim, momentum=0.01)]
        for h in hidden_sizes:
            layers += [nn.Linear(in_dim, h), nn.ReLU(), nn.BatchNorm1d(h, momentum=0.01)]
            in_dim = h
        layers.append(nn.Linear(in_dim, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, state, action):
        return self.model(torch.cat([state, action], -1))[:, 0]


class crossq_agent:
    DEFAULTS = {"gamma": 0.99, "buffer_size": 1e6, "learning_rate": 1e-3, "adam_beta1": 0.5,
                "batch_size": 256, "policy_update_freq": 3, "alpha": 0.2, "learn_alpha": True,
                "target_entropy": None, "alpha_learning_rate": 1e-3, "delay_learning": 1000,
                "updates_per_step": 1, "seed": None, "tqdm_disable": False, "disable_episode_report": True}

    def __init__(self, config, value_network1, value_network2, policy_network):
        for key in config:
            assert key in self.DEFAULTS, f"unknown config key {key}"
        self.config = {**self.DEFAULTS, **config}
        self.gamma = self.config["gamma"]
        self.batch_size = self.config["batch_size"]
        self.policy_update_freq = self.config["policy_update_freq"]
        self.updates_per_step = self.config["updates_per_step"]
        self.learning_starts = max(self.config["delay_learning"], self.batch_size)
        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        device = self.pi.action_scale.device
        lr, betas = self.config["learning_rate"], (self.config["adam_beta1"], 0.999)
        self.critic_opt = torch.optim.Adam([*self.Q1.parameters(), *self.Q2.parameters()], lr=lr, betas=betas)
        self.actor_opt = torch.optim.Adam(self.pi.parameters(), lr=lr, betas=betas)
        self.log_alpha = torch.log(torch.tensor(float(self.config["alpha"]), device=device)).requires_grad_()
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=self.config["alpha_learning_rate"])
        entropy = self.config["target_entropy"]
        self.target_entropy = -float(self.pi.action_scale.shape[0]) if entropy is None else entropy
        self.memory = ReplayBuffer(self.config["buffer_size"], device)
        self.env_steps = 0
        self.critic_updates = 0
        self.history = History()

    @property
    def alpha(self):
        return self.log_alpha.exp().detach()

    def joint_q_values(self, Q, X, A, Y, next_action):
        return Q(X, A), Q(Y, next_action)

    def critic_target(self, R, D, next_q1, next_q2, next_log_prob):
        with torch.no_grad():
            soft_value = torch.minimum(next_q1, next_q2) - self.alpha * next_log_prob
            return R + self.gamma * (1 - D) * soft_value

    def critic_step(self, X, A, R, Y, D):
        with torch.no_grad():
            next_action, next_log_prob = self.pi.sample(Y)
        for Q in (self.Q1, self.Q2):
            Q.train()
        q1, next_q1 = self.Q1(X, A), self.Q1(Y, next_action)  # two passes: each half normalised alone
        q2, next_q2 = self.Q2(X, A), self.Q2(Y, next_action)
        y = self.critic_target(R, D, next_q1, next_q2, next_log_prob)
        loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        gradient_step(self.critic_opt, loss)
        self.critic_updates += 1
        self.history.add(critic_loss=loss.detach(), mean_q=q1.detach().mean())

    def actor_step(self, X):
        for Q in (self.Q1, self.Q2):
            Q.eval()
        action, log_prob = self.pi.sample(X)
        q = torch.minimum(self.Q1(X, action), self.Q2(X, action))
        loss = (self.alpha * log_prob - q).mean()
        gradient_step(self.actor_opt, loss)
        self.history.add(actor_loss=loss.detach(), alpha=self.alpha, entropy=-log_prob.detach().mean())
        return log_prob.detach()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        if self.critic_updates % self.policy_update_freq == 0:
            log_prob = self.actor_step(X)
            if self.config["learn_alpha"]:
                gradient_step(self.alpha_opt, -(self.log_alpha * (log_prob + self.target_entropy)).mean())

    @torch.no_grad()
    def explore(self, state):
        state = torch.as_tensor(state, dtype=torch.float32, device=self.pi.action_scale.device)
        action, _ = self.pi.sample(state)
        return action.clamp(self.pi.action_bias - self.pi.action_scale,
                            self.pi.action_bias + self.pi.action_scale).cpu().numpy()

    def train(self, env, max_steps):
        return training.train(self, env, max_steps)
