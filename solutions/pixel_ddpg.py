"""DDPG from pixels: the agent, DDPG itself with the pixel pieces put in.

The pieces come from four files, one concern each, loaded before this one in notebook 5: the
environment (solutions/pixel_env.py: action repeat, throttle axis, grey 84x84 frame stacks), DrQ's
random shifts (solutions/augmentation.py), the convolutional networks (solutions/pixel_networks.py)
and the uint8 frame buffer (solutions/frame_buffer.py).

`pixel_ddpg_agent` is a `ddpg_agent` with the pixel networks and a `PixelReplayBuffer`, whose update
shifts the minibatch's images at random (`random_shift`, DrQ, Kostrikov et al., 2021). It changes
DDPG's construction through DDPG's own hooks, `defaults`, `make_replay_buffer` and `actor_parameters`,
and its update through `update`, `critic_target` and `actor_step`. When the actor shares the critic's
encoder, the critic's loss alone trains the encoder and the actor reads its features detached (as in
SAC-AE, Yarats et al., 2021, and DrQ). The actor's loss adds a small penalty on its output before the
tanh, which keeps the tanh out of saturation, where the actor's gradient vanishes (`actor_step`).
Exploration noise is 0.3, not DDPG's 0.1, meant to take the car away from the start (the ablation
questions it).

The action repeat and the shared encoder are what make this affordable on a CPU: one update every 8
frames instead of every frame, and 3 encoder passes per update instead of 5. What each change buys,
in frames and in minutes, is measured by benchmarks/car_racing.py (benchmarks/results/car_racing*.md).
"""

import torch

# The module, not its names: in notebook 5, loading this file must not replace the ddpg_agent of part 1
# that you may have pasted there.
from solutions import ddpg
from solutions.augmentation import random_shift
from solutions.frame_buffer import PixelReplayBuffer, available_memory_bytes, fitting_buffer_size, transition_bytes
from solutions.gradient_step import gradient_step
from solutions.validation import value_fits

PIXEL_DDPG_DEFAULTS = {
    **ddpg.DDPG_DEFAULTS,
    # 3.5 GB of uint8 frames when full (DDPG's 1e6 would need 35 GB); cut to half the available
    # memory when that is less (see `fitting_buffer_size`)
    "buffer_size": 100_000,
    "batch_size": 64,  # convolutions on a CPU are slow: a smaller batch than DDPG's 256 (not tuned)
    # σ 0.3, not DDPG's 0.1, meant to take the car away from the start to see a reward; over two seeds
    # 0.1 did as well (benchmarks/results/car_racing_ablation.md)
    "exploration_noise": 0.3,
    "random_shift": 4,  # DrQ's augmentation of the minibatch: shifts of up to 4 pixels (0: none)
    # λ of the actor's penalty λ mean(u²) on its pre-tanh output u: keeps tanh out of saturation,
    # where its gradient vanishes and the actor can never turn back (0: none; see actor_step)
    "pre_tanh_penalty": 0.1,
}


