"""What every check shares: the printed report, the fake environment, the fixed inputs, and the
properties that several agents have in common."""

import functools
import inspect
import random
import traceback
from copy import deepcopy
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch

CHECKS_DIR = str(Path(__file__).parent)  # frames in these files are the checks', not the student's

OBS_DIM, ACT_DIM, BATCH = 3, 2, 8
LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 2.0], np.float32)
SCALE, BIAS = torch.tensor((HIGH - LOW) / 2), torch.tensor((HIGH + LOW) / 2)  # [2, 1] and [1, 1]
HIDDEN = (16, 16)  # the reference networks given to the agents are small, hence fast

DDPG_CONFIG = {
    "gamma": 0.9,
    "buffer_size": 100,
    "learning_rate": 1e-3,
    "batch_size": BATCH,
    "tau": 0.1,
    "exploration_noise": 0.1,
    "delay_learning": 0,
    "tqdm_disable": True,
    "disable_episode_report": True,
}
# No smoothing noise by default, so that the target is deterministic; some tests change it.
TD3_CONFIG = {**DDPG_CONFIG, "action_noise_scale": 0.0, "action_noise_clip": 0.5, "policy_update_freq": 3}
SAC_CONFIG = {
    **{key: value for key, value in DDPG_CONFIG.items() if key != "exploration_noise"},
    "alpha": 0.5,
    "learn_alpha": True,
    "target_entropy": -float(ACT_DIM),
    "alpha_learning_rate": 0.1,
}

# The likely mistakes that several checks name.
MISSING_DONE = "the (1 - terminated) factor is missing: after a terminal state there is no future value"
DONE_NOT_NEGATED = "terminated is used where (1 - terminated) belongs"
MISSING_GAMMA = "the discount γ is missing"
TAKES_MAX = "the larger of the twin target critics is taken: the target takes their minimum"
NOT_DETACHED = (
    "the target is not detached: compute it under torch.no_grad() (it is a fixed regression label), "
    "otherwise the critic's loss.backward() also runs back into the target computation"
)

DEFAULT_ERROR_HINT = "the code raises an exception on a small, valid input"

# torch imports part of itself the first time an optimizer is built (seconds on a small machine):
# done once here, so that each check stays well under two seconds.
torch.optim.Adam([torch.zeros(1, requires_grad=True)])


# ---------------------------------------------------------------------------------------------
# Printing and collecting the results
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    """A property does not hold: what was seen, the likely mistake, and where to look."""

    def __init__(self, seen, mistake, look_at):
        super().__init__(seen)
        self.seen, self.mistake, self.look_at = seen, mistake, look_at


class NotJudged(Exception):
    """A property cannot be judged because of a mistake another property has already named: the
    report prints a SKIP line that points at it, so that one mistake gives one FAIL."""


class Report:
    """Runs the properties of one check, prints one line for each, and remembers if all passed."""

    def __init__(self, cls):
        self.cls = cls
        self.all_passed = True
        self.failed = set()  # the names of the properties that failed

    def check(self, name, look_at, on_error=DEFAULT_ERROR_HINT):
        """Decorator: runs the decorated test at once. It passes unless it raises; it may return a
        note to print after PASS. Any exception is reported as a FAIL line, never raised."""

        def run(test):
            try:
                note = test()
            except Failure as failure:
                self.fail(name, failure.seen, failure.mistake, failure.look_at)
            except NotJudged as reason:
                print(f"SKIP {name}: {reason}")
            except Exception as error:  # a broken class gives a FAIL line, not a crash
                lines = str(error).strip().splitlines()
                seen = f"raised {type(error).__name__}" + (f": {lines[0][:200]}" if lines else "")
                mistake = on_error
                if isinstance(error, AttributeError) and on_error == DEFAULT_ERROR_HINT:
                    mistake = "a method or attribute is missing, or named differently from the reference's"
                self.fail(name, seen, mistake, self.where(error, look_at))
            else:
                print(f"PASS {name}" + (f" (note: {note})" if note else ""))
            return test

        return run

    def build(self, name, make, look_at):
        """Run `make()` as a property; return what it built, or None if it failed."""
        built = []
        self.check(name, look_at)(lambda: built.append(make()))
        return built[0] if built else None

    def fail(self, name, seen, mistake, look_at):
        self.all_passed = False
        self.failed.add(name)
        print(f"FAIL {name}: {seen.rstrip('.')}. Likely mistake: {mistake.rstrip('.')}. Look at: {look_at}")

    def where(self, error, look_at):
        """`look_at`, and the line of the checked code that raised `error` when it can be found."""
        libraries = [str(Path(module.__file__).parent) for module in (torch, np, gym, random)]
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if not frame.filename.startswith(CHECKS_DIR) and not any(frame.filename.startswith(d) for d in libraries)
        ]
        try:
            own_file = inspect.getsourcefile(self.cls)
        except (TypeError, OSError):
            own_file = None
        frames = [frame for frame in frames if frame.filename == own_file] or frames
        if not frames:
            return look_at
        frame = frames[-1]
        text = (frame.line or "").strip()
        return f"{look_at}; raised in {frame.name}, line {frame.lineno}" + (f": `{text}`" if text else "")


