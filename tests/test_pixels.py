"""DDPG from pixels: wrappers (action repeat, throttle axis, stuck episodes), random shifts,
convolutional networks, the uint8 frame buffer, the shared-encoder update, and CarRacing-v3 steps."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from solutions.augmentation import random_shift
from solutions.frame_buffer import PixelReplayBuffer
from solutions.pixel_ddpg import pixel_ddpg_agent
from solutions.pixel_env import ActionRepeat, ThrottleAxis, TruncateWhenStuck, make_pixel_env, resize_frame
from solutions.pixel_networks import pixel_networks, pixelPolicyNetwork, pixelQNetwork


def bytes_per_transition(action_dim):
    """5 uint8 frames of 84x84 (s and s' share 3), float32 actions, reward, terminated: 3.5 GB per 100k."""
    return 5 * 84 * 84 + action_dim * 4 + 4 + 4


class PixelSpaces:
    """CarRacing's spaces after make_pixel_env(throttle_axis=False), without the simulator: gas and
    brake in [0, 1], so the networks' bounds are not symmetric."""

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


def test_pixel_env_gives_uint8_frame_stacks_and_a_steer_throttle_action():
    env = make_pixel_env("CarRacing-v3")
    assert env.observation_space.shape == (4, 84, 84) and env.observation_space.dtype == np.uint8
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)  # (steer, throttle)
    state, _ = env.reset(seed=0)
    assert state.shape == (4, 84, 84) and state.dtype == np.uint8
    assert all(np.array_equal(state[0], frame) for frame in state)  # a reset repeats its first frame
    next_state, *_ = env.step(np.array([0.0, 1.0], np.float32))
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


def test_pixel_env_repeats_each_action_for_8_car_racing_frames():
    repeated, single = make_pixel_env("CarRacing-v3"), make_pixel_env("CarRacing-v3", action_repeat=1)
    repeated.reset(seed=0)
    single.reset(seed=0)
    action = np.array([0.3, 1.0], np.float32)
    state, reward, *_ = repeated.step(action)
    steps = [single.step(action) for _ in range(8)]  # the same 8 frames, one agent step each
    assert np.array_equal(state[-1], steps[-1][0][-1])  # the agent sees the 8th frame
    assert np.isclose(reward, sum(step[1] for step in steps))  # and gets the 8 frames' rewards
    repeated.close()
    single.close()


class PedalsEnv(gym.Env):
    """CarRacing's action space; the observation is the last action received."""

    observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)
    action_space = gym.spaces.Box(np.array([-1.0, 0.0, 0.0], np.float32), np.ones(3, np.float32))

    def reset(self, seed=None, options=None):
        return np.zeros(3, np.float32), {}

    def step(self, action):
        return np.asarray(action, np.float32), 0.0, False, False, {}


def test_throttle_axis_puts_gas_and_brake_on_one_axis():
    env = ThrottleAxis(PedalsEnv())
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    env.reset()
    pedals = {throttle: env.step(np.array([-0.5, throttle], np.float32))[0] for throttle in (0.7, -0.4, 0.0)}
    np.testing.assert_allclose(pedals[0.7], [-0.5, 0.7, 0.0])  # forward: gas, no brake
    np.testing.assert_allclose(pedals[-0.4], [-0.5, 0.0, 0.4])  # backward: brake, no gas
    np.testing.assert_allclose(pedals[0.0], [-0.5, 0.0, 0.0])  # the untrained actor's 0: neither
    with pytest.raises(ValueError, match="throttle_axis=False"):
        ThrottleAxis(CountingEnv(end=6))


class RewardsEnv(gym.Env):
    """Plays a fixed list of rewards, one per step; never terminates."""

    observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def __init__(self, rewards):
        self.rewards, self.t = rewards, 0

    def reset(self, seed=None, options=None):
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), self.rewards[self.t - 1], False, False, {}


def test_truncate_when_stuck_counts_steps_without_a_reward():
    env = TruncateWhenStuck(RewardsEnv([-0.8, -0.8, 3.0, -0.8, -0.8, -0.8, -0.8, -0.8]), patience=3)
    env.reset()
    ends = [env.step(np.zeros(1, np.float32))[2:4] for _ in range(6)]
    # A positive reward restarts the count; the third step in a row without one truncates.
    assert ends == [(False, False)] * 5 + [(False, True)]  # truncated, never terminated
    env.reset()  # a new episode starts a new count
    assert env.step(np.zeros(1, np.float32))[3] is False
    with pytest.raises(ValueError, match="positive whole number"):
        TruncateWhenStuck(RewardsEnv([]), patience=0)


