"""Checks for notebook 1 (DPG and DDPG): the critic, the actor, the replay buffer, the agent."""

from copy import deepcopy
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from solutions import networks, pixels
from solutions.checks.common import (
    ACT_DIM,
    BATCH,
    BIAS,
    DDPG_CONFIG,
    DONE_NOT_NEGATED,
    HIDDEN,
    HIGH,
    LOW,
    MISSING_DONE,
    MISSING_GAMMA,
    NOT_DETACHED,
    OBS_DIM,
    SCALE,
    Failure,
    NotJudged,
    Report,
    changed,
    check_actor_step,
    check_critic_step,
    check_detached,
    check_explore,
    check_scale_and_bias,
    check_soft_update,
    check_target_copies,
    check_train,
    check_within_bounds,
    compare_target,
    fake_env,
    fixed_batch,
    isolated,
    numbers,
    perturb,
    require_attributes,
    shape,
    snapshot,
    tensor,
    transition,
)

# ---------------------------------------------------------------------------------------------
# QNetwork
# ---------------------------------------------------------------------------------------------


@isolated
def check_q_network(QNetwork):
    """Check a critic class: QNetwork(env), and forward(state, action) -> Q-values."""
    report, name = Report(QNetwork), getattr(QNetwork, "__name__", "QNetwork")
    Q = report.build(f"{name}(env) builds", lambda: QNetwork(fake_env()), f"{name}.__init__")
    if Q is None:
        return False
    forward = f"{name}.forward"
    S, A = torch.randn(5, OBS_DIM), BIAS + SCALE * torch.rand(5, ACT_DIM)

    @report.check("Q(s, a) for a batch has shape (B,)", forward)
    def batch_shape():
        out = tensor(Q(S, A), "Q(s, a)", forward)
        if out.shape == (5, 1):
            return (
                "shape (B, 1) accepted; the reference returns (B,) with squeeze(-1) in forward, because "
                "(B, 1) - (B,) broadcasts to (B, B) in a loss"
            )
        if out.shape != (5,):
            raise Failure(
                f"for a batch of 5 pairs, Q(s, a) has shape {shape(out)}, expected (5,)",
                "the last layer does not output one value, or state and action are not concatenated "
                "along the last dimension",
                forward,
            )

    on_error = "torch.cat([state, action], dim=1) works only for batches: concatenate along dim=-1"

    @report.check("Q(s, a) for one pair is a single value", forward, on_error)
    def one_pair():
        out = tensor(Q(S[0], A[0]), "Q(s, a)", forward)
        if out.shape == (1,):
            return "shape (1,) accepted for one pair; the reference returns a 0-d tensor"
        if out.shape != ():
            raise Failure(f"for one pair, Q(s, a) has shape {shape(out)}", on_error, forward)

    @report.check("Q(s, a) is float32", forward)
    def dtype():
        if Q(S, A).dtype != torch.float32:
            raise Failure(f"Q(s, a) has dtype {Q(S, A).dtype}", "a conversion to float64 in forward", forward)

    @report.check("gradients reach every parameter", forward)
    def gradients():
        if not list(Q.parameters()):
            raise Failure(
                "the network has no parameters",
                "layers kept in a plain Python list (use nn.Sequential or nn.ModuleList) or built in forward",
                f"{name}.__init__",
            )
        Q.zero_grad(set_to_none=True)
        Q(S, A).sum().backward()
        dead = [n for n, p in Q.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        if dead:
            raise Failure(
                f"no gradient reaches {', '.join(dead)}",
                "a layer defined in __init__ but not used in forward, or a .detach(), .item() or NumPy "
                "conversion inside forward",
                forward,
            )

    for varied in ("action", "state"):

        @report.check(f"Q(s, a) depends on the {varied}", forward)
        def depends(varied=varied):
            with torch.no_grad():
                if varied == "action":
                    other = Q(S, BIAS + SCALE * torch.rand(5, ACT_DIM))
                else:
                    other = Q(torch.randn(5, OBS_DIM), A)
                if torch.allclose(Q(S, A), other, atol=1e-7):
                    raise Failure(
                        f"Q(s, a) did not change when the {varied} changed",
                        f"the {varied} is not fed to the network: use torch.cat([state, action], dim=-1)",
                        forward,
                    )

    return report.all_passed


# ---------------------------------------------------------------------------------------------
# policyNetwork
# ---------------------------------------------------------------------------------------------


@isolated
def check_policy_network(policyNetwork):
    """Check a deterministic actor class: policyNetwork(env), and forward(state) -> action."""
    report, name = Report(policyNetwork), getattr(policyNetwork, "__name__", "policyNetwork")
    pi = report.build(f"{name}(env) builds", lambda: policyNetwork(fake_env()), f"{name}.__init__")
    if pi is None:
        return False
    forward = f"{name}.forward"
    large_inputs = 1000 * torch.randn(1024, OBS_DIM)  # they saturate tanh

    for label, states, expected in (
        ("one observation", torch.randn(OBS_DIM), (ACT_DIM,)),
        ("a batch", torch.randn(5, OBS_DIM), (5, ACT_DIM)),
    ):

        @report.check(f"π(s) for {label} has shape {expected}", forward)
        def shapes(states=states, expected=expected):
            out = tensor(pi(states), "π(s)", forward)
            if out.shape != expected:
                raise Failure(
                    f"π(s) has shape {shape(out)}, expected {expected}",
                    "the last layer does not output action_dim values, or a reshape / squeeze in forward",
                    forward,
                )
            if out.dtype != torch.float32:
                raise Failure(f"π(s) has dtype {out.dtype}", "a conversion to float64 in forward", forward)

    @report.check("actions stay within [low, high] on an asymmetric action space", forward)
    def within_bounds():
        with torch.no_grad():
            check_within_bounds(pi(large_inputs), f"{forward} and action_scale, action_bias in __init__")

    @report.check("actions cover the range: saturating inputs reach near low and high", forward)
    def covers_range():
        margin = 0.02 * (HIGH - LOW)

        def reached(highest, lowest):
            return np.all(highest >= HIGH - margin) and np.all(lowest <= LOW + margin)

        with torch.no_grad():
            actions = pi(large_inputs).numpy()
        if np.any(actions < LOW - 1e-5) or np.any(actions > HIGH + 1e-5):
            raise NotJudged("not judged while actions leave the bounds (see the FAIL on the bounds)")
        if reached(actions.max(0), actions.min(0)):
            return
        # A randomly initialised network may give one sign only on some dimension, whatever the
        # input. Then push a copy of it toward the bounds: half the states up, half down.
        copy, states = deepcopy(pi), torch.randn(64, OBS_DIM)
        optimizer = torch.optim.Adam(copy.parameters(), lr=1e-2)
        for _ in range(100):
            actions = copy(states)
            up, down = actions[:32], actions[32:]
            if reached(up.detach().numpy().max(0), down.detach().numpy().min(0)):
                return
            optimizer.zero_grad()
            (down.mean() - up.mean()).backward()
            optimizer.step()
        raise Failure(
            f"for saturating inputs, and after 100 gradient steps toward the bounds, actions stay within "
            f"{numbers(down.detach().min(0).values)} to {numbers(up.detach().max(0).values)}, not near "
            f"low = {numbers(LOW)} and high = {numbers(HIGH)}",
            "the output does not cover the action range: tanh applied twice, a scale smaller than "
            "(high - low) / 2, or a sigmoid instead of tanh",
            forward,
        )

    @report.check("gradients reach every parameter", forward)
    def gradients():
        pi.zero_grad(set_to_none=True)
        pi(torch.randn(5, OBS_DIM)).sum().backward()
        dead = [n for n, p in pi.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        if dead or not list(pi.parameters()):
            raise Failure(
                f"no gradient reaches {', '.join(dead) or 'any parameter'}",
                "a layer defined but not used in forward, layers kept in a Python list, or a .detach()",
                forward,
            )

    check_scale_and_bias(report, pi, name)
    return report.all_passed


# ---------------------------------------------------------------------------------------------
# ReplayBuffer
# ---------------------------------------------------------------------------------------------


@isolated
def check_replay_buffer(ReplayBuffer):
    """Check a replay buffer class: ReplayBuffer(capacity, device), append, sample and len."""
    report, name = Report(ReplayBuffer), getattr(ReplayBuffer, "__name__", "ReplayBuffer")
    append, sample = f"{name}.append", f"{name}.sample"

    def filled(capacity, count):
        buffer = ReplayBuffer(capacity, "cpu")
        for i in range(count):
            buffer.append(*transition(i))
        return buffer

    def ids(batch):
        """The number of each sampled transition, read from its state."""
        return torch.as_tensor(batch[0])[:, 0]

    on_error = "a float capacity such as 1e3 used as a size or an index: convert it with int(capacity)"

    @report.check("ReplayBuffer(1e3, device) accepts a float capacity", f"{name}.__init__", on_error)
    def float_capacity():
        buffer = filled(1e3, 1003)
        if len(buffer) != 1000:
            raise Failure(
                f"ReplayBuffer(1e3) holds {len(buffer)} transitions after 1003 appends, expected 1000",
                "the capacity 1e3, a float, is not turned into an int (int(capacity)), or not enforced",
                f"{name}.__init__ and append",
            )
        buffer.sample(4)

    @report.check("len() counts the stored transitions", f"{name}.__len__")
    def length():
        buffer, counts = ReplayBuffer(10, "cpu"), []
        for i in range(13):
            counts.append(len(buffer))
            buffer.append(*transition(i))
        if counts != [*range(11), 10, 10]:
            raise Failure(
                f"len() gave {counts} after 0 to 12 appends, with capacity 10",
                "__len__ counts something else than the stored transitions (at most capacity)",
                f"{name}.__len__",
            )

    @report.check("sample gives float32 tensors X (B, obs), A (B, act), R (B,), Y (B, obs), D (B,)", sample)
    def shapes_and_dtypes():
        expected = {"X": (8, OBS_DIM), "A": (8, ACT_DIM), "R": (8,), "Y": (8, OBS_DIM), "D": (8,)}
        for label, value in zip(expected, filled(100, 20).sample(8), strict=True):
            tensor(value, label, sample)
            if tuple(value.shape) != expected[label]:
                mistake = "the rows are stacked in the wrong way"
                if value.shape[-1:] == (1,) and value.dim() == 2:
                    mistake = "a trailing dimension of 1: shape (B, 1) broadcasts with Q-values (B,) into (B, B)"
                raise Failure(f"{label} has shape {tuple(value.shape)}, expected {expected[label]}", mistake, sample)
            if value.dtype != torch.float32:
                raise Failure(
                    f"{label} has dtype {value.dtype}",
                    "environments give float64 arrays and bools: convert with dtype=torch.float32 "
                    "(float64 inputs to float32 networks raise an error, and 1 - D fails on bools)",
                    f"{append} or sample",
                )

    @report.check("each sampled row is one stored transition", sample)
    def rows_consistent():
        buffer = filled(100, 40)
        for _ in range(5):
            X, A, R, Y, D = (torch.as_tensor(value).float() for value in buffer.sample(16))
            # Rows never written (all zeros) are judged by the property on sampling more than stored.
            written = (X.abs().sum(-1) + Y.abs().sum(-1)) > 0
            X, A, R, Y, D = X[written], A[written], R.reshape(-1)[written], Y[written], D.reshape(-1)[written]
            i, wrong = X[:, 0], []
            if not torch.allclose(A, torch.stack([i / 100, -i / 100], dim=1), atol=1e-6):
                wrong.append("A")
            if not torch.allclose(R.reshape(-1), i):
                wrong.append("R")
            if not torch.allclose(Y, X + 0.5):
                wrong.append("Y")
            terminal = (i % 3 == 0).float()
            if not (torch.equal(D.reshape(-1), terminal) or torch.equal(D.reshape(-1), 1 - terminal)):
                wrong.append("D")
            if wrong:
                raise Failure(
                    f"in sampled rows, {', '.join(wrong)} do not belong to the same transition as X",
                    "X, A, R, Y, D drawn with different random indices, or fields stored in another order "
                    "than append(s, a, r, s', terminated): draw one set of indices and gather every field "
                    "with it",
                    f"{sample} and append",
                )

    @report.check("terminated is stored as given (truncation is not termination)", append)
    def terminated_as_given():
        for flag in (True, False):
            buffer = ReplayBuffer(30, "cpu")
            for i in range(30):
                state, action, reward, next_state, _ = transition(i)
                buffer.append(state, action, reward, next_state, flag)
            D = torch.as_tensor(buffer.sample(30)[4]).float().reshape(-1)
            if torch.all(D == float(flag)):
                continue
            if torch.all(D == 1 - float(flag)):
                mistake = (
                    "the buffer stores 1 - terminated (a 'not done' mask); store terminated as given, the "
                    "agents compute (1 - D) themselves"
                )
            elif torch.all(D == 0):
                mistake = "terminated is not stored (D is always 0)"
            else:
                mistake = "terminated is stored altered, or sampled from other rows than the states"
            raise Failure(
                f"after appending only terminated={flag} transitions, D holds {numbers(D.unique())}",
                f"{mistake}. Append `terminated`, never `terminated or truncated`: a time-limit "
                "truncation is not the end of the MDP",
                append,
            )

    @report.check("past capacity, the newest transitions replace the oldest", append)
    def wraps_around():
        buffer = filled(10, 25)
        if len(buffer) != 10:
            raise Failure(
                f"after 25 appends with capacity 10, len() = {len(buffer)}",
                "the buffer grows past its capacity, or len() counts the appends",
                append,
            )
        seen = {int(i) for _ in range(30) for i in ids(buffer.sample(10)).tolist()}
        if seen != set(range(15, 25)):
            if seen <= set(range(10)):
                mistake = "appending stops at capacity: the newest transitions are dropped, not the oldest"
            else:
                mistake = "the write index does not wrap around to 0 at capacity (a ring buffer)"
            raise Failure(
                f"with capacity 10 and transitions 0 to 24 appended, samples hold {sorted(seen)}, expected 15 to 24",
                mistake,
                append,
            )

    @report.check("sampling more than stored raises an error", sample)
    def too_many():
        buffer = filled(100, 5)
        try:
            buffer.sample(6)
        except Exception:
            return
        raise Failure(
            "sample(6) with 5 transitions stored returned a batch",
            "sample does not check the size, and returns rows never written (zeros) or repeats: raise a "
            "ValueError that says how many transitions are stored",
            sample,
        )

    @report.check("sample draws rows at random", sample)
    def random_rows():
        buffer = filled(100, 100)
        batches = [ids(buffer.sample(16)) for _ in range(20)]
        distinct = len(set(torch.cat(batches).tolist()))
        if torch.equal(batches[0], batches[1]) or distinct < 60:
            raise Failure(
                f"20 samples of 16 out of 100 transitions drew only {distinct} distinct transitions",
                "rows are not drawn uniformly at random among all stored transitions (e.g. always the "
                "first or the last rows)",
                sample,
            )

    return report.all_passed


# ---------------------------------------------------------------------------------------------
# DDPG
# ---------------------------------------------------------------------------------------------


@isolated
def check_ddpg_agent(ddpg_agent):
    """Check a DDPG agent class: ddpg_agent(config, Q, pi), with small reference networks."""
    report, env = Report(ddpg_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau = DDPG_CONFIG["gamma"], DDPG_CONFIG["tau"]

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        config = {**DDPG_CONFIG, **(overrides or {})}
        agent = ddpg_agent(config, networks.QNetwork(env, HIDDEN), networks.policyNetwork(env, HIDDEN))
        if shifted:  # the online networks differ from the targets: using the wrong ones shows
            perturb(agent.Q, 2)
            perturb(agent.pi, 3)
        return agent

    @report.check("ddpg_agent(config, Q, pi) builds, with target copies Q_target and pi_target", "__init__")
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q", "pi", "Q_target", "pi_target"))
        check_target_copies(agent, (("Q_target", "Q"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    @report.check("critic_target = r + γ (1 - terminated) Q'(s', π'(s')) on a hand-built batch", "critic_target")
    def target_value():
        agent = make()
        Q_target, pi_target, Q, pi = (deepcopy(getattr(agent, n)) for n in ("Q_target", "pi_target", "Q", "pi"))
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            next_q = Q_target(Y, pi_target(Y))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                DONE_NOT_NEGATED: R + gamma * D * next_q,
                "the online networks Q and π are used instead of the targets Q' and π'": (
                    R + gamma * (1 - D) * Q(Y, pi(Y))
                ),
                "the online critic Q is used instead of the target critic Q'": (
                    R + gamma * (1 - D) * Q(Y, pi_target(Y))
                ),
                "the online actor π is used instead of the target actor π'": (R + gamma * (1 - D) * Q_target(Y, pi(Y))),
                MISSING_GAMMA: R + (1 - D) * next_q,
            }
        compare_target(y, R + gamma * (1 - D) * next_q, variants, "r + γ (1 - terminated) Q'(s', π'(s'))")

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes θ only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q",), ("pi", "Q_target", "pi_target"))

    @report.check("critic_step lowers (Q(s, a) - y)² on the batch", "critic_step")
    def critic_step_lowers_loss():
        agent = make()
        with torch.no_grad():
            y = agent.critic_target(R, Y, D)
            before = F.mse_loss(agent.Q(X, A), y).item()
        agent.critic_step(X, A, R, Y, D)
        with torch.no_grad():
            after = F.mse_loss(agent.Q(X, A), y).item()
        if not after < before:
            raise Failure(
                f"the critic loss mean (Q(s, a) - y)² on the batch went from {before:.4f} to {after:.4f}",
                "gradient ascent (a loss with the wrong sign), or a loss that is not the mean squared error "
                "between Q(s, a) and y",
                "critic_step",
            )

    @report.check("actor_step changes w only, and leaves the critic's parameters unchanged", "actor_step")
    def actor_step_moves_w():
        return check_actor_step(make(), X, ("Q",), ("Q_target", "pi_target"))

    @report.check("actor_step increases Q(s, π(s)) (its loss is -mean Q)", "actor_step")
    def actor_step_raises_q():
        agent = make()
        with torch.no_grad():
            before = agent.Q(X, agent.pi(X)).mean().item()
        agent.actor_step(X)
        with torch.no_grad():
            after = agent.Q(X, agent.pi(X)).mean().item()
        if not after > before:
            raise Failure(
                f"mean Q(s, π(s)) on the batch went from {before:.4f} to {after:.4f}",
                "the actor loss must be -mean Q(s, π(s)), so that descent on it is ascent on Q: +Q or "
                "MSE(Q) pushes the actor toward lower values",
                "actor_step",
            )

    @report.check("soft_update: θ' ← τ θ + (1 - τ) θ' and w' ← τ w + (1 - τ) w'", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q_target", "Q"), ("pi_target", "pi")), tau)

    @report.check("explore gives a noisy NumPy action within the bounds", "explore")
    def explore():
        check_explore(make({"exploration_noise": 10.0}))

    check_train(report, lambda overrides: make(overrides, shifted=False))
    return report.all_passed


# ---------------------------------------------------------------------------------------------
# DDPG from pixels (section 7)
# ---------------------------------------------------------------------------------------------

FRAMES, SIDE = 4, 84  # a stack of 4 grey 84x84 frames, as make_pixel_env gives


def fake_pixel_env():
    return SimpleNamespace(
        observation_space=gym.spaces.Box(0, 255, (FRAMES, SIDE, SIDE), np.uint8),
        action_space=gym.spaces.Box(LOW, HIGH, dtype=np.float32),
    )


@isolated
def check_pixel_ddpg_agent(pixel_ddpg_agent):
    """Check a pixel DDPG agent class: pixel_ddpg_agent(config, Q, pi), with the reference
    pixel_networks (one encoder shared by Q and pi) on fake 4x84x84 uint8 observations."""
    report, env = Report(pixel_ddpg_agent), fake_pixel_env()
    g = torch.Generator().manual_seed(4)
    X = torch.randint(0, 256, (BATCH, FRAMES, SIDE, SIDE), generator=g).float()
    Y = torch.cat([X[:, 1:], torch.randint(0, 256, (BATCH, 1, SIDE, SIDE), generator=g).float()], dim=1)
    _, A, R, _, D = fixed_batch()
    gamma = DDPG_CONFIG["gamma"]

    def make(overrides=None):
        torch.manual_seed(1)
        Q, pi = pixels.pixel_networks(env, hidden_size=16)
        return pixel_ddpg_agent({**DDPG_CONFIG, **(overrides or {})}, Q, pi)

    @report.check("pixel_ddpg_agent(config, Q, pi) builds, with target copies Q_target and pi_target", "__init__")
    def builds():
        agent = make()
        require_attributes(agent, ("Q", "pi", "Q_target", "pi_target", "memory"))
        check_target_copies(agent, (("Q_target", "Q"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    @report.check("critic_target = r + γ (1 - terminated) Q'(s', π'(s')) on pixel states", "critic_target")
    def target_value():
        agent = make()
        perturb(agent.Q, 2)
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            next_q = agent.Q_target(Y, agent.pi_target(Y))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                "the online networks Q and π are used instead of the targets Q' and π'": (
                    R + gamma * (1 - D) * agent.Q(Y, agent.pi(Y))
                ),
            }
        compare_target(y, R + gamma * (1 - D) * next_q, variants, "r + γ (1 - terminated) Q'(s', π'(s'))")
        if tensor(y, "the target y", "critic_target").requires_grad:
            raise Failure("the target y carries a graph", NOT_DETACHED, "critic_target")

    @report.check("critic_step changes the critic (and the encoder), not the targets", "critic_step")
    def critic_step():
        check_critic_step(make(), (X, A, R, Y, D), ("Q",), ("Q_target", "pi_target"))

    @report.check("actor_step changes the actor, and neither the critic nor the shared encoder", "actor_step")
    def actor_step():
        agent = make()
        before = snapshot(agent.Q)
        note = None
        try:
            note = check_actor_step(agent, X, ("Q",), ("Q_target", "pi_target"))
        except Failure as failure:
            if not changed(before, agent.Q):
                raise
            raise Failure(
                failure.seen,
                "the actor's step moved the critic's parameters, the shared encoder's most likely: give the "
                "actor's optimiser the actor's own layers only (the encoder is trained by the critic's loss), "
                "and feed the actor the encoder's features detached",
                "actor_step and the optimizers in __init__",
            ) from None
        return note

    @report.check("the buffer stores frames as uint8, the 5 frames of s and s' once", "memory.append")
    def frames_as_uint8():
        agent = make()
        rng = np.random.default_rng(0)
        frames = rng.integers(0, 256, (4, FRAMES + 1, SIDE, SIDE), dtype=np.uint8)
        for stack in frames:
            agent.memory.append(stack[:-1], A[0].numpy(), 1.0, stack[1:], False)
        X_, *_ = agent.memory.sample(2)
        values = torch.as_tensor(X_).float()
        if values.max() <= 1.0 + 1e-6:
            raise Failure(
                "sampled states lie in [0, 1]",
                "the buffer divides by 255: the reference networks take pixel values in [0, 255] and scale "
                "them themselves",
                "sample",
            )
        largest = (FRAMES + 1) * SIDE * SIDE + 4 * (ACT_DIM + 2)  # 5 uint8 frames, then float32 a, r, d
        per_transition = agent.memory.bytes_per_transition
        if per_transition > largest:
            mistake = "s and s' are stored as two stacks: they share all but one frame, store 5 frames"
            if per_transition >= 4 * FRAMES * SIDE * SIDE:
                mistake = "the frames are stored as float32: keep them uint8 and convert each minibatch"
            raise Failure(f"{per_transition:,} bytes per transition", mistake, "memory.append")

    check_train(report, make, observation_space=env.observation_space)
    return report.all_passed