def isolated(check):
    """Run a check with seeded random generators, and give the caller its random state back."""

    @functools.wraps(check)
    def wrapper(cls):
        numpy_state, python_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]), torch.enable_grad():
                torch.manual_seed(0)
                np.random.seed(0)
                random.seed(0)
                return check(cls)
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)

    return wrapper


# ---------------------------------------------------------------------------------------------
# Tools shared by the checks
# ---------------------------------------------------------------------------------------------


def fake_env():
    """A stand-in for an environment: networks and agents only read its two spaces."""
    return SimpleNamespace(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Box(LOW, HIGH, dtype=np.float32),
    )


def fixed_batch(seed=1):
    """A hand-built batch X, A, R, Y, D of 8 transitions; every other one is terminal."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(BATCH, OBS_DIM, generator=g)
    A = BIAS + SCALE * (2 * torch.rand(BATCH, ACT_DIM, generator=g) - 1)
    R = torch.randn(BATCH, generator=g)
    Y = torch.randn(BATCH, OBS_DIM, generator=g)
    D = torch.tensor([0.0, 1.0] * (BATCH // 2))
    return X, A, R, Y, D


def transition(i):
    """Transition number i, recognisable from its state s = (i, i, i): a = (i/100, -i/100), r = i,
    s' = s + 0.5, and terminated for every third one. float64 arrays, as environments give them."""
    state = np.full(OBS_DIM, float(i))
    return state, np.array([i / 100, -i / 100]), np.float64(i), state + 0.5, i % 3 == 0


def shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def numbers(values):
    """A short text for a few numbers: [-172, 0.5]."""
    return "[" + ", ".join(f"{float(v):.3g}" for v in values) + "]"


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(b, p.detach()) for b, p in zip(before, module.parameters(), strict=True))


