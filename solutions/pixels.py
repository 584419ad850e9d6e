"""DDPG from pixels: image observations, convolutional networks and a replay buffer of uint8 frames.

The pipeline for CarRacing-v3 (96x96 RGB frames), as in DQN on Atari (Mnih et al., 2015), with what
it takes for the car to drive:

1. Actions: steering, gas and brake, with gas and brake on one axis (`ThrottleAxis`), so that the
   untrained actor neither brakes nor accelerates; exploration noise 0.3, not DDPG's 0.1, meant
   to take the car away from the start (the ablation questions it). Training episodes end after
   25 agent steps without a reward (`TruncateWhenStuck`, set by whoever builds the training
   environment).
2. Observations: each action is repeated for 8 frames (`ActionRepeat`), then the last frame is
   turned grey, resized to 84x84, and stacked with the 3 before it, so that one observation is a
   (4, 84, 84) uint8 array and velocities can be read off the stack. `make_pixel_env` applies
   gymnasium's GrayscaleObservation and FrameStackObservation. Resizing uses TransformObservation
   with a torch resize, not gymnasium's ResizeObservation, which needs OpenCV (gymnasium[other],
   not a dependency of this package).
3. Networks: a Nature-DQN encoder (three convolutions) and DrQ-v2's trunk (a linear layer to 50
   features, LayerNorm, tanh), then a fully connected head. The networks take pixel values in
   [0, 255], of any dtype (uint8 from the environment, float32 from the buffer), and scale them to
   [0, 1] themselves: whoever calls them never scales. `pixel_networks` builds a critic and an actor
   that share one encoder (see 5).
4. Memory: `PixelReplayBuffer` stores frames as uint8 and shares the frames that s and s' have in
   common (see its docstring): 35.3 kB per transition, 3.5 GB for 100k transitions. The default
   capacity, 100k, is cut to half the memory available when that is less (`fitting_buffer_size`).
5. The agent is DDPG itself: `pixel_ddpg_agent` is a `ddpg_agent` with the pixel networks and a
   `PixelReplayBuffer`, whose update shifts the minibatch's images at random (`random_shift`, DrQ,
   Kostrikov et al., 2021). When the actor shares the critic's encoder, the critic's loss alone
   trains the encoder and the actor reads its features detached (as in SAC-AE, Yarats et al., 2021,
   and DrQ). The actor's loss adds a small penalty on its output before the tanh, which keeps the
   tanh out of saturation, where the actor's gradient vanishes (`actor_step`).

The action repeat and the shared encoder are what make this affordable on a CPU: one update every 8
frames instead of every frame, and 3 encoder passes per update instead of 5. What each change buys,
in frames and in minutes, is measured by benchmarks/car_racing.py (benchmarks/results/car_racing*.md).
"""

import os
from types import MappingProxyType

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from gymnasium.wrappers import FrameStackObservation, GrayscaleObservation, TransformObservation

from solutions.config import read_config
from solutions.ddpg import DDPG_DEFAULTS, ddpg_agent
from solutions.gradient_step import gradient_step
from solutions.networks import mlp
from solutions.validation import check_network_spaces


def resize_frame(frame, size):
    """Resize one (H, W) uint8 frame to (size, size) uint8 by area averaging (like cv2.INTER_AREA)."""
    pixels = torch.from_numpy(np.ascontiguousarray(frame)).float()[None, None]
    resized = F.interpolate(pixels, size=(size, size), mode="area")
    return resized.round().clamp(0, 255).to(torch.uint8)[0, 0].numpy()


class ActionRepeat(gym.Wrapper):
    """Play each action for `repeat` frames and return the sum of their rewards and the last frame.

    The agent then decides (and learns) once every `repeat` frames: the usual setting for pixel-based
    control (4 in DQN's frame skip, 2 to 8 in PlaNet and DrQ). An episode that ends inside the repeat
    ends the step there.
    """

    def __init__(self, env, repeat):
        if repeat != int(repeat) or repeat < 1:
            raise ValueError(f"ActionRepeat needs a positive whole number of frames, got {repeat!r}.")
        super().__init__(env)
        self.repeat = int(repeat)

    def step(self, action):
        total_reward = 0.0
        for _ in range(self.repeat):
            observation, reward, terminated, truncated, info = self.env.step(action)
            total_reward += float(reward)
            if terminated or truncated:
                break
        return observation, total_reward, terminated, truncated, info


