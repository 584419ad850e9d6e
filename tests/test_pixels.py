"""DDPG from pixels: wrappers, convolutional networks, the uint8 frame buffer, and CarRacing-v3 steps."""

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from solutions.pixels import (
    PixelReplayBuffer,
    make_pixel_env,
    pixel_ddpg_agent,
    pixelPolicyNetwork,
    pixelQNetwork,
    resize_frame,
)

# Per transition: 5 uint8 frames of 84x84 (s and s' share 3), 3 float32 actions, reward, terminated.
BYTES_PER_TRANSITION = 5 * 84 * 84 + 3 * 4 + 4 + 4  # 35,300 bytes: 3.5 GB for 100k transitions


class PixelSpaces:
    """CarRacing's spaces after make_pixel_env, without the simulator."""

    observation_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    action_space = gym.spaces.Box(np.array([-1.0, 0.0, 0.0], np.float32), np.ones(3, np.float32))


def frame_stacks(n, seed=0):
    """n + 3 random frames, cut into n consecutive (4, 84, 84) uint8 stacks, as FrameStackObservation does."""
    frames = np.random.default_rng(seed).integers(0, 256, (n + 4, 84, 84), dtype=np.uint8)
    return [frames[i : i + 4] for i in range(n + 1)]


def test_resize_frame_keeps_uint8_and_averages():
    frame = np.full((96, 96), 200, np.uint8)
    frame[:, 48:] = 100
    small = resize_frame(frame, 84)
    assert small.shape == (84, 84) and small.dtype == np.uint8
    assert small[:, 0].tolist() == [200] * 84 and small[:, -1].tolist() == [100] * 84


def test_pixel_env_gives_uint8_frame_stacks():
    env = make_pixel_env("CarRacing-v3")
    assert env.observation_space.shape == (4, 84, 84) and env.observation_space.dtype == np.uint8
    state, _ = env.reset(seed=0)
    assert state.shape == (4, 84, 84) and state.dtype == np.uint8
    assert all(np.array_equal(state[0], frame) for frame in state)  # a reset repeats its first frame
    next_state, *_ = env.step(np.array([0.0, 1.0, 0.0], np.float32))
    assert np.array_equal(next_state[:-1], state[1:])  # one new frame per step
    env.close()


def test_networks_give_the_right_shapes_and_bounded_actions():
    env = PixelSpaces()
    Q, pi = pixelQNetwork(env), pixelPolicyNetwork(env)
    with torch.no_grad():
        pi.head[-1].weight.mul_(1e3)  # saturate tanh: the bounds must still hold
        states = torch.randint(0, 256, (8, 4, 84, 84), dtype=torch.uint8)
        actions = pi(states)
        assert actions.shape == (8, 3) and Q(states, actions).shape == (8,)
        low, high = torch.tensor([-1.0, 0.0, 0.0]), torch.tensor([1.0, 1.0, 1.0])
        assert ((actions >= low) & (actions <= high)).all()
        # One stack alone, and uint8 or float32 pixel values: the networks scale 0..255 themselves.
        assert pi(states[0]).shape == (3,) and Q(states[0], actions[0]).shape == ()
        assert torch.allclose(pi(states.float()), actions) and torch.allclose(pi(states[0]), actions[0])
        assert torch.allclose(Q(states.float(), actions), Q(states, actions))
        white = torch.full((2, 4, 84, 84), 255, dtype=torch.uint8)  # 255 enters the convolutions as 1.0
        assert torch.allclose(Q.encoder(white), Q.encoder.conv(torch.ones(2, 4, 84, 84)))


def test_buffer_stores_uint8_frames_once_and_samples_float32():
    stacks = frame_stacks(10)
    memory = PixelReplayBuffer(16)
    for t in range(10):
        memory.append(stacks[t], np.array([0.1, 0.5, 0.0], np.float32), t, stacks[t + 1], t == 9)
    frames = memory.storage["frames"]
    assert frames.dtype == torch.uint8 and frames.shape == (16, 5, 84, 84)
    assert memory.bytes_per_transition == BYTES_PER_TRANSITION
    assert np.array_equal(frames[3, :4].numpy(), stacks[3])
    assert np.array_equal(frames[3, 1:].numpy(), stacks[4])
    X, A, R, Y, D = memory.sample(10)
    assert X.shape == Y.shape == (10, 4, 84, 84) and A.shape == (10, 3) and R.shape == D.shape == (10,)
    assert all(tensor.dtype == torch.float32 for tensor in (X, A, R, Y, D))
    assert X.max() > 1 and X.max() <= 255  # pixel values, not scaled: the networks scale
    assert torch.equal(X[:, 1:], Y[:, :-1])
    for x, r, y, d in zip(X, R, Y, D):  # each sample is one stored transition, whole
        t = int(r)
        assert np.array_equal(x.numpy(), stacks[t]) and np.array_equal(y.numpy(), stacks[t + 1])
        assert d == float(t == 9)


def test_buffer_refuses_what_it_cannot_store():
    stacks = frame_stacks(2)
    memory = PixelReplayBuffer(4)
    with pytest.raises(TypeError, match="uint8"):
        memory.append(stacks[0].astype(np.float32), np.zeros(3), 0.0, stacks[1].astype(np.float32), False)
    with pytest.raises(ValueError, match="shifted by one frame"):
        memory.append(stacks[0], np.zeros(3), 0.0, stacks[2], False)


@pytest.fixture
def one_thread():
    """One torch thread: on this shared 2-core machine, two threads made this test 8 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_pixel_ddpg_runs_on_car_racing_and_stores_uint8_frames(one_thread):
    start = time.perf_counter()
    torch.manual_seed(0)
    env = make_pixel_env("CarRacing-v3")
    Q, pi = pixelQNetwork(env), pixelPolicyNetwork(env)
    config = {"tqdm_disable": True, "seed": 0, "buffer_size": 1000, "delay_learning": 250, "batch_size": 16}
    agent = pixel_ddpg_agent(config, Q, pi)
    assert isinstance(agent.memory, PixelReplayBuffer)
    initial = [p.clone() for p in [*Q.parameters(), *pi.parameters()]]
    agent.train(env, 300)  # 250 random steps, then 50 steps with one update each
    assert len(agent.memory) == 300  # the swapped buffer is the one that was filled
    frames = agent.memory.storage["frames"]
    assert frames.dtype == torch.uint8 and frames.shape == (1000, 5, 84, 84)
    assert agent.memory.bytes_per_transition == BYTES_PER_TRANSITION
    reset_state, _ = make_pixel_env("CarRacing-v3").reset(seed=0)
    assert np.array_equal(frames[0, :4].numpy(), reset_state)  # the first stored s is the reset stack
    assert all(not torch.equal(a, b) for a, b in zip(initial, [*Q.parameters(), *pi.parameters()]))
    assert all(torch.isfinite(p).all() for p in [*Q.parameters(), *pi.parameters()])
    action = agent.explore(env.reset(seed=1)[0])
    assert action.shape == (3,) and env.action_space.contains(action)
    env.close()
    assert time.perf_counter() - start < 60
