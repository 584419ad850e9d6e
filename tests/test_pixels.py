"""DDPG from pixels: wrappers, convolutional networks, the uint8 frame buffer, the shared-encoder
update, and CarRacing-v3 steps."""

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from solutions.pixels import (
    ActionRepeat,
    PixelReplayBuffer,
    make_pixel_env,
    pixel_ddpg_agent,
    pixel_networks,
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


class CountingEnv(gym.Env):
    """Observation = number of steps taken; reward 1 per step; terminated at step `end`."""

    observation_space = gym.spaces.Box(0, 100, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def __init__(self, end):
        self.end, self.t = end, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t == self.end, False, {}


def test_action_repeat_sums_rewards_and_stops_when_the_episode_ends():
    env = ActionRepeat(CountingEnv(end=6), 4)
    env.reset()
    observation, reward, terminated, *_ = env.step(np.zeros(1, np.float32))
    assert observation[0] == 4 and reward == 4.0 and not terminated  # 4 frames, their rewards summed
    observation, reward, terminated, *_ = env.step(np.zeros(1, np.float32))
    assert observation[0] == 6 and reward == 2.0 and terminated  # the episode ended after 2 more frames
    with pytest.raises(ValueError, match="positive whole number"):
        ActionRepeat(CountingEnv(end=6), 0)


def test_pixel_env_repeats_each_action_for_4_car_racing_frames():
    repeated, single = make_pixel_env("CarRacing-v3"), make_pixel_env("CarRacing-v3", action_repeat=1)
    repeated.reset(seed=0)
    single.reset(seed=0)
    action = np.array([0.3, 1.0, 0.0], np.float32)
    state, reward, *_ = repeated.step(action)
    steps = [single.step(action) for _ in range(4)]  # the same 4 frames, one agent step each
    assert np.array_equal(state[-1], steps[-1][0][-1])  # the agent sees the 4th frame
    assert np.isclose(reward, sum(step[1] for step in steps))  # and gets the 4 frames' rewards
    repeated.close()
    single.close()


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


def filled_agent(networks, config=None, n=100):
    agent = pixel_ddpg_agent({"tqdm_disable": True, "buffer_size": n, "batch_size": 8, **(config or {})}, *networks)
    stacks = frame_stacks(n)
    for t in range(n):
        agent.memory.append(stacks[t], np.array([0.0, 0.5, 0.5], np.float32), float(t % 3), stacks[t + 1], False)
    return agent


def test_pixel_networks_share_one_encoder_and_the_actor_trains_its_head_only():
    torch.manual_seed(0)
    Q, pi = pixel_networks(PixelSpaces())
    assert pi.encoder is Q.encoder
    agent = filled_agent((Q, pi))
    assert agent.shared_encoder
    trained_by_actor = {id(p) for group in agent.pi_optimizer.param_groups for p in group["params"]}
    assert trained_by_actor == {id(p) for p in pi.head.parameters()}
    # With the critic's step size at 0, only the actor's loss can move anything: the encoder and
    # the critic's head must stay put, the actor's head must move.
    for group in agent.Q_optimizer.param_groups:
        group["lr"] = 0.0
    encoder, critic_head, actor_head = (
        [p.clone() for p in module.parameters()] for module in (Q.encoder, Q.head, pi.head)
    )
    agent.update()
    assert all(torch.equal(a, b) for a, b in zip(encoder, Q.encoder.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(critic_head, Q.head.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(actor_head, pi.head.parameters()))


def encoder_passes(agent):
    """How many times one update runs an encoder forward (online or target, actor or critic)."""
    calls = []
    networks = (agent.Q, agent.pi, agent.Q_target, agent.pi_target)
    encoders = {id(net.encoder): net.encoder for net in networks}.values()
    hooks = [encoder.register_forward_hook(lambda *_: calls.append(1)) for encoder in encoders]
    agent.update()
    for hook in hooks:
        hook.remove()
    return len(calls)


def test_the_shared_encoder_update_runs_the_convolutions_3_times_instead_of_5():
    torch.manual_seed(0)
    env = PixelSpaces()
    assert encoder_passes(filled_agent((pixelQNetwork(env), pixelPolicyNetwork(env)))) == 5
    assert encoder_passes(filled_agent(pixel_networks(env))) == 3


def test_the_shared_encoder_update_moves_every_trained_parameter():
    torch.manual_seed(0)
    Q, pi = pixel_networks(PixelSpaces())
    agent = filled_agent((Q, pi))
    before = [p.clone() for p in [*Q.parameters(), *pi.head.parameters()]]
    target_before = [p.clone() for p in agent.Q_target.parameters()]
    for _ in range(3):
        agent.update()
    assert all(not torch.equal(a, b) for a, b in zip(before, [*Q.parameters(), *pi.head.parameters()]))
    assert all(not torch.equal(a, b) for a, b in zip(target_before, agent.Q_target.parameters()))
    assert all(torch.isfinite(p).all() for p in [*Q.parameters(), *pi.parameters()])


def test_the_shared_encoder_steps_compute_ddpgs_target_and_actor_loss():
    torch.manual_seed(0)
    agent = filled_agent(pixel_networks(PixelSpaces()))
    for _ in range(3):  # the online networks move away from the target ones
        agent.update()
    X, A, R, Y, _ = agent.memory.sample(8)
    D = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    # The equations through the networks' own forward passes: each network encodes the frames itself.
    with torch.no_grad():
        target = R + agent.gamma * (1 - D) * agent.Q_target(Y, agent.pi_target(Y))
        actor_loss = -agent.Q(X, agent.pi(X)).mean()
    torch.testing.assert_close(agent.critic_target(R, Y, D), target)
    torch.testing.assert_close(agent.actor_step(X), actor_loss)


@pytest.fixture
def one_thread():
    """One torch thread: on this shared 2-core machine, two threads made this test 8 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("layout", ["separate encoders", "shared encoder"])
def test_pixel_ddpg_runs_on_car_racing_and_stores_uint8_frames(one_thread, layout):
    start = time.perf_counter()
    torch.manual_seed(0)
    env = make_pixel_env("CarRacing-v3")
    Q, pi = (pixelQNetwork(env), pixelPolicyNetwork(env)) if layout == "separate encoders" else pixel_networks(env)
    config = {"tqdm_disable": True, "seed": 0, "buffer_size": 1000, "delay_learning": 250, "batch_size": 16}
    agent = pixel_ddpg_agent(config, Q, pi)
    assert isinstance(agent.memory, PixelReplayBuffer)
    initial = [p.clone() for p in [*Q.parameters(), *pi.parameters()]]
    agent.train(env, 300)  # 250 random steps, then 50 steps with one update each (1200 frames)
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
