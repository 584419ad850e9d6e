"""SAC: Soft Actor-Critic (Haarnoja et al., 2018), with a fixed or a learned temperature α.

The policy is stochastic (a squashed Gaussian, see `sac_policy.py`) and maximises return plus α
times its entropy. Twin critics learn the soft Q-function; the actor minimises
α log π(a|s) - min_i Q(s, a; θ_i); with `learn_alpha`, α is tuned so that the policy's entropy
stays near a target (Haarnoja et al., 2019, "Soft Actor-Critic Algorithms and Applications").
Each step of the pseudo-code is one method below; `train` strings them together.
"""

import math

import torch
import torch.nn.functional as F

from solutions import training
from solutions.config import read_config
from solutions.gradient_step import gradient_step
from solutions.history import History
from solutions.networks import action_bounds
from solutions.replay_buffer import ReplayBuffer
from solutions.target_networks import polyak_update, target_copy
from solutions.validation import check_action_space

SAC_DEFAULTS = {
    **training.LOOP_DEFAULTS,  # delay_learning, updates_per_step, history_every, seed, ... (training.py)
    "gamma": 0.99,  # discount factor γ
    "buffer_size": 1e6,  # replay buffer capacity (transitions)
    "learning_rate": 1e-3,  # Adam step size, critics and actor
    "batch_size": 256,  # transitions per gradient step
    "tau": 0.02,  # Polyak averaging rate τ of the target critics (TD3's and SAC's papers: 0.005; see README)
    "alpha": 0.2,  # temperature α: fixed, or the starting value when it is learned
    "learn_alpha": True,  # tune α towards the target entropy (False: α stays fixed)
    "target_entropy": None,  # the entropy α aims for; None means -dim(A)
    "alpha_learning_rate": 1e-3,  # Adam step size for log α
}


class sac_agent:
    # What the tooling reads (see Agent in training.py): the networks the constructor takes, in order,
    # and no step taken only once every few updates.
    roles = {"Q1": "critic", "Q2": "critic", "pi": "policy"}
    periodic_update = None

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = read_config(config, SAC_DEFAULTS, "sac_agent")
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.updates_per_step = int(self.config["updates_per_step"])

        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.device = next(policy_network.parameters()).device
        # Target critics only: SAC's target uses the current policy at s', not a target policy.
        self.Q1_target = target_copy(value_network1)
        self.Q2_target = target_copy(value_network2)
        critic_parameters = [*self.Q1.parameters(), *self.Q2.parameters()]
        # fused=True: Adam updates each tensor in one kernel instead of a dozen small ones (~10% faster).
        self.Q_optimizer = torch.optim.Adam(critic_parameters, lr=self.config["learning_rate"], fused=True)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"], fused=True)

        # α is learned through log α, which keeps α positive whatever the gradient step does.
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
        self.episode_returns = []
        self.history = History(self.config["history_every"])  # diagnostics, recorded by `train`

    @property
    def alpha(self):
        return self.log_alpha.detach().exp()

    def critic_target(self, R, Y, D):
        """y = r + γ (1 - terminated) [min_i Q(s', a'; θ'_i) - α log π(a'|s')], a' ~ π(·|s')."""
        with torch.no_grad():  # y is a fixed label: no gradient flows into the targets or the policy
            next_action, next_log_prob = self.pi.sample(Y)
            next_q = torch.min(self.Q1_target(Y, next_action), self.Q2_target(Y, next_action))
            # The soft value of s': its Q-value plus α times the entropy estimate -log π(a'|s').
            next_value = next_q - self.alpha * next_log_prob
            # (1 - terminated): no future after a terminal state; a truncated s' keeps its value.
            return R + self.gamma * (1 - D) * next_value

    def critic_step(self, X, A, R, Y, D):
        """One gradient step on L(θ1, θ2) = mean (Q(s, a; θ1) - y)² + mean (Q(s, a; θ2) - y)²."""
        target_q = self.critic_target(R, Y, D)
        q1 = self.Q1(X, A)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(self.Q2(X, A), target_q)
        gradient_step(self.Q_optimizer, critic_loss)  # (θ1, θ2) ← (θ1, θ2) - Adam(∇ L)
        self.history.add(critic_loss=critic_loss.detach(), mean_q=q1.detach().mean())
        return critic_loss.detach()

    def actor_step(self, X):
        """One gradient step on L^π(w) = mean [α log π_w(a|s) - min_i Q(s, a; θ_i)], a ~ π_w(·|s).

        The current critics, not the target ones, judge the actions. Returns log π(a|s) (detached)
        for the temperature step.
        """
        action, log_prob = self.pi.sample(X)  # reparametrised: a depends on w
        q = torch.min(self.Q1(X, action), self.Q2(X, action))
        actor_loss = (self.alpha * log_prob - q).mean()
        # Only ∇_w L^π: the gradient passes through the critics to a, none is computed for θ.
        gradient_step(self.pi_optimizer, actor_loss)  # w ← w - Adam(∇_w L^π)
        # -mean log π(a|s) estimates the policy's entropy, which learn_alpha steers to the target.
        self.history.add(actor_loss=actor_loss.detach(), entropy=-log_prob.detach().mean(), alpha=self.alpha)
        return log_prob.detach()

    def temperature_step(self, log_prob):
        """One gradient step on L(α) = -mean log α · (log π(a|s) + H̄), H̄ the target entropy.

        The gradient in log α is -(mean log π + H̄) = (entropy - H̄): α falls when the policy's
        entropy is above target, and rises when it is below.
        """
        alpha_loss = -(self.log_alpha * (log_prob + self.target_entropy)).mean()
        gradient_step(self.alpha_optimizer, alpha_loss)  # log α ← log α - Adam(∇ L(α))

    @torch.no_grad()
    def soft_update(self):
        """θ'_i ← τ θ_i + (1 - τ) θ'_i for both critics."""
        polyak_update(self.Q1_target, self.Q1, self.tau)
        polyak_update(self.Q2_target, self.Q2, self.tau)

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
        log_prob = self.actor_step(X)
        if self.learn_alpha:
            self.temperature_step(log_prob)
        self.soft_update()

    def train(self, env, max_steps):
        """Run `max_steps` environment steps, learning as it goes: the loop of `training.py`."""
        check_action_space(env, "sac_agent")
        return training.train(self, env, max_steps, "SAC")
