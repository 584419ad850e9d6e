"""The convolutional critic and actor of DDPG from pixels: QNetwork and policyNetwork for frame stacks.

Both networks read a (4, 84, 84) stack of frames (solutions/pixel_env.py) with a Nature-DQN encoder
(three convolutions) and DrQ-v2's trunk (a linear layer to 50 features, LayerNorm, tanh), then a fully
connected head. The networks take pixel values in [0, 255], of any dtype (uint8 from the environment,
float32 from the buffer), and scale them to [0, 1] themselves: whoever calls them never scales.

`pixel_networks` builds a critic and an actor that share one encoder, trained by the critic's loss
alone (see `pixel_ddpg_agent` in solutions/pixel_ddpg.py). The shared encoder is one of the two things
that make DDPG from pixels affordable on a CPU: 3 encoder passes per update instead of 5 (the other is
the action repeat of solutions/pixel_env.py).
"""

import torch
import torch.nn as nn

from solutions.networks import mlp
from solutions.validation import check_network_spaces


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