class ThrottleAxis(gym.ActionWrapper):
    """CarRacing's gas and brake on one axis: the agent's action (steer, throttle) lies in [-1, 1]²;
    throttle > 0 is gas, throttle < 0 is brake: (steer, max(throttle, 0), max(-throttle, 0)).

    Why: gas and brake each live in [0, 1], so a tanh actor centred on its bounds (`action_bias`
    0.5) starts by pressing both at half strength in every state, and the brake wins: the car stands
    still. On one axis, the untrained actor's throttle is 0, and exploration noise drives it forward
    as often as it brakes. It also rules out pressing both pedals at once, which never helps.
    """

    def __init__(self, env):
        space = env.action_space
        expected = (np.array([-1, 0, 0], np.float32), np.ones(3, np.float32))
        if space.shape != (3,) or not (np.allclose(space.low, expected[0]) and np.allclose(space.high, expected[1])):
            raise ValueError(
                f"ThrottleAxis needs CarRacing's actions (steer in [-1, 1], gas and brake in [0, 1]), got "
                f"{space}; build other environments with make_pixel_env(env_id, throttle_axis=False)."
            )
        super().__init__(env)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def action(self, action):
        steer, throttle = float(action[0]), float(action[1])
        return np.array([steer, max(throttle, 0.0), max(-throttle, 0.0)], np.float32)


class TruncateWhenStuck(gym.Wrapper):
    """End (truncate) a training episode after `patience` agent steps in a row without a positive reward.

    A CarRacing car off the track or stopped collects -0.1 per frame until the time limit: most of
    an early episode teaches nothing new. Cutting it short gives the buffer more starts on the track
    per frame of simulation. It is a truncation, not a termination: the car could still come back,
    so the target bootstraps from the last state as at the time limit. Use it for training only; the
    evaluation plays the full 1000 frames.
    """

    def __init__(self, env, patience):
        if patience != int(patience) or patience < 1:
            raise ValueError(f"TruncateWhenStuck needs a positive whole number of steps, got {patience!r}.")
        super().__init__(env)
        self.patience = int(patience)
        self.steps_without_reward = 0

    def reset(self, **kwargs):
        self.steps_without_reward = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps_without_reward = 0 if reward > 0 else self.steps_without_reward + 1
        return observation, reward, terminated, truncated or self.steps_without_reward >= self.patience, info


def make_pixel_env(env_id="CarRacing-v3", frame_size=84, stack_size=4, action_repeat=8, throttle_axis=True,
                   stuck_patience=None, **make_kwargs):
    """gym.make(env_id) with observations turned into (stack_size, frame_size, frame_size) uint8 stacks.

    Each step plays the action for `action_repeat` frames (`ActionRepeat`), so the stack holds every
    `action_repeat`-th frame. The first observation of an episode stacks the reset frame `stack_size`
    times. CarRacing's time limit of 1000 frames becomes 125 agent steps with the default repeat of 8
    (as in the PPO agents that solve CarRacing; 4 halves the frames per update and doubles the cost).
    `throttle_axis` puts gas and brake on one action axis (`ThrottleAxis`: CarRacing only), and
    `stuck_patience`, for a training environment, ends an episode after that many agent steps
    without a reward (`TruncateWhenStuck`).
    """
    env = gym.make(env_id, **make_kwargs)
    if throttle_axis:
        env = ThrottleAxis(env)
    env = ActionRepeat(env, action_repeat)  # before the wrappers below:
    if stuck_patience is not None:
        env = TruncateWhenStuck(env, stuck_patience)  # counts agent steps, each of action_repeat frames
    env = GrayscaleObservation(env)  # (H, W, 3) -> (H, W), only the frames that the agent sees
    frame_space = gym.spaces.Box(0, 255, (frame_size, frame_size), np.uint8)
    env = TransformObservation(env, lambda frame: resize_frame(frame, frame_size), frame_space)
    return FrameStackObservation(env, stack_size)  # -> (stack_size, frame_size, frame_size)


def random_shift(pixels, pad=4):
    """DrQ's augmentation (Kostrikov et al., 2021): each image of a batch (B, C, H, W) moved by its own
    random shift of up to `pad` pixels in each direction, the edge pixels repeated into the gap.

    The critic then sees each stored state in many slightly different positions, and learns values
    that do not hinge on the exact pixel: far fewer frames to learn from pixels. All C frames of one
    stack move together (they are one observation).
    """
    batch, channels, height, width = pixels.shape
    padded = F.pad(pixels, (pad, pad, pad, pad), mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, batch, 1, 1, 1), device=pixels.device)
    rows = torch.arange(height, device=pixels.device).view(1, 1, height, 1) + dy  # (B, 1, H, 1)
    cols = torch.arange(width, device=pixels.device).view(1, 1, 1, width) + dx  # (B, 1, 1, W)
    samples = torch.arange(batch, device=pixels.device).view(batch, 1, 1, 1)
    frames = torch.arange(channels, device=pixels.device).view(1, channels, 1, 1)
    return padded[samples, frames, rows, cols]  # (B, C, H, W): the window of each image at its shift


