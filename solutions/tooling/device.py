"""Where the networks live: the GPU when there is one, else the CPU, without the student choosing.

`pick_device("auto")` is what the CLI's `--device auto` and the notebooks' set-up call. An agent
then takes its device from the networks it is given (`next(pi.parameters()).device`) and puts its
replay buffer, noise, targets and temperature there too.
"""

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def pick_device(name="auto"):
    """torch.device for 'auto' (CUDA when available, else CPU), 'cpu' or 'cuda'."""
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {name!r}.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for, but torch sees no GPU (torch.cuda.is_available() is False): "
            "use 'auto' or 'cpu', or install a CUDA build of torch on a machine with a GPU."
        )
    return torch.device(name)


def on_device(networks, device):
    """The networks (a name -> module dict, as `agents.build_networks` gives), moved to `device`."""
    return {name: network.to(device) for name, network in networks.items()}


def describe_device(device, doing="Training"):
    """One line for the user: which device trains (or, with `doing`, evaluates...), and what it is."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{doing} on the GPU: {torch.cuda.get_device_name(device)}."
    threads = torch.get_num_threads()
    return f"{doing} on the CPU ({threads} torch thread{'s' if threads != 1 else ''}); no GPU is used."