def test_random_shift_moves_each_stack_by_its_own_shift_of_at_most_pad_pixels():
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (32, 4, 84, 84)).float()
    shifted = random_shift(pixels, pad=4)
    assert shifted.shape == pixels.shape
    padded = torch.nn.functional.pad(pixels, (4, 4, 4, 4), mode="replicate")
    shifts = []
    for image, original in zip(shifted, padded):
        # Each output is one 84x84 window of the padded image, the same window for the 4 frames.
        windows = {(dy, dx): original[:, dy : dy + 84, dx : dx + 84] for dy in range(9) for dx in range(9)}
        found = [shift for shift, window in windows.items() if torch.equal(image, window)]
        assert len(found) == 1
        shifts.append(found[0])
    assert len(set(shifts)) > 10  # the shifts are drawn per image, not once for the batch
    assert torch.equal(random_shift(pixels, pad=0), pixels)


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
        assert torch.allclose(Q.encoder(white), Q.encoder.trunk(Q.encoder.conv(torch.ones(2, 4, 84, 84))))


def test_buffer_stores_uint8_frames_once_and_samples_float32():
    stacks = frame_stacks(10)
    memory = PixelReplayBuffer(16)
    for t in range(10):
        memory.append(stacks[t], np.array([0.1, 0.5, 0.0], np.float32), t, stacks[t + 1], t == 9)
    frames = memory.storage["frames"]
    assert frames.dtype == torch.uint8 and frames.shape == (16, 5, 84, 84)
    assert memory.bytes_per_transition == bytes_per_transition(3)
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


def filled_agent(networks, config=None, n=100, agent_class=pixel_ddpg_agent):
    agent = agent_class({"tqdm_disable": True, "buffer_size": n, "batch_size": 8, **(config or {})}, *networks)
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


@pytest.mark.parametrize("layout", ["shared encoder", "separate encoders"])
def test_the_pixel_steps_compute_ddpgs_target_and_the_penalised_actor_loss(layout):
    torch.manual_seed(0)
    spaces = PixelSpaces()
    separate = (pixelQNetwork(spaces), pixelPolicyNetwork(spaces))
    agent = filled_agent(pixel_networks(spaces) if layout == "shared encoder" else separate)
    for _ in range(3):  # the online networks move away from the target ones
        agent.update()
    X, A, R, Y, _ = agent.memory.sample(8)
    D = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    # The equations through the networks' own forward passes: each network encodes the frames itself.
    with torch.no_grad():
        target = R + agent.gamma * (1 - D) * agent.Q_target(Y, agent.pi_target(Y))
        pre_activation = agent.pi.head(agent.pi.encoder(X))
        actor_loss = -agent.Q(X, agent.pi(X)).mean() + 0.1 * pre_activation.pow(2).mean()
    assert agent.pre_tanh_penalty == 0.1
    torch.testing.assert_close(agent.critic_target(R, Y, D), target)
    torch.testing.assert_close(agent.actor_step(X), actor_loss)


@pytest.mark.parametrize("penalty", [0.0, 0.1])
def test_a_saturated_actor_comes_back_only_with_the_pre_tanh_penalty(penalty):
    torch.manual_seed(0)
    Q, pi = pixel_networks(PixelSpaces())
    with torch.no_grad():
        pi.head[-1].bias.fill_(40.0)  # u = 40: tanh(u) is 1 in float32, its gradient 0
    agent = filled_agent((Q, pi), {"pre_tanh_penalty": penalty})
    X = agent.memory.sample(16)[0]
    before = pi.head(Q.encoder(X)).detach()
    for _ in range(20):
        agent.actor_step(X)
    after = pi.head(Q.encoder(X)).detach()
    if penalty:
        assert (after < before - 0.1).all()  # pulled back towards the range where tanh has a gradient
    else:
        torch.testing.assert_close(after, before)  # no gradient: the actor is stuck at its bound


def test_actor_step_records_the_share_of_saturated_outputs():
    """agent.history["saturation"]: the share of pre-tanh outputs beyond ±3, what car_racing.py reports."""
    torch.manual_seed(0)
    Q, pi = pixel_networks(PixelSpaces())
    agent = filled_agent((Q, pi), {"pre_tanh_penalty": 0.0})
    X = agent.memory.sample(16)[0]
    assert (pi.head(Q.encoder(X)).abs() < 3).all()  # an untrained head: nothing saturated
    agent.history.start()
    agent.actor_step(X)
    with torch.no_grad():
        pi.head[-1].bias[0] = 40.0  # the steering saturates in every state, gas and brake do not
    agent.actor_step(X)
    agent.history.record()
    assert agent.history["saturation"] == [pytest.approx((0 + 1 / 3) / 2)]  # the window's mean: 0, then 1/3


