"""Discrete-action SAC (Christodoulou, 2019, "Soft Actor-Critic for Discrete Action Settings").

With a finite action set {0, ..., n-1} the policy is a categorical distribution π(·|s), given by
n logits, and each critic outputs the n values Q(s, ·) at once. The expectations over actions that
continuous SAC estimates with one sampled action are then exact sums over the n actions:

    soft value   V(s') = Σ_a π(a|s') [min_i Q(s', a; θ'_i) - α log π(a|s')]
    actor loss   L^π(w) = mean over s of Σ_a π_w(a|s) [α log π_w(a|s) - min_i Q(s, a; θ_i)]
    temperature  L(α) = mean over s of log α · (H(π(·|s)) - H̄),  H(π(·|s)) = -Σ_a π(a|s) log π(a|s)

No reparametrisation trick is needed: the actor's loss is an explicit function of the probabilities.
This file holds the networks and the agent; `train` strings the methods together as in `sac.py`.

Why the default temperature is fixed (α = 1) on CartPole-v1 (two actions, largest entropy
log 2 ≈ 0.69 nats): with the paper's learned α and target entropy H̄ = 0.98 log 2, close to the
largest, the policy cannot lose entropy without the dual step raising α, and α keeps growing
through training; the soft objective then mostly rewards entropy. Set "learn_alpha": True to tune
α (towards `target_entropy_ratio` · log n, 0.5 by default). What each reaches after 6,000 steps,
and α at the end: benchmarks/results/cartpole_discrete_sac*.md (benchmarks/cartpole_discrete_sac.py).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions import training
from solutions.config import read_config
from solutions.gradient_step import gradient_step
from solutions.history import History
from solutions.networks import mlp
from solutions.replay_buffer import ReplayBuffer
from solutions.target_networks import polyak_update, target_copy
from solutions.validation import check_action_space, check_network_spaces


class discreteQNetwork(nn.Module):
    """Q(s, ·; θ): the state goes in, one value per action comes out, shape (B, n) (or (n,))."""

    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        check_network_spaces(env, type(self).__name__, actions="discrete")
        self.net = mlp(env.observation_space.shape[0], env.action_space.n, hidden_sizes)

    def forward(self, state):
        return self.net(state)


class categoricalPolicy(nn.Module):
    """π_w(·|s) = softmax(f_w(s)): a probability for each of the n actions.

    Probabilities and log-probabilities both come from `log_softmax` of the logits, which never
    takes the log of a probability that rounded to 0: log π stays finite (and π log π is 0, not
    NaN, for an action the policy has all but ruled out). Calling the network, `policy(s)`, gives
    the greedy action argmax_a π(a|s), used for evaluation and videos.
    """

    def __init__(self, env, hidden_sizes=(64, 64)):
        super().__init__()
        check_network_spaces(env, type(self).__name__, actions="discrete")
        self.n_actions = int(env.action_space.n)
        self.net = mlp(env.observation_space.shape[0], self.n_actions, hidden_sizes)

    def probabilities(self, state):
        """(π(·|s), log π(·|s)), each of shape (B, n)."""
        log_probs = F.log_softmax(self.net(state), dim=-1)
        return log_probs.exp(), log_probs

    def sample(self, state):
        """An action index a ~ π(·|s) (a long tensor, shape (B,) or 0-d)."""
        probs, _ = self.probabilities(state)
        # validate_args=False: the check that probs sum to 1 (they do, from a softmax) would read a
        # tensor on the host, and so wait for the GPU, at every environment step.
        return torch.distributions.Categorical(probs=probs, validate_args=False).sample()

    def forward(self, state):
        """The greedy action argmax_a π(a|s) (for evaluation)."""
        return self.net(state).argmax(dim=-1)


# Defaults measured on CartPole-v1 (see the module docstring and tests/test_sac_discrete.py).
SAC_DISCRETE_DEFAULTS = {
    **training.LOOP_DEFAULTS,  # delay_learning, updates_per_step, history_every, seed, ... (training.py)
    "gamma": 0.99,  # discount factor γ
    "buffer_size": 1e5,  # replay buffer capacity (transitions)
    "learning_rate": 1e-3,  # Adam step size, critics and actor
    "batch_size": 128,  # transitions per gradient step
    "tau": 0.005,  # Polyak averaging rate τ of the target critics
    "alpha": 1.0,  # temperature α: fixed, or the starting value when it is learned
    "learn_alpha": False,  # True tunes α towards the target entropy; False keeps it fixed
    "target_entropy_ratio": 0.5,  # with learn_alpha: the target entropy H̄ as a fraction of log n
    "alpha_learning_rate": 1e-3,  # Adam step size for log α
}


class sac_discrete_agent:
    # What the tooling reads (see Agent in training.py): the networks the constructor takes, in order,
    # and no step taken only once every few updates.
    roles = {"Q1": "critic", "Q2": "critic", "pi": "policy"}
    periodic_update = None

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = read_config(config, SAC_DISCRETE_DEFAULTS, "sac_discrete_agent")
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)
        self.updates_per_step = int(self.config["updates_per_step"])

        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.device = next(policy_network.parameters()).device
        self.Q1_target = target_copy(value_network1)
        self.Q2_target = target_copy(value_network2)
        critic_parameters = [*self.Q1.parameters(), *self.Q2.parameters()]
        # fused=True: Adam updates each tensor in one kernel instead of a dozen small ones.
        self.Q_optimizer = torch.optim.Adam(critic_parameters, lr=self.config["learning_rate"], fused=True)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"], fused=True)

        # The largest entropy of a distribution over n actions is log n (the uniform one). The
        # target is a fraction of it: with 0.98 (the paper's choice) α diverges on CartPole (see
        # the module docstring).
        self.target_entropy = self.config["target_entropy_ratio"] * math.log(self.pi.n_actions)
        self.learn_alpha = self.config["learn_alpha"]
        log_alpha = math.log(self.config["alpha"])
        self.log_alpha = torch.tensor(log_alpha, device=self.device, requires_grad=self.learn_alpha)
        if self.learn_alpha:
            self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=self.config["alpha_learning_rate"])

        # The buffer stores the action index as a float (exact for any realistic n); the agent
        # turns it back into a long index before indexing the Q-values.
        self.memory = ReplayBuffer(self.config["buffer_size"], self.device)
        self.env_steps = 0  # counted across calls to `train`
        self.episode_returns = []
        self.history = History(self.config["history_every"])  # diagnostics, recorded by `train`

    @property
    def alpha(self):
        return self.log_alpha.detach().exp()

    def critic_target(self, R, Y, D):
        """y = r + γ (1 - terminated) Σ_a' π(a'|s') [min_i Q(s', a'; θ'_i) - α log π(a'|s')]."""
        with torch.no_grad():  # a fixed label: no gradient into the target critics or the policy
            probs, log_probs = self.pi.probabilities(Y)
            next_q = torch.min(self.Q1_target(Y), self.Q2_target(Y))
            # The exact expectation over the next action, not a one-sample estimate.
            next_value = (probs * (next_q - self.alpha * log_probs)).sum(dim=-1)
            # (1 - terminated): no future after a terminal state; a truncated s' keeps its value.
            return R + self.gamma * (1 - D) * next_value

    def critic_step(self, X, A, R, Y, D):
        """One gradient step on L(θ1, θ2) = mean (Q(s, a; θ1) - y)² + mean (Q(s, a; θ2) - y)²."""
        target_q = self.critic_target(R, Y, D)
        index = A.long().reshape(-1, 1)  # the stored action index, as a (B, 1) long tensor
        q1 = self.Q1(X).gather(1, index).squeeze(1)  # Q(s, a; θ1) of the action taken
        q2 = self.Q2(X).gather(1, index).squeeze(1)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        gradient_step(self.Q_optimizer, critic_loss)
        self.history.add(critic_loss=critic_loss.detach(), mean_q=q1.detach().mean())
        return critic_loss.detach()

    def actor_step(self, X):
        """One gradient step on L^π(w) = mean Σ_a π_w(a|s) [α log π_w(a|s) - min_i Q(s, a; θ_i)].

        The current critics, not the target ones, judge the actions. They are frozen: the sum over
        actions is exact, so the gradient reaches w through π_w alone, and the Q-values are
        constants (computed without a graph). Returns the entropy H(π(·|s)) of each state
        (detached) for the temperature step.
        """
        with torch.no_grad():
            q = torch.min(self.Q1(X), self.Q2(X))
        probs, log_probs = self.pi.probabilities(X)
        actor_loss = (probs * (self.alpha * log_probs - q)).sum(dim=-1).mean()
        gradient_step(self.pi_optimizer, actor_loss)
        entropy = -(probs * log_probs).sum(dim=-1).detach()
        self.history.add(actor_loss=actor_loss.detach(), entropy=entropy.mean(), alpha=self.alpha)
        return entropy

    def temperature_step(self, entropy):
        """One gradient step on L(α) = mean log α · (H(π(·|s)) - H̄), H̄ the target entropy.

        This is the continuous L(α) = -mean log α (log π(a|s) + H̄) with log π(a|s) replaced by its
        exact expectation Σ_a π(a|s) log π(a|s) = -H(π(·|s)). The gradient in log α is
        mean H - H̄: α falls when the policy's entropy is above target, and rises when it is below.
        """
        alpha_loss = (self.log_alpha * (entropy - self.target_entropy)).mean()
        gradient_step(self.alpha_optimizer, alpha_loss)

    @torch.no_grad()
    def soft_update(self):
        """θ'_i ← τ θ_i + (1 - τ) θ'_i for both critics."""
        polyak_update(self.Q1_target, self.Q1, self.tau)
        polyak_update(self.Q2_target, self.Q2, self.tau)

    @torch.no_grad()
    def explore(self, state):
        """a ~ π_w(·|s), as a Python int: the policy's own randomness explores."""
        return int(self.pi.sample(torch.as_tensor(state, dtype=torch.float32, device=self.device)))

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        entropy = self.actor_step(X)
        if self.learn_alpha:
            self.temperature_step(entropy)
        self.soft_update()

    def train(self, env, max_steps):
        """Run `max_steps` environment steps, learning as it goes: the loop of `training.py`."""
        check_action_space(env, "sac_discrete_agent", "discrete")
        return training.train(self, env, max_steps, "SAC (discrete)")
