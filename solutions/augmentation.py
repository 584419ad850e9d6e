"""DrQ's random shifts (Kostrikov et al., 2021): the data augmentation of DDPG from pixels.

Before each update, `pixel_ddpg_agent` moves every image of its minibatch (s and s' independently) by
a few pixels, each by its own random amount, so that the critic sees each stored state in many
slightly different positions instead of one.
"""

import torch
import torch.nn.functional as F


def random_shift(pixels, pad=4):
    """DrQ's augmentation (Kostrikov et al., 2021): each image of a batch (B, C, H, W) moved by its own
    random shift of up to `pad` pixels in each direction, the edge pixels repeated into the gap.

    The critic then sees each stored state in many slightly different positions, and learns values
    that do not hinge on the exact pixel: far fewer frames to learn from pixels. All C frames of one
    stack move together (they are one observation).
    """
    batch, channels, height, width = pixels.shape
    padded = F.pad(pixels, (pad, pad, pad, pad), mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, batch, 1, 1, 1), device=pixels.device)
    rows = torch.arange(height, device=pixels.device).view(1, 1, height, 1) + dy  # (B, 1, H, 1)
    cols = torch.arange(width, device=pixels.device).view(1, 1, 1, width) + dx  # (B, 1, 1, W)
    samples = torch.arange(batch, device=pixels.device).view(batch, 1, 1, 1)
    frames = torch.arange(channels, device=pixels.device).view(1, channels, 1, 1)
    return padded[samples, frames, rows, cols]  # (B, C, H, W): the window of each image at its shift