class pixel_ddpg_agent(ddpg.ddpg_agent):
    """A ddpg_agent for pixel observations: the pixel networks and a PixelReplayBuffer.

    The config takes DDPG's keys and two of its own (`random_shift`, `pre_tanh_penalty`), with
    PIXEL_DDPG_DEFAULTS. Its `buffer_size` is the buffer's capacity, fitted to the available memory
    before DDPG reads the config.

    Two actor-critic layouts:

    - separate encoders (`pixelQNetwork(env)`, `pixelPolicyNetwork(env)`): the update is DDPG's,
      unchanged. It runs an encoder forward 5 times, Q(s), Q'(s') and π'(s') for the critic, π(s)
      and Q(s) for the actor, and backward twice, once for each loss.
    - a shared encoder (`pixel_networks(env)`): `critic_target` below encodes s' once for both
      target networks, DDPG's `critic_step` trains the encoder with the critic's loss, and
      `actor_step` below gives the actor the features detached: 3 forward passes and 1 backward,
      about 1.6 times faster on a CPU. It is also the usual choice in pixel-based actor-critics
      (SAC-AE, DrQ), whose authors found that the actor's gradient made the encoder's features worse.
    """

    # roles and periodic_update are ddpg_agent's: the same two networks, no periodic step.
    defaults = PIXEL_DDPG_DEFAULTS  # read by ddpg_agent.__init__: DDPG's keys, random_shift, pre_tanh_penalty

    def __init__(self, config, value_network, policy_network):
        # The buffer's capacity is fitted to the memory there is before DDPG reads (and freezes) the
        # config, so that config["buffer_size"] is the capacity of the buffer that make_replay_buffer builds.
        config = {**config, "buffer_size": self.fitting_capacity(config, policy_network)}
        super().__init__(config, value_network, policy_network)
        self.random_shift = int(self.config["random_shift"])
        self.pre_tanh_penalty = float(self.config["pre_tanh_penalty"])

    def fitting_capacity(self, config, policy_network):
        """config's buffer_size, or the default cut to half the available memory (`fitting_buffer_size`)."""
        requested = config.get("buffer_size", self.defaults["buffer_size"])
        if not value_fits("buffer_size", requested, None):
            return requested  # not a capacity: read_config says what buffer_size takes
        action_dim = policy_network.action_scale.shape[0]
        bytes_per_transition = transition_bytes(policy_network.encoder.observation_shape, action_dim)
        return fitting_buffer_size(requested, "buffer_size" in config, bytes_per_transition, available_memory_bytes())

    @property
    def shared_encoder(self):
        """True when the actor reads the critic's encoder (`pixel_networks`): see the two layouts above."""
        return self.pi.encoder is self.Q.encoder

    def make_replay_buffer(self):
        """Frames stored once, as uint8: config buffer_size transitions, on the networks' device."""
        return PixelReplayBuffer(self.config["buffer_size"], self.device)

    def actor_parameters(self):
        """What the actor's optimiser trains: with a shared encoder, the head only, since the encoder
        belongs to the critic's optimiser. (pi_target holds its own copy of the encoder, which
        soft_update keeps in step; only Q_target's copy is used by the update.)"""
        return self.pi.head.parameters() if self.shared_encoder else self.pi.parameters()

    def update(self):
        """DDPG's update on a minibatch whose images are shifted at random (DrQ), s and s' independently."""
        X, A, R, Y, D = self.memory.sample(self.batch_size)
        if self.random_shift:
            X, Y = random_shift(X, self.random_shift), random_shift(Y, self.random_shift)
        self.critic_step(X, A, R, Y, D)
        self.actor_step(X)  # the actor learns on the same shifted states as the critic
        self.soft_update()

    def critic_target(self, R, Y, D):
        """y = r + γ (1 - terminated) Q(s', π(s'; w'); θ'), with s' encoded once for both target heads."""
        if not self.shared_encoder:
            return super().critic_target(R, Y, D)
        with torch.no_grad():
            next_features = self.Q_target.encoder(Y)
            next_q = self.Q_target.from_features(next_features, self.pi_target.from_features(next_features))
            return R + self.gamma * (1 - D) * next_q

    def actor_step(self, X):
        """L^π(w) = -mean Q(s, π_w(s); θ) + λ mean u_w(s)², u_w(s) the actor's output before the tanh.

        The mean of u² runs over the batch and the d action dimensions: λ/(B·d) Σ ‖u‖². The penalty
        (config `pre_tanh_penalty`) matters because a tanh actor can saturate: once u is large,
        tanh'(u) is 0 in float32, no gradient reaches w, and the actor stays at its bound whatever the
        critic learns later. The penalty's gradient on each output, 2λu/(B·d), pulls u back and grows
        with u. With a shared encoder the actor reads its features detached:
        only the actor's head learns from this loss (the encoder, just updated by the critic step,
        and the critic stay put).
        """
        if self.shared_encoder:
            with torch.no_grad():
                features = self.Q.encoder(X)
        else:
            features = self.pi.encoder(X)
        pre_activation = self.pi.head(features)
        action = self.pi.squash(pre_activation)
        q = self.Q.from_features(features, action) if self.shared_encoder else self.Q(X, action)
        actor_loss = -q.mean() + self.pre_tanh_penalty * pre_activation.pow(2).mean()
        gradient_step(self.pi_optimizer, actor_loss)  # w ← w - Adam(∇_w L^π): the actor's parameters only
        self.history.add(actor_loss=actor_loss.detach(), saturation=(pre_activation.abs() > 3).float().mean())
        return actor_loss.detach()