def same_weights(first, second):
    return all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def perturb(module, seed, size=0.3):
    """Move every parameter by a fixed random amount (so that a network differs from its copy)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(size * torch.randn(p.shape, generator=g))


def tensor(y, name, look_at):
    if not isinstance(y, torch.Tensor):
        raise Failure(
            f"{name} is a {type(y).__name__}, not a torch tensor",
            "a conversion to NumPy or to a Python number: keep torch tensors",
            look_at,
        )
    return y


def compare_target(y, expected, variants, formula):
    """Compare a critic target y with the hand computation; if it differs, name the variant it matches."""
    y = tensor(y, "the target y", "critic_target")
    if y.shape != expected.shape:
        if y.shape == (BATCH, 1):
            mistake = "a Q-value or reward of shape (B, 1): squeeze(-1), so that y has shape (B,)"
        elif y.shape == (BATCH, BATCH):
            mistake = "a (B, 1) tensor combined with a (B,) tensor broadcasts to (B, B): give both shape (B,)"
        else:
            mistake = "a sum or a mean over the batch, or a reshape: the target has one value per transition"
        raise Failure(f"y has shape {shape(y)}, expected ({BATCH},)", mistake, "critic_target")
    y = y.detach().float()
    if torch.allclose(y, expected, atol=1e-5, rtol=1e-5):
        return
    seen = f"y differs from the hand computation {formula} by up to {(y - expected).abs().max():.3g}"
    for mistake, variant in variants.items():
        if torch.allclose(y, variant, atol=1e-5, rtol=1e-5):
            raise Failure(seen, mistake, "critic_target")
    raise Failure(seen, "a different formula: compare each term with the equation", "critic_target")


def check_within_bounds(actions, look_at):
    """Actions within [LOW, HIGH], or a FAIL that says how they were most likely produced."""
    actions = tensor(actions, "the action", look_at).detach()
    low, high = torch.as_tensor(LOW), torch.as_tensor(HIGH)
    if torch.all((actions >= low - 1e-5) & (actions <= high + 1e-5)):
        return
    largest = actions.abs().amax(dim=0)
    if torch.all(largest <= 1 + 1e-5):
        mistake = (
            "no action scaling / no bias: tanh gives (-1, 1); multiply by action_scale = (high - low) / 2 "
            "and add action_bias = (high + low) / 2"
        )
    elif torch.all(largest <= SCALE + 1e-5):
        mistake = "action scaling without the bias: add action_bias = (high + low) / 2 after scaling"
    elif torch.all(largest <= torch.maximum(low.abs(), high.abs()) + 1e-5):
        mistake = "scaling by high (or by max |bound|): right only when the bounds are symmetric about zero"
    else:
        mistake = "no tanh (an unbounded output): squash the last layer's output with tanh, then scale"
    raise Failure(
        f"actions reach {numbers(actions.amin(0))} to {numbers(actions.amax(0))}, outside the bounds "
        f"low = {numbers(LOW)}, high = {numbers(HIGH)}",
        mistake,
        look_at,
    )


def check_scale_and_bias(report, policy, name):
    """action_scale and action_bias: the right values, registered as buffers."""

    @report.check("action_scale = (high - low) / 2 and action_bias = (high + low) / 2", f"{name}.__init__")
    def values():
        for attribute, expected in (("action_scale", SCALE), ("action_bias", BIAS)):
            if not hasattr(policy, attribute):
                raise Failure(
                    f"the network has no attribute {attribute}",
                    "the agents read pi.action_scale and pi.action_bias (to scale noise and to clip): "
                    "register them with self.register_buffer",
                    f"{name}.__init__",
                )
            value = torch.as_tensor(getattr(policy, attribute)).detach().float().cpu()
            if value.shape != expected.shape or not torch.allclose(value, expected):
                raise Failure(
                    f"{attribute} = {numbers(value)} for low = {numbers(LOW)}, high = {numbers(HIGH)}",
                    "action_scale = (high - low) / 2 and action_bias = (high + low) / 2, per dimension",
                    f"{name}.__init__",
                )

    @report.check("action_scale and action_bias are buffers (not trained) that follow .to()", name)
    def buffers():
        for attribute in ("action_scale", "action_bias"):
            if attribute in dict(policy.named_parameters()):
                raise Failure(
                    f"{attribute} is an nn.Parameter",
                    "the optimizer would train the bounds: use self.register_buffer (moved and saved with "
                    "the network, but not trained)",
                    f"{name}.__init__",
                )
            if attribute not in dict(policy.named_buffers()):
                raise Failure(
                    f"{attribute} is not a registered buffer",
                    "a plain tensor attribute: .to(device) does not move it and the state_dict does not "
                    "save it. Use self.register_buffer",
                    f"{name}.__init__",
                )
        moved = deepcopy(policy).to(torch.float64)
        if moved.action_scale.dtype != torch.float64 or moved.action_bias.dtype != torch.float64:
            raise Failure(
                "after .to(torch.float64), action_scale or action_bias kept their dtype",
                "they do not follow .to(): use self.register_buffer",
                f"{name}.__init__",
            )


def require_attributes(agent, names):
    missing = [name for name in names if not hasattr(agent, name)]
    if missing:
        raise Failure(
            f"the agent has no attribute {', '.join(missing)}",
            f"other names: the notebooks and this check use the reference's names ({', '.join(names)})",
            "__init__",
        )


def check_target_copies(agent, pairs):
    """Each target network is a separate copy of its online network, with the same weights."""
    for target_name, online_name in pairs:
        target, online = getattr(agent, target_name), getattr(agent, online_name)
        if target is online:
            raise Failure(
                f"agent.{target_name} is agent.{online_name}, the same object",
                "the target network is not a copy: use copy.deepcopy, otherwise the target moves with "
                "every update and is not a fixed target",
                "__init__",
            )
        if not same_weights(target.parameters(), online.parameters()):
            raise Failure(
                f"{target_name} does not start with the weights of {online_name}",
                "θ' = θ at the start: deepcopy the given network (a newly built one has new random weights)",
                "__init__",
            )


def check_critic_step(agent, batch, critics, others):
    """critic_step moves the critics' parameters and nothing else."""
    before = {name: snapshot(getattr(agent, name)) for name in (*critics, *others)}
    agent.critic_step(*batch)
    still = [name for name in critics if not changed(before[name], getattr(agent, name))]
    if still:
        raise Failure(
            f"the parameters of {', '.join(still)} did not change",
            "no optimizer step, an optimizer built on other parameters (e.g. on a target copy), or "
            "zero_grad() called between backward() and step()",
            "critic_step",
        )
    moved = [name for name in others if changed(before[name], getattr(agent, name))]
    if moved:
        raise Failure(
            f"critic_step also changed {', '.join(moved)}",
            "the targets move only in soft_update and the actor only in actor_step: is one of them called "
            "from critic_step, or does the critic's optimizer hold their parameters?",
            "critic_step and the optimizers in __init__",
        )