class RecordingAgent(pixel_ddpg_agent):
    """Keeps the minibatch that the update hands to the critic's and the actor's steps."""

    def critic_step(self, X, A, R, Y, D):
        self.critic_batch = (X, Y)
        return super().critic_step(X, A, R, Y, D)

    def actor_step(self, X):
        self.actor_batch = X
        return super().actor_step(X)


@pytest.mark.parametrize("shift", [0, 4])
def test_the_update_shifts_s_and_s_prime_independently_and_trains_both_steps_on_the_same_states(shift):
    torch.manual_seed(0)
    agent = filled_agent(pixel_networks(PixelSpaces()), {"random_shift": shift}, agent_class=RecordingAgent)
    agent.update()
    X, Y = agent.critic_batch
    assert agent.actor_batch is X  # the actor learns on the critic's shifted states
    overlap = [torch.equal(x[1:], y[:-1]) for x, y in zip(X, Y)]  # s' is s moved on by one frame...
    if shift == 0:
        assert all(overlap)
    else:  # ... unless the two got different shifts, as they do for most of the batch (1 in 81 alike)
        assert sum(overlap) < len(overlap) / 2


@pytest.fixture
def one_thread():
    """One torch thread: on this shared 2-core machine, two threads made this test 8 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("layout", ["separate encoders", "shared encoder"])
def test_pixel_ddpg_runs_on_car_racing_and_stores_uint8_frames(one_thread, layout):
    torch.manual_seed(0)
    env = make_pixel_env("CarRacing-v3", stuck_patience=25)  # the training environment of the benchmark
    Q, pi = (pixelQNetwork(env), pixelPolicyNetwork(env)) if layout == "separate encoders" else pixel_networks(env)
    config = {"tqdm_disable": True, "seed": 0, "buffer_size": 1000, "delay_learning": 250, "batch_size": 16}
    agent = pixel_ddpg_agent(config, Q, pi)
    assert isinstance(agent.memory, PixelReplayBuffer)
    initial = [p.clone() for p in [*Q.parameters(), *pi.parameters()]]
    agent.train(env, 300)  # 250 random steps, then 50 steps with one update each (2400 frames)
    assert len(agent.memory) == 300  # the swapped buffer is the one that was filled
    frames = agent.memory.storage["frames"]
    assert frames.dtype == torch.uint8 and frames.shape == (1000, 5, 84, 84)
    assert agent.memory.bytes_per_transition == bytes_per_transition(2)  # (steer, throttle)
    reset_state, _ = make_pixel_env("CarRacing-v3").reset(seed=0)
    assert np.array_equal(frames[0, :4].numpy(), reset_state)  # the first stored s is the reset stack
    assert all(not torch.equal(a, b) for a, b in zip(initial, [*Q.parameters(), *pi.parameters()]))
    assert all(torch.isfinite(p).all() for p in [*Q.parameters(), *pi.parameters()])
    actions = np.stack([agent.explore(env.reset(seed=1)[0]) for _ in range(50)])
    assert actions.shape == (50, 2) and all(env.action_space.contains(action) for action in actions)
    assert actions[:, 1].std() > 0.1  # noise of 0.3 on the throttle: the car can leave the start
    env.close()


def test_a_saved_pixel_run_resumes_with_the_same_updates(one_thread):
    """What benchmarks/car_racing.py saves between pieces: networks, optimisers, the uint8 buffer and
    the random streams. The resumed agent's next updates (random shifts included) equal the unbroken run's."""
    from solutions.tooling.checkpoint import restore_training_state, training_state

    config = {"tqdm_disable": True, "seed": 0, "buffer_size": 100, "delay_learning": 20, "batch_size": 8}

    def build():
        torch.manual_seed(0)
        env = make_pixel_env("CarRacing-v3", stuck_patience=25)
        return env, pixel_ddpg_agent(config, *pixel_networks(env))

    env, agent = build()
    agent.train(env, 30)
    saved = training_state(agent, env, with_buffer=True)
    for _ in range(3):  # the unbroken run goes on (the random streams are global: one run at a time)
        agent.update()
    resumed_env, resumed = build()
    restore_training_state(resumed, resumed_env, saved)
    assert resumed.env_steps == 30 and len(resumed.memory) == 30
    assert resumed.memory.storage["frames"].dtype == torch.uint8
    for _ in range(3):
        resumed.update()
    for network in ("Q", "pi", "Q_target", "pi_target"):
        for a, b in zip(getattr(agent, network).parameters(), getattr(resumed, network).parameters()):
            assert torch.equal(a, b), network
