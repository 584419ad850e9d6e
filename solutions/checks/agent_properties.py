"""Properties that several agents share: the critic target compared with a hand computation, the
target copies, the critic and actor steps, the soft update, exploration and a detached target."""

import numpy as np
import torch

from solutions.checks.fixtures import ACT_DIM, HIGH, LOW, OBS_DIM, fixed_batch, perturb
from solutions.checks.report import Failure, numbers, shape, tensor

# The likely mistakes that several checks name.
MISSING_DONE = "the (1 - terminated) factor is missing: after a terminal state there is no future value"
DONE_NOT_NEGATED = "terminated is used where (1 - terminated) belongs"
MISSING_GAMMA = "the discount γ is missing"
TAKES_MAX = "the larger of the twin target critics is taken: the target takes their minimum"
NOT_DETACHED = (
    "the target is not detached: compute it under torch.no_grad() (it is a fixed regression label), "
    "otherwise the critic's loss.backward() also runs back into the target computation"
)


def snapshot(module):
    """A copy of the module's parameters, to compare with later."""
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    """Whether the module's parameters differ from the snapshot `before`."""
    return any(not torch.equal(b, p.detach()) for b, p in zip(before, module.parameters(), strict=True))


def same_weights(first, second):
    """Whether two lists of parameters are equal."""
    return all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def compare_target(y, expected, variants, formula=None, equation="the equation"):
    """Compare a critic target y with the hand computation `expected` (one value per transition);
    if it differs, name the mistake of the first variant it matches, else say to compare it with
    `equation`. The FAIL line names `formula`, or shows both sets of values where formula is None
    (for a few hand-picked numbers)."""
    y, n = tensor(y, "the target y", "critic_target"), len(expected)
    if y.shape != expected.shape:
        if y.shape == (n, 1):
            mistake = "a Q-value or reward of shape (B, 1): squeeze(-1), so that y has shape (B,)"
        elif y.shape == (n, n):
            mistake = "a (B, 1) tensor combined with a (B,) tensor broadcasts to (B, B): give both shape (B,)"
        else:
            mistake = "a sum or a mean over the batch, or a reshape: the target has one value per transition"
        raise Failure(f"y has shape {shape(y)}, expected ({n},)", mistake, "critic_target")
    y = y.detach().float()
    if torch.allclose(y, expected, atol=1e-5, rtol=1e-5):
        return
    if formula is None:
        seen = f"y = {numbers(y)}, expected {numbers(expected)} by hand"
    else:
        seen = f"y differs from the hand computation {formula} by up to {(y - expected).abs().max():.3g}"
    for mistake, variant in variants.items():
        if torch.allclose(y, variant, atol=1e-5, rtol=1e-5):
            raise Failure(seen, mistake, "critic_target")
    raise Failure(seen, f"a different formula: compare each term with {equation}", "critic_target")


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