def check_actor_step(agent, X, critics, others):
    """actor_step moves w only and leaves the critics' parameters alone; returns a note when the
    critics also received gradients (correct, but costlier)."""
    for name in critics:
        getattr(agent, name).zero_grad(set_to_none=True)
    before = {name: snapshot(getattr(agent, name)) for name in ("pi", *critics, *others)}
    agent.actor_step(X)
    if not changed(before["pi"], agent.pi):
        raise Failure(
            "the actor's parameters did not change",
            "no optimizer step, an optimizer built on other parameters (e.g. on the target actor), or "
            "an action detached from the loss",
            "actor_step",
        )
    moved = [name for name in (*critics, *others) if changed(before[name], getattr(agent, name))]
    if moved:
        raise Failure(
            f"actor_step also changed {', '.join(moved)}",
            "the actor's optimizer holds the critics' (or the targets') parameters, or soft_update is "
            "called from actor_step",
            "actor_step and the optimizers in __init__",
        )
    with_grad = [
        name
        for name in critics
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(agent, name).parameters())
    ]
    if with_grad:  # correct, only costlier: a note, never a FAIL
        return (
            f"{' and '.join(with_grad)} also received gradients from the actor's loss.backward(). That is "
            "correct as long as the critic step zeroes its gradients first, but costs a backward pass "
            "into θ that nothing uses; torch.autograd.grad(actor_loss, list(self.pi.parameters())) "
            "(what solutions.gradient_step does) computes ∇_w only"
        )
    return None


def check_soft_update(agent, pairs, tau):
    """θ' ← τ θ + (1 - τ) θ' for each (target, online) pair, on random weights."""
    before = {}
    for k, names in enumerate(pairs):
        for j, name in enumerate(names):
            perturb(getattr(agent, name), 100 + 2 * k + j, size=1.0)
            before[name] = snapshot(getattr(agent, name))
    agent.soft_update()
    for target_name, online_name in pairs:
        new, old, online = snapshot(getattr(agent, target_name)), before[target_name], before[online_name]

        def became(weights, new=new):
            return all(torch.allclose(n, w, atol=1e-6) for n, w in zip(new, weights, strict=True))

        if changed(online, getattr(agent, online_name)):
            raise Failure(
                f"soft_update changed the online network {online_name}",
                "the two networks are swapped: the target moves toward the online network, never the reverse",
                "soft_update",
            )
        if became([tau * o + (1 - tau) * t for o, t in zip(online, old, strict=True)]):
            continue
        if became([(1 - tau) * o + tau * t for o, t in zip(online, old, strict=True)]):
            raise Failure(
                f"{target_name} became (1 - τ) θ + τ θ' with τ = {tau}",
                "τ and 1 - τ are swapped: the target takes only a small step τ toward the online network",
                "soft_update",
            )
        if became(online):
            raise Failure(
                f"{target_name} became an exact copy of {online_name}",
                "a hard copy (load_state_dict, or τ = 1) instead of the average θ' ← τ θ + (1 - τ) θ'",
                "soft_update",
            )
        if became(old):
            raise Failure(
                f"{target_name} did not change",
                f"{target_name} is left out of soft_update, or the new value is assigned to a loop variable, "
                "which changes nothing: write into the tensor, e.g. target_param.data.copy_(...)",
                "soft_update",
            )
        raise Failure(
            f"{target_name} is not τ θ + (1 - τ) θ' with τ = {tau}",
            "another formula, or parameters of the two networks paired in a different order",
            "soft_update",
        )


