"""DDPG: Deep Deterministic Policy Gradient (Lillicrap et al., 2016).

A critic Q(s, a; θ) learns by regression on the one-step target of the target networks, an actor
π_w(s) climbs the critic along the deterministic policy gradient, and the target networks follow
the trained ones by Polyak averaging. Each step of the pseudo-code is one method below:
`critic_target`, `critic_step`, `actor_step`, `soft_update`, `explore`; `train` strings them together.
"""

import torch
import torch.nn.functional as F

from solutions import training
from solutions.config import read_config
from solutions.gradient_step import gradient_step
from solutions.history import History
from solutions.networks import action_bounds
from solutions.noise import OrnsteinUhlenbeckNoise
from solutions.replay_buffer import ReplayBuffer
from solutions.target_networks import polyak_update, target_copy
from solutions.validation import check_action_space

DDPG_DEFAULTS = {
    **training.LOOP_DEFAULTS,  # delay_learning, updates_per_step, history_every, seed, ... (training.py)
    "gamma": 0.99,  # discount factor γ
    "buffer_size": 1e6,  # replay buffer capacity (transitions)
    "learning_rate": 3e-4,  # Adam step size, critic and actor (1e-3 let the actor saturate on some seeds)
    "batch_size": 256,  # transitions per gradient step
    "tau": 0.02,  # Polyak averaging rate τ of the target networks (TD3's and SAC's papers: 0.005; see README)
    "exploration_noise": 0.1,  # std of the exploration noise, in units of the action half-range
    "noise_type": "gaussian",  # "gaussian" (independent each step) or "ou" (Ornstein-Uhlenbeck)
}


class ddpg_agent:
    # What the tooling reads (see Agent in training.py): the networks the constructor takes, in order,
    # and no step taken only once every few updates.
    roles = {"Q": "critic", "pi": "policy"}
    periodic_update = None
    # The config's keys and their defaults; a subclass with keys of its own names its own (pixel_ddpg_agent).
    defaults = DDPG_DEFAULTS

    def __init__(self, config, value_network, policy_network):
        self.config = read_config(config, self.defaults, type(self).__name__)
        self.gamma = self.config["gamma"]
        self.tau = self.config["tau"]
        self.batch_size = int(self.config["batch_size"])
        self.updates_per_step = int(self.config["updates_per_step"])
        self.exploration_noise = self.config["exploration_noise"]
        # Learning needs at least one batch in the buffer.
        self.learning_starts = max(int(self.config["delay_learning"]), self.batch_size)

        self.Q = value_network
        self.pi = policy_network
        self.device = next(policy_network.parameters()).device
        # The target networks Q(·; θ') and π(·; w') start as copies (θ' = θ, w' = w) and are only
        # ever moved by `soft_update`: no gradient reaches them.
        self.Q_target = target_copy(value_network)
        self.pi_target = target_copy(policy_network)
        # fused=True: Adam updates each tensor in one kernel instead of a dozen small ones (~10% faster).
        self.Q_optimizer = torch.optim.Adam(self.Q.parameters(), lr=self.config["learning_rate"], fused=True)
        # actor_parameters() and make_replay_buffer() are hooks (below): π's parameters and a ReplayBuffer here.
        self.pi_optimizer = torch.optim.Adam(self.actor_parameters(), lr=self.config["learning_rate"], fused=True)
        self.memory = self.make_replay_buffer()
        self.ou_noise = None
        if self.config["noise_type"] == "ou":
            action_dim = self.pi.action_scale.shape[0]
            self.ou_noise = OrnsteinUhlenbeckNoise(action_dim, self.exploration_noise, device=self.device)
        self.env_steps = 0  # counted across calls to `train`, so that a second call does not warm up again
        self.episode_returns = []
        self.history = History(self.config["history_every"])  # diagnostics, recorded by `train`

    # Two hooks of the construction, for a subclass to override (pixel_ddpg_agent does both):
    def actor_parameters(self):
        """What the actor's optimizer trains: all of π's parameters w."""
        return self.pi.parameters()

    def make_replay_buffer(self):
        """The replay buffer `memory`: buffer_size transitions (s, a, r, s', terminated), on the networks' device."""
        return ReplayBuffer(self.config["buffer_size"], self.device)

    def critic_target(self, R, Y, D):
        """y = r + γ (1 - terminated) Q(s', π(s'; w'); θ')."""
        # The target is a fixed regression label: computed without a graph, so that the critic's
        # gradient does not flow into the target networks.
        with torch.no_grad():
            next_q = self.Q_target(Y, self.pi_target(Y))
            # (1 - terminated): a terminal state has no future. A time-limit truncation is not
            # stored as terminated, so its s' keeps its value.
            return R + self.gamma * (1 - D) * next_q

    def critic_step(self, X, A, R, Y, D):
        """One gradient step on L^Q(θ) = mean (Q(s, a; θ) - y)²."""
        target_q = self.critic_target(R, Y, D)
        q = self.Q(X, A)
        critic_loss = F.mse_loss(q, target_q)
        gradient_step(self.Q_optimizer, critic_loss)  # θ ← θ - Adam(∇_θ L^Q)
        self.history.add(critic_loss=critic_loss.detach(), mean_q=q.detach().mean())
        return critic_loss.detach()

    def actor_step(self, X):
        """One gradient step on L^π(w) = -mean Q(s, π_w(s); θ): descent on it is ascent on Q."""
        actor_loss = -self.Q(X, self.pi(X)).mean()
        # Only ∇_w L^π is computed: the gradient goes back through Q to the action a = π_w(s), and
        # on to w, but no gradient for θ is computed and the critic does not move.
        gradient_step(self.pi_optimizer, actor_loss)  # w ← w - Adam(∇_w L^π)
        self.history.add(actor_loss=actor_loss.detach())
        return actor_loss.detach()

    @torch.no_grad()
    def soft_update(self):
        """θ' ← τ θ + (1 - τ) θ' and w' ← τ w + (1 - τ) w'."""
        polyak_update(self.Q_target, self.Q, self.tau)
        polyak_update(self.pi_target, self.pi, self.tau)

    @torch.no_grad()
    def explore(self, state):
        """a = clip(π_w(s) + action_scale · ε, low, high), ε Gaussian N(0, σ²) or Ornstein-Uhlenbeck."""
        action = self.pi(torch.as_tensor(state, dtype=torch.float32, device=self.device))
        if self.ou_noise is None:
            noise = self.exploration_noise * torch.randn_like(action)
        else:
            noise = self.ou_noise.sample()
        return (action + self.pi.action_scale * noise).clamp(*action_bounds(self.pi)).cpu().numpy()

    def reset_noise(self):
        """A new episode starts the Ornstein-Uhlenbeck process afresh (Gaussian noise has no memory)."""
        if self.ou_noise is not None:
            self.ou_noise.reset()

    def update(self):
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)
        self.soft_update()

    def train(self, env, max_steps):
        """Run `max_steps` environment steps, learning as it goes: the loop of `training.py`."""
        check_action_space(env, "ddpg_agent")
        return training.train(self, env, max_steps, "DDPG")
