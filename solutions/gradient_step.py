"""One gradient step on a loss, for exactly the parameters that one optimizer trains.

The usual three lines, `optimizer.zero_grad()`, `loss.backward()`, `optimizer.step()`, compute the
gradient of the loss with respect to every tensor that requires one and add it to that tensor's
`.grad`. In an actor-critic update this is wasted work: the actor's loss goes through the critic,
so `backward()` also computes the critic's weight gradients, which the actor's optimizer ignores
(unless the critic is frozen with `requires_grad_(False)` before, and thawed after).

`torch.autograd.grad(loss, parameters)` computes ∇ loss with respect to the listed tensors only and
returns it instead of accumulating it. Handing it to the optimizer gives the same step, bit for
bit, with less work (see the README's speed section for what it saves).
"""

import torch


def gradient_step(optimizer, loss):
    """One step of `optimizer` along ∇_θ loss, θ its parameters; no other gradient is computed.

    The same as zero_grad(set_to_none=True), loss.backward(), step(), for the optimizer's parameters.
    """
    parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    # allow_unused: a parameter the loss does not depend on gets no gradient (None), and the
    # optimizer leaves it alone, as after zero_grad(set_to_none=True) and backward().
    gradients = torch.autograd.grad(loss, parameters, allow_unused=True)
    for parameter, gradient in zip(parameters, gradients):
        parameter.grad = gradient  # where torch.optim reads the gradient from
    optimizer.step()