def check_explore(agent, setting="with exploration_noise = 10", no_noise="no exploration noise is added"):
    """explore gives a noisy NumPy action within the bounds (even with a huge noise scale)."""
    actions = [agent.explore(np.zeros(OBS_DIM, np.float32)) for _ in range(50)]
    if not isinstance(actions[0], np.ndarray):
        raise Failure(
            f"explore returned a {type(actions[0]).__name__}",
            "a torch tensor returned as it is: env.step takes a NumPy array, use .cpu().numpy()",
            "explore",
        )
    actions = np.stack(actions)
    if actions.shape != (50, ACT_DIM):
        raise Failure(f"explore returned shape {actions.shape[1:]}, expected ({ACT_DIM},)", "a reshape", "explore")
    if np.all(actions == actions[0]):
        raise Failure("explore returned the same action 50 times", no_noise, "explore")
    if np.any(actions < LOW - 1e-5) or np.any(actions > HIGH + 1e-5):
        raise Failure(
            f"{setting}, actions reach {numbers(actions.min(0))} to "
            f"{numbers(actions.max(0))}, outside low = {numbers(LOW)}, high = {numbers(HIGH)}",
            "the noisy action is not clipped to the bounds of each dimension (e.g. clipped with low[0], high[0] only)",
            "explore",
        )


def check_detached(agent):
    _, _, R, Y, D = fixed_batch()
    if tensor(agent.critic_target(R, Y, D), "the target y", "critic_target").requires_grad:
        raise Failure("the target y carries a graph (y.requires_grad is True)", NOT_DETACHED, "critic_target")


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------

WARM_UP, TRAIN_STEPS = 20, 40  # delay_learning and max_steps of the run that checks `train`
# The fake episodes, in turn: (length, how it ends). A truncation is a time limit, not a terminal state.
EPISODES = ((6, "truncated"), (4, "terminated"), (7, "truncated"), (3, "terminated"))


def recording(space):
    """The action space of the fake environment: it remembers its last sample and counts them."""

    class Recording(type(space)):
        def sample(self, *args, **kwargs):
            action = super().sample(*args, **kwargs)
            self.draws, self.last = self.draws + 1, np.array(action, copy=True)
            return action

    recorded = deepcopy(space)
    recorded.__class__ = Recording
    recorded.draws, recorded.last = 0, None
    return recorded


