"""Checks for the coding exercises: run your class against the reference on fixed inputs.

In reinforcement learning a mistake rarely crashes: the learning curve just stays flat. Each check
below takes your class (not an instance), tries it on tiny fixed inputs, and prints one line per
property,

    PASS <property>
    FAIL <property>: <what was seen>. Likely mistake: <...>. Look at: <method or line>

then returns True if every property holds. A check takes well under two seconds, and leaves the
random state of your notebook as it was.

    from solutions.checks import check_q_network
    check_q_network(QNetwork)

The environment is a fake: an object with an `observation_space` (3 numbers) and an `action_space`
whose bounds are NOT centred on zero, low = [-1, 0] and high = [3, 2], so that a policy that
forgets to shift its actions by (high + low) / 2 is caught. Agents are checked with small
reference networks and a hand-built batch of 8 transitions.
"""

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
import torch.nn.functional as F

from solutions import networks, sac_policy  # the reference networks, given to the agents

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


class Report:
    """Runs the properties of one check, prints one line for each, and remembers if all passed."""

    def __init__(self, cls):
        self.cls = cls
        self.all_passed = True

    def check(self, name, look_at, on_error=DEFAULT_ERROR_HINT):
        """Decorator: runs the decorated test at once. It passes unless it raises; it may return a
        note to print after PASS. Any exception is reported as a FAIL line, never raised."""

        def run(test):
            try:
                note = test()
            except Failure as failure:
                self.fail(name, failure.seen, failure.mistake, failure.look_at)
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
        print(f"FAIL {name}: {seen.rstrip('.')}. Likely mistake: {mistake.rstrip('.')}. Look at: {look_at}")

    def where(self, error, look_at):
        """`look_at`, and the line of the checked code that raised `error` when it can be found."""
        libraries = [str(Path(module.__file__).parent) for module in (torch, np, gym, random)]
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if frame.filename != __file__ and not any(frame.filename.startswith(d) for d in libraries)
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
    """actor_step moves w only, and leaves the critics' parameters and .grad alone."""
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
    if with_grad:
        raise Failure(
            f"gradients flowed into the critic during the actor step: {' and '.join(with_grad)} "
            "had a non-zero .grad after actor_step",
            "the critic is not frozen: the actor's loss.backward() also computes gradients for θ, wasted "
            "work that a critic step which does not zero its gradients first would apply. Compute ∇_w only, "
            "torch.autograd.grad(actor_loss, list(self.pi.parameters())) (what solutions.gradient_step "
            "does), or call Q.requires_grad_(False) before the actor loss and Q.requires_grad_(True) after",
            "actor_step",
        )


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
        raise Failure(
            f"explore returned shape {actions.shape[1:]}, expected ({ACT_DIM},)", "a reshape", "explore"
        )
    if np.all(actions == actions[0]):
        raise Failure("explore returned the same action 50 times", no_noise, "explore")
    if np.any(actions < LOW - 1e-5) or np.any(actions > HIGH + 1e-5):
        raise Failure(
            f"{setting}, actions reach {numbers(actions.min(0))} to "
            f"{numbers(actions.max(0))}, outside low = {numbers(LOW)}, high = {numbers(HIGH)}",
            "the noisy action is not clipped to the bounds of each dimension (e.g. clipped with "
            "low[0], high[0] only)",
            "explore",
        )


