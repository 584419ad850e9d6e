"""CrossQ (Bhatt, Palenicek et al., ICLR 2024): SAC without target networks, batch norm in the critics.

SAC's target critics lag behind on purpose: they keep the regression target y from moving with
every step of θ. The lag also slows learning down, since a value learned now reaches the target
only after about 1/τ steps. CrossQ removes the target networks and keeps learning stable by
putting batch normalisation (BN) in the critics, with one trick that makes BN work there:

- BN normalises each layer's inputs with the mean and variance of the batch. (s, a) comes from the
  replay buffer, but (s', a') uses a' ~ π(·|s'), the current policy's action: the two batches have
  different statistics. Normalising each with its own statistics (two forward passes) makes the
  critic see two different functions, and learning fails. CrossQ passes the concatenation
  [(s, a); (s', a')] through the critic once, so that both halves share the same statistics, then
  splits the output into Q(s, a) and Q(s', a').
- With no target network, the gradient must not flow through Q(s', a'): it is detached, as a
  target network's output would be.
- The actor is judged by the critics in evaluation mode (BN's running statistics), so that the
  actor's batch does not shift the normalisation the critic learned with.

The rest is SAC: twin critics, a squashed Gaussian policy (`sac_policy.py`), a learned temperature.
The paper also updates the actor every 3 critic steps and uses Adam with β1 = 0.5.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import training
from solutions.config import read_config
from solutions.gradient_step import gradient_step
from solutions.history import History
from solutions.networks import action_bounds
from solutions.replay_buffer import ReplayBuffer
from solutions.validation import check_action_space, check_network_spaces

CROSSQ_DEFAULTS = {
    **training.LOOP_DEFAULTS,  # delay_learning, updates_per_step, history_every, seed, ... (training.py)
    "gamma": 0.99,  # discount factor γ
    "buffer_size": 1e6,  # replay buffer capacity (transitions)
    "learning_rate": 1e-3,  # Adam step size, critics and actor
    "adam_beta1": 0.5,  # Adam's β1; the paper's 0.5 (instead of 0.9) reacts faster to a moving critic
    "batch_size": 256,  # transitions per gradient step (the joint pass sees twice as many rows)
    "policy_update_freq": 3,  # critic steps per actor and temperature step
    "alpha": 0.2,  # temperature α: fixed, or the starting value when it is learned
    "learn_alpha": True,  # tune α towards the target entropy (False: α stays fixed)
    "target_entropy": None,  # the entropy α aims for; None means -dim(A)
    "alpha_learning_rate": 1e-3,  # Adam step size for log α
}


class crossQNetwork(nn.Module):
    """Q(s, a; θ) with batch normalisation: BN([s, a]), then Linear -> ReLU -> BN per hidden layer.

    `momentum=0.01` means that the running statistics used in evaluation mode average over the
    last ~100 batches (the paper's 0.99 in Flax's convention, where momentum is the decay).
    """

    def __init__(self, env, hidden_sizes=(256, 256), momentum=0.01):
        super().__init__()
        check_network_spaces(env, type(self).__name__)  # a discrete or image space names what to use
        input_dim = env.observation_space.shape[0] + env.action_space.shape[0]
        layers = [nn.BatchNorm1d(input_dim, momentum=momentum)]
        for width in hidden_sizes:
            layers += [nn.Linear(input_dim, width), nn.ReLU(), nn.BatchNorm1d(width, momentum=momentum)]
            input_dim = width
        layers.append(nn.Linear(input_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, state, action):
        state_action = torch.cat([state, action], dim=-1)
        if state_action.dim() == 1:  # one pair: BN works on batches, so make it a batch of one
            return self.net(state_action.unsqueeze(0)).squeeze()
        return self.net(state_action).squeeze(-1)


def has_batch_norm(network):
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in network.modules())


class crossq_agent:
    # What the tooling reads (see Agent in training.py): the networks the constructor takes, in order,
    # and the counter and period of the delayed actor step.
    roles = {"Q1": "critic", "Q2": "critic", "pi": "policy"}
    periodic_update = ("critic_updates", "policy_update_freq")

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = read_config(config, CROSSQ_DEFAULTS, "crossq_agent")
        for critic in (value_network1, value_network2):
            if not has_batch_norm(critic):
                raise ValueError(
                    "crossq_agent needs critics with batch normalisation, which is what keeps learning "
                    f"stable without target networks; got {type(critic).__name__}. "
                    "Pass crossQNetwork(env) as both critics."
                )
        self.gamma = self.config["gamma"]
        self.batch_size = int(self.config["batch_size"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.policy_update_freq = int(self.config["policy_update_freq"])
        self.updates_per_step = int(self.config["updates_per_step"])

        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.device = next(policy_network.parameters()).device
        betas = (self.config["adam_beta1"], 0.999)
        critic_parameters = [*self.Q1.parameters(), *self.Q2.parameters()]
        # fused=True: Adam updates each tensor in one kernel instead of a dozen small ones.
        self.Q_optimizer = torch.optim.Adam(critic_parameters, lr=self.config["learning_rate"], betas=betas, fused=True)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"], betas=betas,
                                             fused=True)

        # α is learned through log α, as in SAC.
        action_dim = self.pi.action_scale.shape[0]
        target_entropy = self.config["target_entropy"]
        self.target_entropy = -float(action_dim) if target_entropy is None else float(target_entropy)
        self.learn_alpha = self.config["learn_alpha"]
        log_alpha = math.log(self.config["alpha"])
        self.log_alpha = torch.tensor(log_alpha, device=self.device, requires_grad=self.learn_alpha)
        if self.learn_alpha:
            self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=self.config["alpha_learning_rate"])

        self.memory = ReplayBuffer(self.config["buffer_size"], self.device)
        self.env_steps = 0  # counted across calls to `train`
        self.critic_updates = 0  # critic steps so far: the actor steps every `policy_update_freq`
        self.episode_returns = []
        self.history = History(self.config["history_every"])  # diagnostics, recorded by `train`

    @property
    def alpha(self):
        return self.log_alpha.detach().exp()

    @staticmethod
    def joint_q_values(Q, X, A, Y, next_action):
        """Q(s, a) and Q(s', a') from ONE forward pass over [(s, a); (s', a')] (shared BN statistics)."""
        q_both = Q(torch.cat([X, Y]), torch.cat([A, next_action]))
        q, next_q = q_both.chunk(2)
        return q, next_q

    def critic_target(self, R, D, next_q1, next_q2, next_log_prob):
        """y = r + γ (1 - terminated) [min_i Q(s', a'; θ_i) - α log π(a'|s')], with the current θ_i.

        `.detach()` plays the part of the missing target network: y is a label, and no gradient
        may flow through Q(s', a') into θ.
        """
        next_value = torch.min(next_q1, next_q2) - self.alpha * next_log_prob
        # (1 - terminated): no future after a terminal state; a truncated s' keeps its value.
        return (R + self.gamma * (1 - D) * next_value).detach()

    def critic_step(self, X, A, R, Y, D):
        """One gradient step on mean (Q(s, a; θ1) - y)² + mean (Q(s, a; θ2) - y)², with joint passes."""
        with torch.no_grad():
            next_action, next_log_prob = self.pi.sample(Y)  # a' ~ π(·|s'), the current policy
        self.Q1.train()  # BN uses (and updates) the statistics of this joint batch
        self.Q2.train()
        q1, next_q1 = self.joint_q_values(self.Q1, X, A, Y, next_action)
        q2, next_q2 = self.joint_q_values(self.Q2, X, A, Y, next_action)
        target_q = self.critic_target(R, D, next_q1, next_q2, next_log_prob)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        gradient_step(self.Q_optimizer, critic_loss)
        self.history.add(critic_loss=critic_loss.detach(), mean_q=q1.detach().mean())
        self.critic_updates += 1
        return critic_loss.detach()

    def actor_step(self, X):
        """One gradient step on mean [α log π_w(a|s) - min_i Q(s, a; θ_i)], a ~ π_w(·|s).

        The critics run in evaluation mode (BN's running statistics) and θ stays put: only ∇_w is
        computed. Returns log π(a|s) (detached) for the temperature step.
        """
        self.Q1.eval()
        self.Q2.eval()
        action, log_prob = self.pi.sample(X)
        q = torch.min(self.Q1(X, action), self.Q2(X, action))
        actor_loss = (self.alpha * log_prob - q).mean()
        gradient_step(self.pi_optimizer, actor_loss)
        # -mean log π(a|s) estimates the policy's entropy, which learn_alpha steers to the target.
        self.history.add(actor_loss=actor_loss.detach(), entropy=-log_prob.detach().mean(), alpha=self.alpha)
        return log_prob.detach()

    def temperature_step(self, log_prob):
        """One gradient step on L(α) = -mean log α · (log π(a|s) + H̄), H̄ the target entropy (as SAC)."""
        alpha_loss = -(self.log_alpha * (log_prob + self.target_entropy)).mean()
        gradient_step(self.alpha_optimizer, alpha_loss)

    @torch.no_grad()
    def explore(self, state):
        """a ~ π_w(·|s), clipped to [low, high]: the policy's own noise explores.

        tanh keeps this policy's actions within the bounds; the clip keeps a student's policy, whatever
        it returns, from sending the simulator an action outside them (MuJoCo would accept it).
        """
        action, _ = self.pi.sample(torch.as_tensor(state, dtype=torch.float32, device=self.device))
        return action.clamp(*action_bounds(self.pi)).cpu().numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        if self.critic_updates % self.policy_update_freq == 0:
            log_prob = self.actor_step(X)
            if self.learn_alpha:
                self.temperature_step(log_prob)
        # No soft update: there are no target networks.

    def train(self, env, max_steps):
        """Run `max_steps` environment steps, learning as it goes: the loop of `training.py`."""
        check_action_space(env, "crossq_agent")
        return training.train(self, env, max_steps, "CrossQ")
