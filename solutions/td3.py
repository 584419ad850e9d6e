"""TD3: Twin Delayed DDPG (Fujimoto et al., 2018).

DDPG with three changes against overestimation of Q:
1. twin critics, and a target that takes the smaller of the two target critics (clipped double Q);
2. target-policy smoothing: clipped Gaussian noise on the target action;
3. delayed updates: the actor and the target networks move once every `policy_update_freq`
   critic steps.
Each step of the pseudo-code is one method below; `train` strings them together.
"""

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

TD3_DEFAULTS = {
    **training.LOOP_DEFAULTS,  # delay_learning, updates_per_step, history_every, seed, ... (training.py)
    "gamma": 0.99,  # discount factor γ
    "buffer_size": 1e6,  # replay buffer capacity (transitions)
    "learning_rate": 1e-3,  # Adam step size, critics and actor
    "batch_size": 256,  # transitions per gradient step
    "tau": 0.02,  # Polyak averaging rate τ of the target networks (TD3's and SAC's papers: 0.005; see README)
    "exploration_noise": 0.1,  # std of the Gaussian exploration noise, in units of the action half-range
    "action_noise_scale": 0.2,  # std of the target-policy smoothing noise, same units
    "action_noise_clip": 0.5,  # the smoothing noise is clipped to ± this, same units
    "policy_update_freq": 2,  # critic steps per actor step and target update
    "updates_per_step": 2,  # critic steps per environment step, the update-to-data ratio (see README)
    "clipped_double_q": True,  # min of the twin target critics (False: Q1' alone, for ablations)
}


class td3_agent:
    # What the tooling reads (see Agent in training.py): the networks the constructor takes, in order,
    # and the counter and period of the delayed actor step.
    roles = {"Q1": "critic", "Q2": "critic", "pi": "policy"}
    periodic_update = ("critic_updates", "policy_update_freq")

    def __init__(self, config, value_network1, value_network2, policy_network):
        self.config = read_config(config, TD3_DEFAULTS, "td3_agent")
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.policy_update_freq = int(self.config["policy_update_freq"])
        self.updates_per_step = int(self.config["updates_per_step"])
        self.exploration_noise = self.config["exploration_noise"]
        self.action_noise_scale = self.config["action_noise_scale"]
        self.action_noise_clip = self.config["action_noise_clip"]
        self.clipped_double_q = self.config["clipped_double_q"]
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)

        self.Q1, self.Q2, self.pi = value_network1, value_network2, policy_network
        self.device = next(policy_network.parameters()).device
        # Target networks: copies that only `soft_update` moves.
        self.Q1_target = target_copy(value_network1)
        self.Q2_target = target_copy(value_network2)
        self.pi_target = target_copy(policy_network)
        # One optimizer for both critics: their losses are summed and stepped together.
        critic_parameters = [*self.Q1.parameters(), *self.Q2.parameters()]
        # fused=True: Adam updates each tensor in one kernel instead of a dozen small ones (~10% faster).
        self.Q_optimizer = torch.optim.Adam(critic_parameters, lr=self.config["learning_rate"], fused=True)
        self.pi_optimizer = torch.optim.Adam(self.pi.parameters(), lr=self.config["learning_rate"], fused=True)
        self.memory = ReplayBuffer(self.config["buffer_size"], self.device)
        self.env_steps = 0  # counted across calls to `train`
        self.critic_updates = 0  # counts critic steps, to delay the actor and target updates
        self.episode_returns = []
        self.history = History(self.config["history_every"])  # diagnostics, recorded by `train`

    def critic_target(self, R, Y, D):
        """y = r + γ (1 - terminated) min_i Q(s', ã'; θ'_i), ã' = clip(π(s'; w') + ε, low, high)."""
        with torch.no_grad():  # y is a fixed label: no gradient flows into the target networks
            next_action = self.pi_target(Y)
            # ε ~ clip(N(0, σ̃²), -c, c), in units of the action half-range, then ã' is kept in bounds.
            clip = self.action_noise_clip
            noise = (torch.randn_like(next_action) * self.action_noise_scale).clamp(-clip, clip)
            next_action = (next_action + noise * self.pi.action_scale).clamp(*action_bounds(self.pi))
            # Clipped double Q: the smaller of the two estimates counters overestimation.
            next_q = self.Q1_target(Y, next_action)
            if self.clipped_double_q:
                next_q = torch.min(next_q, self.Q2_target(Y, next_action))
            # (1 - terminated): no future after a terminal state; a truncated s' keeps its value.
            return R + self.gamma * (1 - D) * next_q

    def critic_step(self, X, A, R, Y, D):
        """One gradient step on L(θ1, θ2) = mean (Q(s, a; θ1) - y)² + mean (Q(s, a; θ2) - y)²."""
        target_q = self.critic_target(R, Y, D)
        q1 = self.Q1(X, A)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(self.Q2(X, A), target_q)
        gradient_step(self.Q_optimizer, critic_loss)  # (θ1, θ2) ← (θ1, θ2) - Adam(∇ L)
        self.history.add(critic_loss=critic_loss.detach(), mean_q=q1.detach().mean())
        self.critic_updates += 1
        return critic_loss.detach()

    def actor_step(self, X):
        """One gradient step on L^π(w) = -mean Q(s, π_w(s); θ1) (the first critic only)."""
        actor_loss = -self.Q1(X, self.pi(X)).mean()
        # Only ∇_w L^π: the gradient passes through Q1 to the action, no gradient is computed for θ1.
        gradient_step(self.pi_optimizer, actor_loss)  # w ← w - Adam(∇_w L^π)
        self.history.add(actor_loss=actor_loss.detach())
        return actor_loss.detach()

    @torch.no_grad()
    def soft_update(self):
        """θ'_i ← τ θ_i + (1 - τ) θ'_i and w' ← τ w + (1 - τ) w'."""
        polyak_update(self.Q1_target, self.Q1, self.tau)
        polyak_update(self.Q2_target, self.Q2, self.tau)
        polyak_update(self.pi_target, self.pi, self.tau)

    @torch.no_grad()
    def explore(self, state):
        """a = clip(π_w(s) + ε, low, high) with ε ~ N(0, (σ · action_scale)²)."""
        action = self.pi(torch.as_tensor(state, dtype=torch.float32, device=self.device))
        noise = self.exploration_noise * self.pi.action_scale * torch.randn_like(action)
        return (action + noise).clamp(*action_bounds(self.pi)).cpu().numpy()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        # Delayed updates: the actor and the targets move once every `policy_update_freq` critic steps.
        if self.critic_updates % self.policy_update_freq == 0:
            self.actor_step(X)
            self.soft_update()

    def train(self, env, max_steps):
        """Run `max_steps` environment steps, learning as it goes: the loop of `training.py`."""
        check_action_space(env, "td3_agent")
        return training.train(self, env, max_steps, "TD3")