class EpisodesEnv(gym.Env):
    """A fake environment whose episodes end after known numbers of steps (see EPISODES), by a
    termination or by a truncation. The observation (total steps, step in the episode, episode)
    names the step it comes from; each step of episode k earns k + 1, so an episode's return is
    known. Stepping past the end of an episode without a reset is counted, then the next episode
    begins as if reset."""

    def __init__(self, action_space=None, observation_space=None):
        self.observation_space = observation_space or gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        self.action_space = recording(action_space or gym.spaces.Box(LOW, HIGH, dtype=np.float32))
        self.draws_seen, self.from_sample = 0, []  # for each step: was its action a fresh sample?
        self.total, self.t, self.episode, self.over = 0, 0, -1, True
        self.steps_without_reset, self.early_resets = 0, 0
        self.actions, self.finished_returns, self.episode_return = [], [], 0.0

    def observation(self, new_episode=False):
        """(total steps, step in the episode, episode) in the first three numbers, zeros elsewhere.
        Pixels: in the newest frame of a stack of the last frames, as FrameStackObservation gives
        (a new episode starts with copies of its first frame)."""
        space = self.observation_space
        shape = space.shape[1:] if len(space.shape) > 1 else space.shape
        frame = np.zeros(shape, space.dtype)
        frame.reshape(-1)[:3] = (self.total, self.t, self.episode)
        if len(space.shape) == 1:
            return frame
        self.stack = [frame] * space.shape[0] if new_episode else [*self.stack[1:], frame]
        return np.stack(self.stack)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if not self.over:
            self.early_resets += 1
        self.episode, self.t, self.over, self.episode_return = self.episode + 1, 0, False, 0.0
        return self.observation(new_episode=True), {}

    def step(self, action):
        if self.over:  # no reset after the end of an episode
            self.steps_without_reset += 1
            self.episode, self.t, self.over, self.episode_return = self.episode + 1, 0, False, 0.0
        space = self.action_space
        fresh = space.draws > self.draws_seen and np.array_equal(np.asarray(action), space.last)
        self.from_sample.append(bool(fresh))
        self.draws_seen = space.draws
        self.actions.append(np.array(action, dtype=np.float32, copy=True))
        self.total, self.t = self.total + 1, self.t + 1
        length, ending = EPISODES[self.episode % len(EPISODES)]
        reward = float(self.episode + 1)
        self.episode_return += reward
        terminated = self.t == length and ending == "terminated"
        truncated = self.t == length and ending == "truncated"
        if terminated or truncated:
            self.over = True
            self.finished_returns.append(self.episode_return)
        return self.observation(), reward, terminated, truncated, {}


def step_ids(observation):
    """(total steps, step in the episode, episode) read back from a fake observation (pixels: from
    its newest frame)."""
    observation = np.asarray(observation)
    newest = observation[-1] if observation.ndim > 1 else observation
    return [int(round(v)) for v in np.ravel(newest)[:3]]


def record_training(agent, action_space=None, observation_space=None):
    """Run agent.train on the fake environment for TRAIN_STEPS steps, recording what the agent
    appends to its memory and the number of environment steps at each critic_step call."""
    env, appended, updates = EpisodesEnv(action_space, observation_space), [], []
    append, critic_step = agent.memory.append, agent.critic_step
    names = list(inspect.signature(append).parameters)

    def recording_append(*args, **kwargs):
        bound = {**dict(zip(names, args)), **kwargs}
        values = [bound[name] for name in names if name in bound]
        appended.append([np.asarray(torch.as_tensor(v).detach().cpu(), np.float64) for v in values])
        return append(*args, **kwargs)

    def counting_critic_step(*args, **kwargs):
        updates.append(env.total)
        return critic_step(*args, **kwargs)

    agent.memory.append, agent.critic_step = recording_append, counting_critic_step
    returns = agent.train(env, TRAIN_STEPS)
    return env, returns, appended, updates