def nature_encoder(in_channels):
    """The convolutional torso of the Nature DQN: (B, C, 84, 84) -> (B, 64 * 7 * 7 = 3136)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
    )


class pixelEncoder(nn.Module):
    """Pixels in [0, 255], one (C, H, W) stack or a batch (B, C, H, W) -> features (B, n_features).

    The convolutions' 3136 outputs are projected to `feature_dim` features, normalised (LayerNorm)
    and squashed (tanh): DrQ-v2's trunk (Yarats et al., 2022). The heads then read 50 features of one
    scale, whatever the scale of the convolutions' outputs, instead of 3136 unbounded ones
    (`feature_dim=None`: no trunk; what it changes is measured by benchmarks/car_racing.py).
    """

    def __init__(self, observation_shape, feature_dim=50):
        super().__init__()
        self.observation_shape = tuple(observation_shape)  # (stack, H, W): what the buffer stores
        self.conv = nature_encoder(observation_shape[0])
        with torch.no_grad():
            n_conv = self.conv(torch.zeros(1, *observation_shape)).shape[1]
        if feature_dim is None:
            self.trunk, self.n_features = nn.Identity(), n_conv
        else:
            self.trunk = nn.Sequential(nn.Linear(n_conv, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
            self.n_features = feature_dim

    def forward(self, pixels):
        # Scaling happens here, once for every caller: uint8 or float input, values 0..255.
        return self.trunk(self.conv(pixels.float() / 255.0))


def as_batch(pixels):
    """(C, H, W) -> (1, C, H, W) and True; a batch (B, C, H, W) is left alone (and False)."""
    return (pixels.unsqueeze(0), True) if pixels.dim() == 3 else (pixels, False)


class pixelQNetwork(nn.Module):
    """Q(s, a; θ) from a frame stack: convolutional features of s, concatenated with a, then a head.

    Returns shape (B,) for a batch and a 0-d tensor for one (s, a) pair, like QNetwork.
    `from_features` is the head alone, for an agent that has computed the features already.
    """

    def __init__(self, env, hidden_size=512, feature_dim=50):
        super().__init__()
        check_network_spaces(env, type(self).__name__, observations="pixels")
        self.encoder = pixelEncoder(env.observation_space.shape, feature_dim)
        action_dim = env.action_space.shape[0]
        self.head = mlp(self.encoder.n_features + action_dim, 1, (hidden_size,))

    def from_features(self, features, action):
        """Q from encoder features (B, n_features) and actions (B, act_dim): shape (B,)."""
        return self.head(torch.cat([features, action], dim=-1)).squeeze(-1)

    def forward(self, state, action):
        state, single = as_batch(state)
        action = action.unsqueeze(0) if single else action
        q = self.from_features(self.encoder(state), action)
        return q[0] if single else q


class pixelPolicyNetwork(nn.Module):
    """π_w(s) = action_scale · tanh(f_w(s)) + action_bias, f_w convolutional: a bounded action.

    With `encoder=None` the actor has an encoder of its own. Given the critic's encoder (see
    `pixel_networks`), it shares it: `forward` still maps pixels to actions, but `pixel_ddpg_agent`
    then trains only the head with the actor's loss.
    """

    def __init__(self, env, hidden_size=512, encoder=None, feature_dim=50):
        super().__init__()
        check_network_spaces(env, type(self).__name__, observations="pixels")
        self.encoder = pixelEncoder(env.observation_space.shape, feature_dim) if encoder is None else encoder
        action_dim = env.action_space.shape[0]
        self.head = mlp(self.encoder.n_features, action_dim, (hidden_size,))
        low = torch.as_tensor(env.action_space.low, dtype=torch.float32)
        high = torch.as_tensor(env.action_space.high, dtype=torch.float32)
        self.register_buffer("action_scale", (high - low) / 2)
        self.register_buffer("action_bias", (high + low) / 2)

    def from_features(self, features):
        """Actions (B, act_dim) from encoder features (B, n_features)."""
        return self.squash(self.head(features))

    def squash(self, pre_activation):
        """action_scale · tanh(u) + action_bias: the head's output u -> an action within the bounds."""
        return torch.tanh(pre_activation) * self.action_scale + self.action_bias

    def forward(self, state):
        state, single = as_batch(state)
        action = self.from_features(self.encoder(state))
        return action[0] if single else action


