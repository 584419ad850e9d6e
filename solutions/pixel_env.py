"""CarRacing-v3 as a pixel agent sees it: which actions it takes, and which observations it gets.

DDPG from pixels starts with the environment. CarRacing-v3 shows 96x96 RGB frames; as in DQN on Atari
(Mnih et al., 2015), the wrappers below turn them into what a convolutional network can learn from,
and change what it takes for the car to drive:

1. Actions: steering, gas and brake, with gas and brake on one axis (`ThrottleAxis`), so that the
   untrained actor neither brakes nor accelerates. Training episodes end after 25 agent steps
   without a reward (`TruncateWhenStuck`, set by whoever builds the training environment).
2. Observations: each action is repeated for 8 frames (`ActionRepeat`), then the last frame is
   turned grey, resized to 84x84, and stacked with the 3 before it, so that one observation is a
   (4, 84, 84) uint8 array and velocities can be read off the stack. `make_pixel_env` applies
   gymnasium's GrayscaleObservation and FrameStackObservation. Resizing uses TransformObservation
   with a torch resize, not gymnasium's ResizeObservation, which needs OpenCV (gymnasium[other],
   not a dependency of this package).

The action repeat is one of the two things that make DDPG from pixels affordable on a CPU: the agent
decides, and learns, once every 8 frames instead of every frame (the other is the shared encoder of
solutions/pixel_networks.py).
"""

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.wrappers import FrameStackObservation, GrayscaleObservation, TransformObservation


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