def check_train(report, make, action_space=None, observation_space=None):
    """The properties of `train`, judged on what it does, whatever the shape of the loop: `make`
    builds an agent from config overrides; the fake environment has `action_space` (by default
    the asymmetric Box of the other checks)."""
    run = []
    look_at = "train"

    @report.check(f"train(env, {TRAIN_STEPS}) runs on a fake environment with short episodes", look_at)
    def runs():
        run.extend(record_training(make({"delay_learning": WARM_UP}), action_space, observation_space))

    if not run:
        return
    env, returns, appended, updates = run

    @report.check("train resets the environment when an episode ends, terminated or truncated", look_at)
    def resets():
        if env.steps_without_reset:
            raise Failure(
                f"env.step was called {env.steps_without_reset} times right after an episode had ended",
                "no reset at the end of an episode: when terminated or truncated, call state, _ = env.reset()",
                look_at,
            )
        if env.early_resets:
            raise Failure(
                f"env.reset() was called {env.early_resets} times before the episode had ended",
                "the episode is reset at other steps than those where terminated or truncated is True",
                look_at,
            )

    @report.check("train returns the return of each finished episode", look_at)
    def episode_returns():
        got = [float(r) for r in returns] if returns is not None else None
        expected = env.finished_returns
        if got is not None and np.allclose(got, expected) and len(got) == len(expected):
            return
        if got is None:
            mistake = "train does not return the list of episode returns"
        elif len(got) == len(expected) + 1:
            mistake = "the return of the unfinished last episode is included"
        elif len(got) == env.total:
            mistake = "a value is appended at every step, not once per episode"
        else:
            mistake = (
                "the sum of rewards is not reset to 0 when an episode starts, or an episode's return is "
                "recorded at other steps than those where terminated or truncated is True"
            )
        raise Failure(f"train returned {got}, the finished episodes earned {expected}", mistake, look_at)

    @report.check("train stores terminated only: a time-limit truncation is not stored as terminal", look_at)
    def stores_terminated():
        if len(appended) != env.total:
            raise Failure(
                f"{len(appended)} transitions appended to agent.memory in {env.total} environment steps",
                "one transition memory.append(s, a, r, s', terminated) per environment step",
                look_at,
            )
        flags = {"terminated": [], "truncated": [], "neither": []}
        for _, _, _, next_state, done in appended:
            _, t, episode = step_ids(next_state)
            length, ending = EPISODES[episode % len(EPISODES)]
            flags[ending if t == length else "neither"].append(bool(np.ravel(done)[0]))
        if all(flags["truncated"]) and flags["truncated"]:
            mistake = (
                "the done flag stored is `terminated or truncated`: store `terminated` only. A time-limit "
                "truncation is not the end of the MDP; s' still has a future value"
            )
            raise Failure("truncated steps were stored as terminal", mistake, look_at)
        if not all(flags["terminated"]) or any(flags["truncated"]) or any(flags["neither"]):
            raise Failure(
                f"stored done flags: {flags}",
                "store the `terminated` that env.step returned with its own transition (s, a, r, s')",
                look_at,
            )
        for state, _, _, next_state, _ in appended:
            if step_ids(next_state)[0] != step_ids(state)[0] + 1 or step_ids(next_state)[1] == 0:
                raise Failure(
                    f"a transition from step {step_ids(state)[0]} stores s' from step {step_ids(next_state)[0]}",
                    "s' must be the observation env.step returned, even when the episode ends (not the "
                    "observation of the reset that follows), and s must be the state the action was taken in",
                    look_at,
                )

    @report.check(
        f"the first delay_learning = {WARM_UP} steps take random actions from env.action_space.sample(), "
        "with no update",
        look_at,
    )
    def warm_up():
        from_sample = env.from_sample[:WARM_UP]
        early = [step for step in updates if step < WARM_UP]
        if all(from_sample) and not early:
            return
        seen = (
            f"{sum(from_sample)} of the first {WARM_UP} actions came from env.action_space.sample(), and the critics "
            f"took {len(early)} steps before step {WARM_UP}"
        )
        raise Failure(
            seen,
            "no random warm-up: while fewer than delay_learning steps are taken, act with "
            "env.action_space.sample() and do not update (the buffer first needs varied data)",
            look_at,
        )

    @report.check(f"learning starts after the warm-up: every step from step {WARM_UP + 1} on updates", look_at)
    def learning_starts():
        after = [updates.count(step) for step in range(WARM_UP + 1, env.total + 1)]
        if after and min(after) >= 1 and len(set(after)) == 1:
            return
        if not updates:
            mistake = "no update at all: call the update (critic and actor steps) at each step after the warm-up"
        else:
            mistake = (
                "after the warm-up, update at every environment step (updates_per_step times), not only at some steps"
            )
        raise Failure(f"critic steps per environment step after the warm-up: {after}", mistake, look_at)

    @report.check("after the warm-up, train acts with explore, not at random", look_at)
    def explores_after_warm_up():
        later = env.from_sample[WARM_UP + 1 :]
        if later and all(later):
            raise Failure(
                f"all {len(later)} actions after step {WARM_UP + 1} came from env.action_space.sample()",
                "the warm-up never ends: once delay_learning steps are taken, act with agent.explore(state)",
                look_at,
            )
