"""The replay buffer of DDPG from pixels: frame stacks stored as uint8, each frame once.

DDPG's ReplayBuffer stores s and s' as float32 rows: for (4, 84, 84) frame stacks and 2 actions that is
225,808 bytes per transition, 22.6 GB for 100k transitions. `PixelReplayBuffer` stores frames as uint8 and
shares the frames that s and s' have in common (see its docstring): 35.3 kB per transition, 3.5 GB
for 100k transitions. The default capacity of `pixel_ddpg_agent`, 100k, is cut to half the memory
available when that is less (`fitting_buffer_size`, with `available_memory_bytes` and
`transition_bytes`).
"""

import os

import numpy as np
import torch


class PixelReplayBuffer:
    """A replay buffer for frame-stacked uint8 observations, with ReplayBuffer's append/sample contract.

    With frame stacking, s' is s shifted by one frame: s = (f1, f2, f3, f4) and s' = (f2, f3, f4, f5).
    So each transition stores the 5 frames (f1, ..., f5) once, as uint8, in one row of shape
    (stack + 1, H, W); s and s' are the first 4 and the last 4 of them. `append` checks the overlap
    and refuses observations that do not have it (they are not frame stacks).

    Memory per transition, 4x84x84 stacks and 2 actions: 5 · 84 · 84 = 35,280 bytes of frames, plus
    8 bytes of action and 8 of reward and terminated flag: 35,296 bytes, 3.5 GB for 100k transitions.
    (Storing s and s' separately as uint8 would take 56,464 bytes; as float32, 225,808 bytes.)
    The storage is allocated once with torch.empty: the operating system commits its pages as they
    are written, so a buffer that is a tenth full uses about a tenth of that memory.

    `sample` returns float32 tensors; X and Y hold the pixel values 0..255 unscaled (the networks
    scale them to [0, 1]).
    """

    def __init__(self, capacity, device="cpu"):
        if capacity != int(capacity) or capacity < 1:
            raise ValueError(f"PixelReplayBuffer capacity must be a positive whole number, got {capacity!r}.")
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.next_index = 0
        self.size = 0
        self.storage = None

    def _allocate(self, state, action):
        def rows(*shape, dtype=torch.float32):
            return torch.empty((self.capacity, *shape), dtype=dtype, device=self.device)

        stack, height, width = state.shape
        self.storage = {
            "frames": rows(stack + 1, height, width, dtype=torch.uint8),  # f1 ... f5
            "action": rows(*np.shape(action)),
            "reward": rows(),
            "terminated": rows(),
        }

    @property
    def bytes_per_transition(self):
        """Bytes of storage per transition (0 before the first append)."""
        if self.storage is None:
            return 0
        return sum(tensor[0].nelement() * tensor.element_size() for tensor in self.storage.values())

    def append(self, state, action, reward, next_state, terminated):
        """Store one transition. `state` and `next_state` are (stack, H, W) uint8 frame stacks."""
        state, next_state = np.asarray(state), np.asarray(next_state)
        if state.dtype != np.uint8 or state.ndim != 3:
            raise TypeError(
                f"PixelReplayBuffer stores (stack, H, W) uint8 frame stacks, got {state.dtype} of shape "
                f"{state.shape}. Build the environment with make_pixel_env."
            )
        if not np.array_equal(state[1:], next_state[:-1]):
            raise ValueError(
                "next_state is not state shifted by one frame: PixelReplayBuffer stores the frames "
                "that state and next_state share only once, which needs FrameStackObservation stacks."
            )
        if self.storage is None:
            self._allocate(state, action)
        row = self.next_index
        self.storage["frames"][row, :-1] = torch.from_numpy(state)
        self.storage["frames"][row, -1] = torch.from_numpy(next_state[-1])
        self.storage["action"][row] = torch.as_tensor(action, dtype=torch.float32)
        self.storage["reward"][row] = float(reward)
        self.storage["terminated"][row] = float(terminated)
        self.next_index = (row + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """Draw `batch_size` transitions uniformly (with replacement): X, A, R, Y, D, float32 tensors.

        Shapes (B, stack, H, W), (B, act_dim), (B,), (B, stack, H, W), (B,); X and Y in 0..255.
        """
        if batch_size > self.size:
            raise ValueError(
                f"Cannot sample {batch_size} transitions: the buffer holds only {self.size}. "
                "Append more transitions first (or wait longer before learning)."
            )
        rows = torch.randint(0, self.size, (batch_size,), device=self.device)
        frames = self.storage["frames"][rows]  # uint8 until the two slices below
        return (
            frames[:, :-1].float(),
            self.storage["action"][rows],
            self.storage["reward"][rows],
            frames[:, 1:].float(),
            self.storage["terminated"][rows],
        )

    def __len__(self):
        return self.size


def available_memory_bytes():
    """Memory the system can give without swapping: MemAvailable of /proc/meminfo (Linux), else the
    free physical pages that os.sysconf reports; None where neither is known."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def transition_bytes(observation_shape, action_dim):
    """PixelReplayBuffer's bytes per transition: stack + 1 uint8 frames, float32 action, reward, flag."""
    stack, height, width = observation_shape
    return (stack + 1) * height * width + 4 * action_dim + 4 + 4


def fitting_buffer_size(requested, chosen_by_user, bytes_per_transition, available_bytes):
    """The replay buffer's capacity: the default is cut to half the available memory (and says so);
    a capacity the user chose that cannot fit in the available memory is an error, at once."""
    if available_bytes is None:
        return int(requested)
    needed, gigabyte = requested * bytes_per_transition, 1e9
    if chosen_by_user:
        if needed > available_bytes:
            raise ValueError(
                f"pixel_ddpg_agent: config 'buffer_size' {int(requested):,} needs {needed / gigabyte:.1f} GB of "
                f"replay memory, but {available_bytes / gigabyte:.1f} GB is available; lower buffer_size to at most "
                f"{int(available_bytes // bytes_per_transition):,}."
            )
        return int(requested)
    fitting = int(0.5 * available_bytes // bytes_per_transition)
    if requested <= fitting:
        return int(requested)
    size = fitting * bytes_per_transition / gigabyte
    print(
        f"pixel_ddpg_agent: replay buffer of {fitting:,} transitions ({size:.1f} GB, "
        f"half of the {available_bytes / gigabyte:.1f} GB of available memory) instead of the default "
        f"{int(requested):,}; set config['buffer_size'] to choose."
    )
    return fitting