def check_detached(agent):
    _, _, R, Y, D = fixed_batch()
    if tensor(agent.critic_target(R, Y, D), "the target y", "critic_target").requires_grad:
        raise Failure("the target y carries a graph (y.requires_grad is True)", NOT_DETACHED, "critic_target")


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
                    mistake = (
                        "a trailing dimension of 1: shape (B, 1) broadcasts with Q-values (B,) into (B, B)"
                    )
                raise Failure(
                    f"{label} has shape {tuple(value.shape)}, expected {expected[label]}", mistake, sample
                )
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
                f"with capacity 10 and transitions 0 to 24 appended, samples hold {sorted(seen)}, "
                "expected 15 to 24",
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

    @report.check(
        "critic_target = r + γ (1 - terminated) Q'(s', π'(s')) on a hand-built batch", "critic_target"
    )
    def target_value():
        agent = make()
        Q_target, pi_target, Q, pi = (
            deepcopy(getattr(agent, n)) for n in ("Q_target", "pi_target", "Q", "pi")
        )
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
                "the online actor π is used instead of the target actor π'": (
                    R + gamma * (1 - D) * Q_target(Y, pi(Y))
                ),
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

    @report.check(
        "actor_step changes w only, and leaves the critic's parameters and .grad untouched", "actor_step"
    )
    def actor_step_moves_w():
        check_actor_step(make(), X, ("Q",), ("Q_target", "pi_target"))

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

    return report.all_passed


# ---------------------------------------------------------------------------------------------
# TD3
# ---------------------------------------------------------------------------------------------


