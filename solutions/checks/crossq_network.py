"""Check for the batch-normalised critic of notebook 4 (crossQNetwork in solutions/crossq.py)."""

from copy import deepcopy

import torch
import torch.nn as nn

from solutions.checks.fixtures import ACT_DIM, BATCH, BIAS, OBS_DIM, SCALE, fake_env
from solutions.checks.report import Failure, NotJudged, Report, isolated, shape, tensor

WIDTHS = (24, 16)  # two different widths, so that each hidden layer's BN can be told apart
MOMENTUM = 0.01


def batch_norms(network):
    return [module for module in network.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]


@isolated
def check_crossq_network(crossQNetwork):
    """Check a batch-normalised critic class: crossQNetwork(env, hidden_sizes), forward(state, action)."""
    report, name = Report(crossQNetwork), getattr(crossQNetwork, "__name__", "crossQNetwork")
    init, forward = f"{name}.__init__", f"{name}.forward"
    built = f"{name}(env, hidden_sizes={WIDTHS}) builds, with parameters"
    Q = report.build(built, lambda: crossQNetwork(fake_env(), WIDTHS), init)
    if Q is None:
        return False
    if not list(Q.parameters()):
        report.fail(
            built,
            "the network has no parameters",
            "layers kept in a plain Python list (use nn.Sequential or nn.ModuleList) or built in forward",
            init,
        )
        return False
    g = torch.Generator().manual_seed(3)
    S, A = torch.randn(BATCH, OBS_DIM, generator=g), BIAS + SCALE * (2 * torch.rand(BATCH, ACT_DIM, generator=g) - 1)

    def values(network, states=S, actions=A, mode="train"):
        """Q(states, actions) of a copy of the network, in training or evaluation mode (the copy keeps
        the network's running statistics as they are)."""
        network = deepcopy(network).train(mode == "train")
        with torch.no_grad():
            return tensor(network(states, actions), "Q(s, a)", forward)

    @report.check("Q(s, a) for a batch has shape (B,), in training and in evaluation mode", forward)
    def batch_shape():
        for mode in ("train", "eval"):
            out = values(Q, mode=mode)
            if out.shape == (BATCH, 1):
                raise Failure(
                    f"in {mode} mode, for a batch of {BATCH} pairs, Q(s, a) has shape (B, 1)",
                    "no squeeze(-1) at the end of forward: the targets have shape (B,), and (B, 1) - (B,) "
                    "broadcasts to (B, B) in the loss without any error",
                    forward,
                )
            if out.shape != (BATCH,):
                raise Failure(
                    f"in {mode} mode, for a batch of {BATCH} pairs, Q(s, a) has shape {shape(out)}, "
                    f"expected ({BATCH},)",
                    "the last layer does not output one value, or state and action are not concatenated "
                    "along the last dimension",
                    forward,
                )

    widths = f"the hidden Linear layers have hidden_sizes = {WIDTHS} outputs, the last one 1"

    @report.check(widths, init)
    def linear_widths():
        outputs = [module.out_features for module in Q.modules() if isinstance(module, nn.Linear)]
        if any(width not in outputs for width in (*WIDTHS, 1)):
            raise Failure(
                f"with hidden_sizes = {WIDTHS}, the Linear layers have {outputs} outputs",
                "hidden_sizes is not used (fixed widths), or a Linear layer is missing: one Linear layer per "
                "width of hidden_sizes, then one Linear layer to a single value",
                init,
            )

    @report.check("batch normalisation of [s, a] and after each hidden layer (Linear → ReLU → BN)", init)
    def normalised():
        norms = batch_norms(Q)
        if not norms:
            raise Failure(
                "the network has no batch normalisation layer",
                "no nn.BatchNorm1d: CrossQ's critic normalises [s, a] and the output of each hidden layer",
                init,
            )
        # BN of the input in training mode: shifting every state and action of the batch by the same
        # constant changes nothing, since each feature is centred on its batch mean.
        shift = torch.linspace(-3.0, 4.0, OBS_DIM + ACT_DIM)
        shifted = values(Q, S + shift[:OBS_DIM], A + shift[OBS_DIM:])
        if not torch.allclose(shifted.reshape(-1), values(Q).reshape(-1), atol=1e-4, rtol=1e-4):
            raise Failure(
                "in training mode, adding the same constant to every state and action of the batch changes "
                "Q(s, a)",
                "[s, a] is not normalised: the first layer is nn.BatchNorm1d(obs_dim + act_dim, momentum=0.01), "
                "before the first Linear layer",
                init,
            )
        if widths in report.failed:  # the widths are wrong: the BN of each hidden layer cannot be found
            raise NotJudged("BN after each hidden layer not judged while the widths are wrong (see the FAIL above)")
        sizes = [norm.num_features for norm in norms]
        missing = [width for width in WIDTHS if width not in sizes]
        if missing:
            raise Failure(
                f"with hidden_sizes = {WIDTHS}, the BN layers normalise {sizes} features: none has {missing[0]}",
                f"no BN after the hidden layer of width {missing[0]}: Linear → ReLU → nn.BatchNorm1d(width, "
                "momentum=0.01) for each width of hidden_sizes",
                init,
            )

    @report.check(f"every BN layer has momentum = {MOMENTUM} (running averages over ~100 batches)", init)
    def momentum():
        norms = batch_norms(Q)
        if not norms:
            raise NotJudged("not judged without BN layers (see the FAIL above)")
        wrong = sorted({norm.momentum for norm in norms if norm.momentum != MOMENTUM}, key=str)
        if not wrong:
            return
        if 0.99 in wrong:
            mistake = (
                "momentum=0.99 is Flax's convention (the decay of the old average); PyTorch's momentum is the "
                "weight of the new batch: 0.01"
            )
        elif 0.1 in wrong:
            mistake = "PyTorch's default momentum 0.1 is kept: pass nn.BatchNorm1d(n, momentum=0.01)"
        else:
            mistake = "pass nn.BatchNorm1d(n, momentum=0.01) to every BN layer"
        raise Failure(f"BN layers with momentum {wrong}", mistake, init)

    @report.check("Q(s, a) depends on the state and on the action", forward)
    def depends():
        for varied in ("action", "state"):
            states, actions = (S, A.flip(0)) if varied == "action" else (S.flip(0), A)
            if torch.allclose(values(Q, states, actions, "eval").reshape(-1), values(Q, mode="eval").reshape(-1),
                              atol=1e-7):
                raise Failure(
                    f"in evaluation mode, Q(s, a) did not change when the {varied}s changed",
                    f"the {varied} is not fed to the network: use torch.cat([state, action], dim=-1)",
                    forward,
                )

    @report.check("gradients reach every parameter", forward)
    def gradients():
        network = deepcopy(Q).train()
        network.zero_grad(set_to_none=True)
        out = network(S, A).reshape(-1)
        # Weighted: in training mode the plain sum of a BN layer's outputs over the batch does not depend
        # on its inputs, so .sum() would send no gradient below it.
        (out * torch.linspace(-1.0, 2.0, BATCH)).sum().backward()
        dead = [n for n, p in network.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
        if dead:
            raise Failure(
                f"no gradient reaches {', '.join(dead)}",
                "a layer defined in __init__ but not used in forward, or a .detach(), .item() or NumPy "
                "conversion inside forward",
                forward,
            )

    return report.all_passed
