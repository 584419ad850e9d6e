"""A replay buffer for off-policy agents (DDPG, TD3, SAC).

The buffer keeps the last `capacity` transitions (s, a, r, s', terminated) in tensors that are
allocated once, at the first `append`, on the agent's device. Appending writes one row in place;
sampling draws row indices on the device and gathers whole batches at once, so that no Python
list of tuples is walked and no sample is converted one by one.
"""

import numpy as np
import torch


class ReplayBuffer:
    def __init__(self, capacity, device="cpu"):
        if capacity != int(capacity) or capacity < 1:
            raise ValueError(
                f"ReplayBuffer capacity must be a positive whole number, got {capacity!r}; "
                "a float such as 1e6 is fine."
            )
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.next_index = 0  # the row that the next transition overwrites
        self.size = 0  # how many rows hold a transition
        self.storage = None  # allocated at the first append, when the shapes are known

    def _allocate(self, state, action):
        def rows(*shape):
            return torch.zeros((self.capacity, *shape), dtype=torch.float32, device=self.device)

        self.storage = {
            "state": rows(*np.shape(state)),
            "action": rows(*np.shape(action)),
            "reward": rows(),
            "next_state": rows(*np.shape(state)),
            "terminated": rows(),
        }

    def append(self, state, action, reward, next_state, terminated):
        """Store one transition. `terminated` is True only when the MDP ended (not on truncation)."""
        if self.storage is None:
            self._allocate(state, action)
        row = self.next_index
        self.storage["state"][row] = torch.as_tensor(state, dtype=torch.float32)
        self.storage["action"][row] = torch.as_tensor(action, dtype=torch.float32)
        self.storage["reward"][row] = float(reward)
        self.storage["next_state"][row] = torch.as_tensor(next_state, dtype=torch.float32)
        self.storage["terminated"][row] = float(terminated)
        # Past capacity, the oldest transition is overwritten (a ring buffer).
        self.next_index = (row + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """Draw `batch_size` transitions uniformly (with replacement) as float32 tensors.

        Returns X, A, R, Y, D: states (B, obs_dim), actions (B, act_dim), rewards (B,),
        next states (B, obs_dim) and terminated flags (B,), all on the buffer's device.
        """
        if batch_size > self.size:
            raise ValueError(
                f"Cannot sample {batch_size} transitions: the buffer holds only {self.size}. "
                "Append more transitions first (or wait longer before learning)."
            )
        rows = torch.randint(0, self.size, (batch_size,), device=self.device)
        return tuple(
            self.storage[name][rows]
            for name in ("state", "action", "reward", "next_state", "terminated")
        )

    def __len__(self):
        return self.size