def pixel_networks(env, hidden_size=512, feature_dim=50):
    """A critic and an actor that share one encoder: (pixelQNetwork, pixelPolicyNetwork).
    `feature_dim`: the features at the end of the encoder's trunk (None: no trunk; see pixelEncoder)."""
    Q = pixelQNetwork(env, hidden_size, feature_dim)
    return Q, pixelPolicyNetwork(env, hidden_size, encoder=Q.encoder)


class PixelReplayBuffer:
    """A replay buffer for frame-stacked uint8 observations, with ReplayBuffer's append/sample contract.

    With frame stacking, s' is s shifted by one frame: s = (f1, f2, f3, f4) and s' = (f2, f3, f4, f5).
    So each transition stores the 5 frames (f1, ..., f5) once, as uint8, in one row of shape
    (stack + 1, H, W); s and s' are the first 4 and the last 4 of them. `append` checks the overlap
    and refuses observations that do not have it (they are not frame stacks).

    Memory per transition, 4x84x84 stacks and 2 actions: 5 · 84 · 84 = 35,280 bytes of frames, plus
    8 bytes of action and 8 of reward and terminated flag: 35,296 bytes, 3.5 GB for 100k transitions.
    (Storing s and s' separately as uint8 would take 56,464 bytes; as float32, 225,808 bytes.)
    The storage is allocated once with torch.empty: the operating system commits its pages as they
    are written, so a buffer that is a tenth full uses about a tenth of that memory.

    `sample` returns float32 tensors; X and Y hold the pixel values 0..255 unscaled (the networks
    scale them to [0, 1]).
    """

    def __init__(self, capacity, device="cpu"):
        if capacity != int(capacity) or capacity < 1:
            raise ValueError(f"PixelReplayBuffer capacity must be a positive whole number, got {capacity!r}.")
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.next_index = 0
        self.size = 0
        self.storage = None

    def _allocate(self, state, action):
        def rows(*shape, dtype=torch.float32):
            return torch.empty((self.capacity, *shape), dtype=dtype, device=self.device)

        stack, height, width = state.shape
        self.storage = {
            "frames": rows(stack + 1, height, width, dtype=torch.uint8),  # f1 ... f5
            "action": rows(*np.shape(action)),
            "reward": rows(),
            "terminated": rows(),
        }

    @property
    def bytes_per_transition(self):
        """Bytes of storage per transition (0 before the first append)."""
        if self.storage is None:
            return 0
        return sum(tensor[0].nelement() * tensor.element_size() for tensor in self.storage.values())

    def append(self, state, action, reward, next_state, terminated):
        """Store one transition. `state` and `next_state` are (stack, H, W) uint8 frame stacks."""
        state, next_state = np.asarray(state), np.asarray(next_state)
        if state.dtype != np.uint8 or state.ndim != 3:
            raise TypeError(
                f"PixelReplayBuffer stores (stack, H, W) uint8 frame stacks, got {state.dtype} of shape "
                f"{state.shape}. Build the environment with make_pixel_env."
            )
        if not np.array_equal(state[1:], next_state[:-1]):
            raise ValueError(
                "next_state is not state shifted by one frame: PixelReplayBuffer stores the frames "
                "that state and next_state share only once, which needs FrameStackObservation stacks."
            )
        if self.storage is None:
            self._allocate(state, action)
        row = self.next_index
        self.storage["frames"][row, :-1] = torch.from_numpy(state)
        self.storage["frames"][row, -1] = torch.from_numpy(next_state[-1])
        self.storage["action"][row] = torch.as_tensor(action, dtype=torch.float32)
        self.storage["reward"][row] = float(reward)
        self.storage["terminated"][row] = float(terminated)
        self.next_index = (row + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """Draw `batch_size` transitions uniformly (with replacement): X, A, R, Y, D, float32 tensors.

        Shapes (B, stack, H, W), (B, act_dim), (B,), (B, stack, H, W), (B,); X and Y in 0..255.
        """
        if batch_size > self.size:
            raise ValueError(
                f"Cannot sample {batch_size} transitions: the buffer holds only {self.size}. "
                "Append more transitions first (or wait longer before learning)."
            )
        rows = torch.randint(0, self.size, (batch_size,), device=self.device)
        frames = self.storage["frames"][rows]  # uint8 until the two slices below
        return (
            frames[:, :-1].float(),
            self.storage["action"][rows],
            self.storage["reward"][rows],
            frames[:, 1:].float(),
            self.storage["terminated"][rows],
        )

    def __len__(self):
        return self.size


def available_memory_bytes():
    """Memory the system can give without swapping: MemAvailable of /proc/meminfo (Linux), else the
    free physical pages that os.sysconf reports; None where neither is known."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def transition_bytes(observation_shape, action_dim):
    """PixelReplayBuffer's bytes per transition: stack + 1 uint8 frames, float32 action, reward, flag."""
    stack, height, width = observation_shape
    return (stack + 1) * height * width + 4 * action_dim + 4 + 4


def fitting_buffer_size(requested, chosen_by_user, bytes_per_transition, available_bytes):
    """The replay buffer's capacity: the default is cut to half the available memory (and says so);
    a capacity the user chose that cannot fit in the available memory is an error, at once."""
    if available_bytes is None:
        return int(requested)
    needed, gigabyte = requested * bytes_per_transition, 1e9
    if chosen_by_user:
        if needed > available_bytes:
            raise ValueError(
                f"pixel_ddpg_agent: config 'buffer_size' {int(requested):,} needs {needed / gigabyte:.1f} GB of "
                f"replay memory, but {available_bytes / gigabyte:.1f} GB is available; lower buffer_size to at most "
                f"{int(available_bytes // bytes_per_transition):,}."
            )
        return int(requested)
    fitting = int(0.5 * available_bytes // bytes_per_transition)
    if requested <= fitting:
        return int(requested)
    size = fitting * bytes_per_transition / gigabyte
    print(
        f"pixel_ddpg_agent: replay buffer of {fitting:,} transitions ({size:.1f} GB, "
        f"half of the {available_bytes / gigabyte:.1f} GB of available memory) instead of the default "
        f"{int(requested):,}; set config['buffer_size'] to choose."
    )
    return fitting


PIXEL_DDPG_DEFAULTS = {
    **DDPG_DEFAULTS,
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


class pixel_ddpg_agent(ddpg_agent):
    """A ddpg_agent for pixel observations: the pixel networks and a PixelReplayBuffer.

    `ddpg_agent` reaches its buffer only through `self.memory` (append, sample, len), and its own
    ReplayBuffer allocates nothing before the first append, so replacing `self.memory` right after
    construction is all it takes. The config takes DDPG's keys, with PIXEL_DDPG_DEFAULTS.

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

    def __init__(self, config, value_network, policy_network):
        chosen_by_user = "buffer_size" in config
        config = dict(read_config(config, PIXEL_DDPG_DEFAULTS, "pixel_ddpg_agent"))
        action_dim = policy_network.action_scale.shape[0]
        bytes_per_transition = transition_bytes(policy_network.encoder.observation_shape, action_dim)
        # Sized before the agent reads its (then read-only) config.
        config["buffer_size"] = fitting_buffer_size(
            config["buffer_size"], chosen_by_user, bytes_per_transition, available_memory_bytes()
        )
        # DDPG reads its own keys; the pixel agent keeps the whole config, read-only as DDPG's.
        super().__init__({key: config[key] for key in DDPG_DEFAULTS}, value_network, policy_network)
        self.config = MappingProxyType(config)
        self.random_shift = int(self.config["random_shift"])
        self.pre_tanh_penalty = float(self.config["pre_tanh_penalty"])
        self.memory = PixelReplayBuffer(self.config["buffer_size"], self.device)
        self.shared_encoder = policy_network.encoder is value_network.encoder
        if self.shared_encoder:
            # The actor's optimiser gets the head only: the encoder belongs to the critic's optimiser.
            # (pi_target holds its own copy of the encoder, which soft_update keeps in step; only
            # Q_target's copy is used by the update.)
            self.pi_optimizer = torch.optim.Adam(
                self.pi.head.parameters(), lr=self.config["learning_rate"], fused=True
            )

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

        The penalty (config `pre_tanh_penalty`) matters because a tanh actor can saturate: once u is
        large, tanh'(u) is 0 in float32, no gradient reaches w, and the actor stays at its bound
        whatever the critic learns later. The penalty's gradient 2λu pulls u back, and grows with u:
        at most 0.2 for |u| < 1, 6.4 at |u| = 32. With a shared encoder the actor reads its features detached:
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