@isolated
def check_td3_agent(td3_agent):
    """Check a TD3 agent class: td3_agent(config, Q1, Q2, pi), with small reference networks."""
    report, env = Report(td3_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau, freq = TD3_CONFIG["gamma"], TD3_CONFIG["tau"], TD3_CONFIG["policy_update_freq"]
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        Q1, Q2 = networks.QNetwork(env, HIDDEN), networks.QNetwork(env, HIDDEN)
        agent = td3_agent({**TD3_CONFIG, **(overrides or {})}, Q1, Q2, networks.policyNetwork(env, HIDDEN))
        if shifted:  # the online networks differ from the targets: using the wrong ones shows
            for seed, name in enumerate(("Q1", "Q2", "pi")):
                perturb(getattr(agent, name), 2 + seed)
        return agent

    def copies(agent, names=("Q1_target", "Q2_target", "pi_target")):
        return [deepcopy(getattr(agent, name)) for name in names]

    def target(Q1, Q2, next_action, reduce=torch.min):
        return R + gamma * (1 - D) * reduce(Q1(Y, next_action), Q2(Y, next_action))

    @report.check(
        "td3_agent(config, Q1, Q2, pi) builds, with target copies of the three networks", "__init__"
    )
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q1", "Q2", "pi", "Q1_target", "Q2_target", "pi_target"))
        check_target_copies(agent, (("Q1_target", "Q1"), ("Q2_target", "Q2"), ("pi_target", "pi")))

    if not report.all_passed:
        return False

    @report.check(
        "critic_target = r + γ (1 - terminated) min_i Q'_i(s', π'(s')) without noise", "critic_target"
    )
    def target_without_noise():
        agent = make()
        Q1_target, Q2_target, pi_target = copies(agent)
        Q1, Q2, pi = copies(agent, ("Q1", "Q2", "pi"))
        y = agent.critic_target(R, Y, D)
        with torch.no_grad():
            a = pi_target(Y)
            next_q = torch.min(Q1_target(Y, a), Q2_target(Y, a))
            variants = {
                MISSING_DONE: R + gamma * next_q,
                DONE_NOT_NEGATED: R + gamma * D * next_q,
                TAKES_MAX: target(Q1_target, Q2_target, a, torch.max),
                "only Q1' is used: the target takes the minimum of Q1' and Q2'": (
                    R + gamma * (1 - D) * Q1_target(Y, a)
                ),
                "the twin target critics are averaged: the target takes their minimum": (
                    R + gamma * (1 - D) * (Q1_target(Y, a) + Q2_target(Y, a)) / 2
                ),
                "the online critics are used instead of the target critics": target(Q1, Q2, a),
                "the online actor π is used instead of the target actor π'": target(
                    Q1_target, Q2_target, pi(Y)
                ),
                MISSING_GAMMA: R + (1 - D) * next_q,
            }
        formula = "r + γ (1 - terminated) min_i Q'_i(s', π'(s')), action_noise_scale = 0"
        compare_target(y, R + gamma * (1 - D) * next_q, variants, formula)

    def noisy_targets(clip):
        """y with a huge noise scale, so that the clipped noise is ±clip · action_scale on each dimension,
        and the possible targets of each row (one per combination of signs) for a right and for
        wrong computations."""
        agent = make({"action_noise_scale": 1e6, "action_noise_clip": clip})
        Q1_target, Q2_target, pi_target = copies(agent)
        y = tensor(agent.critic_target(R, Y, D), "the target y", "critic_target").detach()
        if y.shape != (BATCH,):
            raise Failure(f"y has shape {shape(y)}, expected ({BATCH},)", "a reshape", "critic_target")
        with torch.no_grad():
            base = pi_target(Y)

            def candidates(shift, low=LOW, high=HIGH):  # (B, 4): one column per combination of signs
                columns = []
                for sign in signs:
                    a = base + sign * shift
                    a = a if low is None else a.clamp(torch.as_tensor(low), torch.as_tensor(high))
                    columns.append(target(Q1_target, Q2_target, a))
                return torch.stack(columns, dim=1)

            return y, {
                "right": candidates(clip * SCALE),
                "noise not clipped": candidates(1e6 * SCALE),
                "noise not scaled": candidates(torch.full((ACT_DIM,), clip)),
                "no noise": target(Q1_target, Q2_target, base).reshape(-1, 1),
                "action not clipped": candidates(clip * SCALE, low=None),
                "first bounds": candidates(clip * SCALE, low=LOW[:1], high=HIGH[:1]),
            }

    def matches(y, candidates):
        """Every row of y equals one of its candidates."""
        return bool(((y.reshape(-1, 1) - candidates).abs() < 1e-4).any(dim=1).all())

    @report.check("the smoothing noise is clipped to ± action_noise_clip · action_scale", "critic_target")
    def noise_is_clipped():
        y, candidates = noisy_targets(clip=0.3)
        if matches(y, candidates["right"]):
            return
        mistakes = {
            "noise not clipped": "the smoothing noise is not clipped to ± action_noise_clip",
            "noise not scaled": "the clipped noise is not multiplied by action_scale (it is in units of the "
            "action half-range, like the exploration noise)",
            "no noise": "no smoothing noise is added to the target action π'(s')",
        }
        mistake = next(
            (text for key, text in mistakes.items() if matches(y, candidates[key])),
            "the noise clip(N(0, σ²), -c, c) · action_scale is computed in another way, or the target "
            "itself is wrong (see the property without noise)",
        )
        raise Failure(
            "with action_noise_scale = 1e6 and action_noise_clip = 0.3, y is not "
            "r + γ (1 - terminated) min_i Q'_i(s', clip(π'(s') ± 0.3 · action_scale, low, high))",
            mistake,
            "critic_target",
        )

    @report.check("the noisy next action is clipped to the action bounds", "critic_target")
    def next_action_in_bounds():
        y, candidates = noisy_targets(clip=10.0)  # the noise pushes every action far out of bounds
        if matches(y, candidates["right"]):
            return
        if matches(y, candidates["first bounds"]):
            mistake = "the next action is clipped with the bounds of the first dimension, low[0] and high[0]"
        elif matches(y, candidates["action not clipped"]):
            mistake = "the noisy next action π'(s') + ε is not clipped to [low, high]"
        else:
            mistake = (
                "the noisy next action is not clipped to [low, high] on each dimension, or the target "
                "itself is wrong (see the property without noise)"
            )
        raise Failure(
            "with action_noise_clip = 10, y does not use next actions at the bounds", mistake, "critic_target"
        )

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes both critics only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target", "pi_target"))

    @report.check(
        "actor_step changes w only, and leaves the critics' parameters and .grad untouched", "actor_step"
    )
    def actor_step_moves_w():
        check_actor_step(make(), X, ("Q1", "Q2"), ("Q1_target", "Q2_target", "pi_target"))

    @report.check(
        "the actor and the targets move exactly once every policy_update_freq critic steps", "update"
    )
    def delayed_updates():
        agent = make()
        for i in range(2 * BATCH):
            state, _, reward, next_state, terminated = transition(i)
            agent.memory.append(state / 10, BIAS.numpy(), reward / 10, next_state / 10, terminated)
        calls, moves = range(1, 2 * freq + 1), {"critics": [], "actor": [], "targets": []}
        for call in calls:
            before = {name: snapshot(getattr(agent, name)) for name in ("Q1", "pi", "Q1_target", "pi_target")}
            agent.update()
            if changed(before["Q1"], agent.Q1):
                moves["critics"].append(call)
            if changed(before["pi"], agent.pi):
                moves["actor"].append(call)
            if changed(before["Q1_target"], agent.Q1_target) or changed(before["pi_target"], agent.pi_target):
                moves["targets"].append(call)
        seen = (
            f"over {len(calls)} calls to update() with policy_update_freq = {freq}, the critics moved "
            f"at calls {moves['critics']}, the actor at {moves['actor']}, the targets at {moves['targets']}"
        )
        actor = moves["actor"]
        if moves["critics"] != list(calls):
            raise Failure(seen, "the critics must take one step at every call of update()", "update")
        if actor == list(calls):
            raise Failure(
                seen,
                "the policy is updated at every critic step: the actor (and the targets) must move only once "
                "every policy_update_freq critic steps",
                "update",
            )
        if len(actor) != 2 or actor[1] - actor[0] != freq:
            raise Failure(
                seen,
                "the count of critic steps is not incremented, or not compared with policy_update_freq "
                "(count % policy_update_freq == 0)",
                "update and critic_step",
            )
        if moves["targets"] != actor:
            raise Failure(
                seen,
                "the targets must move exactly when the actor does: soft_update goes in the delayed branch, "
                "right after actor_step",
                "update",
            )

    @report.check("soft_update: θ'_i ← τ θ_i + (1 - τ) θ'_i and w' ← τ w + (1 - τ) w'", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q1_target", "Q1"), ("Q2_target", "Q2"), ("pi_target", "pi")), tau)

    @report.check("explore gives a noisy NumPy action within the bounds", "explore")
    def explore():
        check_explore(make({"exploration_noise": 10.0}))

    return report.all_passed


# ---------------------------------------------------------------------------------------------
# Squashed-Gaussian policy (SAC)
# ---------------------------------------------------------------------------------------------


@isolated
def check_squashed_gaussian_policy(squashedGaussianPolicy):
    """Check a SAC policy class: mean_and_log_std(s), sample(s) -> (a, log π(a|s)), forward(s)."""
    report, name = Report(squashedGaussianPolicy), getattr(squashedGaussianPolicy, "__name__", "policy")
    pi = report.build(f"{name}(env) builds", lambda: squashedGaussianPolicy(fake_env()), f"{name}.__init__")
    if pi is None:
        return False
    sample, forward = f"{name}.sample", f"{name}.forward"
    moderate, large = torch.randn(64, OBS_DIM), 1000 * torch.randn(256, OBS_DIM)

    on_error = "sum(1) or cat(..., dim=1) works only for batches: use dim=-1"

    @report.check(
        "sample gives actions (B, act) and log π (B,); (act,) and () for one observation", sample, on_error
    )
    def shapes():
        for states, expected in ((moderate, (64, ACT_DIM)), (moderate[0], (ACT_DIM,))):
            action, log_prob = pi.sample(states)
            if tensor(action, "the action", sample).shape != expected:
                raise Failure(f"actions have shape {shape(action)}, expected {expected}", "a reshape", sample)
            if tensor(log_prob, "log π", sample).shape != expected[:-1]:
                if log_prob.shape == expected:
                    mistake = "log π is not summed over the action dimensions: sum(dim=-1)"
                elif log_prob.shape == (*expected[:-1], 1):
                    mistake = "log π keeps a trailing dimension of 1: sum(dim=-1) without keepdim"
                else:
                    mistake = "log π is summed over the batch too: sum over the last dimension only"
                raise Failure(f"log π has shape {shape(log_prob)}, expected {expected[:-1]}", mistake, sample)

    @report.check("sampled actions stay within [low, high] on an asymmetric action space", sample)
    def within_bounds():
        with torch.no_grad():
            for states in (moderate, large):
                check_within_bounds(pi.sample(states)[0], f"{sample} (action_scale, action_bias)")

    @report.check("log π equals TransformedDistribution(Normal, [Tanh, Affine]) within 1e-4", sample)
    def log_prob_matches():
        torch.manual_seed(5)
        action, log_prob = pi.sample(moderate)
        with torch.no_grad():
            mean, log_std = (t.double() for t in pi.mean_and_log_std(moderate))
            action, log_prob = action.detach().double(), log_prob.detach().double().reshape(-1)
            scale, bias = SCALE.double(), BIAS.double()
            torch.manual_seed(5)  # the same noise ε, if it is drawn with torch.randn_like(mean)
            u = mean + log_std.exp() * torch.randn_like(mean.float()).double()
            rows = torch.ones(len(moderate), dtype=torch.bool)
            if not torch.allclose(torch.tanh(u) * scale + bias, action, atol=1e-5):
                # ε drawn in another way: recover u from the action, on the rows where tanh(u) is far
                # enough from ±1 for that to be accurate.
                u = torch.atanh(((action - bias) / scale).clamp(-1 + 1e-12, 1 - 1e-12))
                rows = u.abs().amax(dim=1) < 1.5
            normal = torch.distributions.Normal(mean, log_std.exp())
            transforms = [
                torch.distributions.TanhTransform(),
                torch.distributions.AffineTransform(bias, scale),
            ]
            squashed = torch.distributions.TransformedDistribution(normal, transforms)
            expected = squashed.log_prob(torch.tanh(u) * scale + bias).sum(-1)
            gaussian = normal.log_prob(u).sum(-1)
            tanh_term = (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1)  # Σ log(1 - tanh²(u))
            scale_term = torch.log(scale).sum()
        if log_prob.shape != expected.shape:
            raise Failure(f"log π has shape {shape(log_prob)}", "see the property on shapes", sample)
        gap = (log_prob - expected)[rows].abs().max().item()
        if gap < 1e-4:
            return
        variants = {
            "the tanh correction - Σ log(1 - tanh²(u)) is missing (trick 1)": gaussian - scale_term,
            "the action-scale term - Σ log(action_scale) is missing (the affine map to [low, high] changes "
            "densities too)": gaussian - tanh_term,
            "both the tanh correction and the action-scale term are missing": gaussian,
            "the tanh correction is added instead of subtracted": gaussian + tanh_term - scale_term,
        }
        mistake = next(
            (text for text, variant in variants.items() if (log_prob - variant)[rows].abs().max() < 1e-4),
            "log π(a|s) = Σ_i [log N(u_i; μ_i, σ_i²) - log(1 - tanh²(u_i)) - log(action_scale_i)], with "
            "the same u that gave the action",
        )
        raise Failure(
            f"log π differs from TransformedDistribution(...).log_prob by up to {gap:.3g}", mistake, sample
        )

    @report.check("log π is finite for large pre-tanh values", sample)
    def finite_when_saturated():
        with torch.no_grad():
            action, log_prob = pi.sample(large)
        infinite = int((~torch.isfinite(tensor(log_prob, "log π", sample))).sum())
        if infinite and pi.mean_and_log_std(large)[1].max() > 2 + 1e-5:
            raise Failure(
                f"log π is inf or nan on {infinite} of 256 rows for large inputs",
                "σ = exp(log σ) overflows: log σ is not bounded (see the property on log σ)",
                f"{name}.mean_and_log_std",
            )
        if infinite:
            raise Failure(
                f"log π is inf or nan on {infinite} of 256 rows where the pre-tanh value u is large",
                "log(1 - tanh(u)²) is log(0) once tanh(u) rounds to ±1 (|u| > 9 or so): write it as "
                "2 (log 2 - u - softplus(-2u)), or add a small epsilon inside the log",
                sample,
            )
        if not torch.all(torch.isfinite(action)):
            raise Failure("sampled actions are not finite for large inputs", "a division by σ", sample)

    @report.check("log σ stays within [-5, 2]", f"{name}.mean_and_log_std")
    def log_std_range():
        with torch.no_grad():
            log_std = torch.cat([pi.mean_and_log_std(states)[1] for states in (moderate, large)])
        if log_std.min() < -5 - 1e-5 or log_std.max() > 2 + 1e-5:
            raise Failure(
                f"log σ ranges from {log_std.min():.3g} to {log_std.max():.3g}",
                "log σ is not kept in [LOG_STD_MIN, LOG_STD_MAX] = [-5, 2] (trick 2): squash it with "
                "LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) (tanh(x) + 1) / 2, or clamp it",
                f"{name}.mean_and_log_std",
            )

    @report.check("sample is reparametrised (gradients reach μ and σ through the action)", sample)
    def reparametrised():
        action, log_prob = pi.sample(moderate)
        if not action.requires_grad:
            raise Failure(
                "the sampled action carries no graph",
                "the action is drawn with .sample() (no reparametrisation) or under torch.no_grad(): use "
                "u = μ + σ ε, or Normal(μ, σ).rsample(), so that the actor's gradient goes through the "
                "action",
                sample,
            )
        parameters = dict(pi.named_parameters())
        grads = torch.autograd.grad(action.sum(), list(parameters.values()), allow_unused=True)
        dead = [n for n, g in zip(parameters, grads, strict=True) if g is None or g.abs().sum() == 0]
        if dead:
            raise Failure(
                f"the gradient of the sampled action does not reach {', '.join(dead)}",
                "a .detach() on μ or σ, or an action not built as tanh(μ + σ ε) · action_scale + action_bias",
                sample,
            )
        if not log_prob.requires_grad:
            raise Failure("log π carries no graph", "log π computed from detached values", sample)

    @report.check("forward(s) = action_scale · tanh(μ) + action_bias, deterministic", forward)
    def deterministic_forward():
        with torch.no_grad():
            out = pi(moderate)
            if isinstance(out, tuple):
                raise Failure(
                    f"pi(s) returned a tuple of {len(out)}",
                    "forward must return only the deterministic action: evaluate() and record_video() call "
                    "policy(s)",
                    forward,
                )
            mean, _ = pi.mean_and_log_std(moderate)
            expected = torch.tanh(mean) * SCALE + BIAS
            again = pi(moderate)
        if not torch.equal(out, again):
            raise Failure(
                "two calls of pi(s) gave different actions",
                "forward samples: the deterministic action is action_scale · tanh(μ) + action_bias",
                forward,
            )
        if not torch.allclose(out, expected, atol=1e-5):
            mistake = "forward is not action_scale · tanh(μ) + action_bias"
            if torch.allclose(out, torch.tanh(mean), atol=1e-5):
                mistake = "no action scaling / no bias on tanh(μ)"
            gap = (out - expected).abs().max()
            raise Failure(
                f"pi(s) differs from action_scale · tanh(μ) + action_bias by {gap:.3g}", mistake, forward
            )

    check_scale_and_bias(report, pi, name)
    return report.all_passed


# ---------------------------------------------------------------------------------------------
# SAC
# ---------------------------------------------------------------------------------------------


@isolated
def check_sac_agent(sac_agent):
    """Check a SAC agent class: sac_agent(config, Q1, Q2, pi), with small reference networks."""
    report, env = Report(sac_agent), fake_env()
    batch = X, A, R, Y, D = fixed_batch()
    gamma, tau = SAC_CONFIG["gamma"], SAC_CONFIG["tau"]

    def make(overrides=None, shifted=True):
        torch.manual_seed(1)
        Q1, Q2 = networks.QNetwork(env, HIDDEN), networks.QNetwork(env, HIDDEN)
        pi = sac_policy.squashedGaussianPolicy(env, HIDDEN)
        agent = sac_agent({**SAC_CONFIG, **(overrides or {})}, Q1, Q2, pi)
        if shifted:  # the online critics differ from the targets: using the wrong ones shows
            perturb(agent.Q1, 2)
            perturb(agent.Q2, 3)
        return agent

    @report.check(
        "sac_agent(config, Q1, Q2, pi) builds, with target critics Q1_target, Q2_target", "__init__"
    )
    def builds():
        agent = make(shifted=False)
        require_attributes(agent, ("Q1", "Q2", "pi", "Q1_target", "Q2_target", "alpha"))
        check_target_copies(agent, (("Q1_target", "Q1"), ("Q2_target", "Q2")))
        if abs(float(agent.alpha) - SAC_CONFIG["alpha"]) > 1e-6:
            raise Failure(
                f"agent.alpha = {float(agent.alpha)} with config alpha = {SAC_CONFIG['alpha']}",
                "α does not start at config['alpha'] (log_alpha = log(config['alpha']))",
                "__init__",
            )

    if not report.all_passed:
        return False

    @report.check(
        "critic_target = r + γ (1 - terminated) [min_i Q'_i(s', a') - α log π(a'|s')]", "critic_target"
    )
    def target_value():
        agent = make()
        alpha = float(agent.alpha)
        Q1_target, Q2_target, Q1, Q2 = (
            deepcopy(getattr(agent, n)) for n in ("Q1_target", "Q2_target", "Q1", "Q2")
        )
        torch.manual_seed(11)
        y = agent.critic_target(R, Y, D)
        torch.manual_seed(11)  # the same a' ~ π(·|s') as critic_target drew
        with torch.no_grad():
            a, log_prob = agent.pi.sample(Y)
            next_q = torch.min(Q1_target(Y, a), Q2_target(Y, a))
            soft_value = next_q - alpha * log_prob
            variants = {
                MISSING_DONE: R + gamma * soft_value,
                DONE_NOT_NEGATED: R + gamma * D * soft_value,
                "the entropy term - α log π(a'|s') is missing from the value of s'": R
                + gamma * (1 - D) * next_q,
                "α log π(a'|s') is added instead of subtracted (the entropy is -log π)": (
                    R + gamma * (1 - D) * (next_q + alpha * log_prob)
                ),
                "log π(a'|s') is not multiplied by α": R + gamma * (1 - D) * (next_q - log_prob),
                "the online critics are used instead of the target critics": (
                    R + gamma * (1 - D) * (torch.min(Q1(Y, a), Q2(Y, a)) - alpha * log_prob)
                ),
                TAKES_MAX: R
                + gamma * (1 - D) * (torch.max(Q1_target(Y, a), Q2_target(Y, a)) - alpha * log_prob),
                MISSING_GAMMA: R + (1 - D) * soft_value,
            }
        formula = "r + γ (1 - terminated) [min_i Q'_i(s', a') - α log π(a'|s')]"
        compare_target(y, R + gamma * (1 - D) * soft_value, variants, formula)

    @report.check("the critic target is detached (no graph)", "critic_target")
    def detached():
        check_detached(make())

    @report.check("critic_step changes both critics only (not the actor, not the targets)", "critic_step")
    def critic_step_moves_theta():
        check_critic_step(make(), batch, ("Q1", "Q2"), ("pi", "Q1_target", "Q2_target"))

    @report.check("the actor loss uses the current critics, not the target critics", "actor_step")
    def current_critics():
        def actor_after_step(change):
            """The actor's weights after one actor_step, same noise ε, once `change` is applied."""
            agent = make()
            for name, seed in change:
                perturb(getattr(agent, name), seed, size=1.0)
            torch.manual_seed(13)
            agent.actor_step(X)
            return snapshot(agent.pi)

        unchanged = actor_after_step([])
        if not same_weights(unchanged, actor_after_step([("Q1_target", 20), ("Q2_target", 21)])):
            raise Failure(
                "the actor's update changed when only the target critics changed",
                "the actor loss uses the target critics: it must use the current ones, "
                "mean [α log π(a|s) - min_i Q(s, a; θ_i)] with a ~ π(·|s)",
                "actor_step",
            )
        if same_weights(unchanged, actor_after_step([("Q1", 22), ("Q2", 23)])):
            raise Failure(
                "the actor's update did not change when the current critics changed",
                "the actor loss does not use the current critics Q1 and Q2",
                "actor_step",
            )

    @report.check(
        "actor_step changes w only, and leaves the critics' parameters and .grad untouched", "actor_step"
    )
    def actor_step_moves_w():
        check_actor_step(make(), X, ("Q1", "Q2"), ("Q1_target", "Q2_target"))

    @report.check("actor_step lowers mean [α log π(a|s) - min_i Q(s, a)] on the batch", "actor_step")
    def actor_step_lowers_loss():
        agent = make()
        alpha = float(agent.alpha)

        def actor_loss():  # with the same noise ε each time
            torch.manual_seed(17)
            with torch.no_grad():
                a, log_prob = agent.pi.sample(X)
                return (alpha * log_prob - torch.min(agent.Q1(X, a), agent.Q2(X, a))).mean().item()

        before = actor_loss()
        torch.manual_seed(17)
        agent.actor_step(X)
        after = actor_loss()
        if not after < before:
            raise Failure(
                f"mean [α log π(a|s) - min_i Q(s, a)], same noise ε, went from {before:.4f} to {after:.4f}",
                "the actor loss has the wrong sign: minimise mean [α log π(a|s) - min_i Q(s, a)]",
                "actor_step",
            )

    @report.check(
        "temperature_step: α falls when the entropy is above target, rises when below", "temperature_step"
    )
    def temperature():
        moves = {}
        for label, log_prob in (("above", -5.0), ("below", 5.0)):  # entropy estimates 5 and -5
            agent = make()
            before = float(agent.alpha)
            agent.temperature_step(torch.full((BATCH,), log_prob))
            moves[label] = float(agent.alpha) - before
        seen = (
            f"with target entropy {SAC_CONFIG['target_entropy']}, α moved by {moves['above']:+.3g} for an "
            f"entropy estimate of 5 (above target) and by {moves['below']:+.3g} for -5 (below target)"
        )
        if moves["above"] == 0 and moves["below"] == 0:
            raise Failure(
                seen,
                "α does not change: no optimizer step on log α, or α is a plain number (learn_alpha ignored)",
                "temperature_step",
            )
        if moves["above"] > 0 and moves["below"] < 0:
            raise Failure(
                seen,
                "the sign of the temperature loss is flipped: L(α) = -log α · mean(log π + H̄), so that α "
                "falls when the entropy -mean log π is above the target H̄",
                "temperature_step",
            )
        if not (moves["above"] < 0 and moves["below"] > 0):
            raise Failure(
                seen,
                "α must fall when the entropy -mean log π is above the target and rise when it is below: "
                "L(α) = -log α · mean(log π + H̄)",
                "temperature_step",
            )

    @report.check("soft_update: θ'_i ← τ θ_i + (1 - τ) θ'_i for both critics", "soft_update")
    def soft_update():
        check_soft_update(make(), (("Q1_target", "Q1"), ("Q2_target", "Q2")), tau)

    @report.check("explore samples a NumPy action a ~ π(·|s) within the bounds", "explore")
    def explore():
        check_explore(make(), "sampled from the policy", "explore must sample a ~ π(·|s), not take pi(s)")

    return report.all_passed
