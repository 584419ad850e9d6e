import numpy as np
import torch


class PixelReplayBuffer:
    """NumPy rows of 5 uint8 frames (the 4 of s, then the newest of s'), allocated at the first append."""

    def __init__(self, capacity, device="cpu"):
        self.capacity, self.device = int(capacity), device
        self.index, self.size = 0, 0
        self.frames = None

    def append(self, state, action, reward, next_state, terminated):
        if self.frames is None:
            # np.zeros: the memory is only taken as rows are written
            self.frames = np.zeros((self.capacity, state.shape[0] + 1, *state.shape[1:]), np.uint8)
            self.actions = np.zeros((self.capacity, np.size(action)), np.float32)
            self.rewards = np.zeros(self.capacity, np.float32)
            self.dones = np.zeros(self.capacity, np.float32)
        self.frames[self.index, :-1] = state
        self.frames[self.index, -1] = next_state[-1]
        self.actions[self.index] = action
        self.rewards[self.index] = reward
        self.dones[self.index] = terminated
        self.index = (self.index + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        rows = np.random.randint(0, self.size, size=batch_size)
        frames = torch.as_tensor(self.frames[rows], device=self.device).float()

        def tensor(array):
            return torch.as_tensor(array[rows], device=self.device)

        return frames[:, :-1], tensor(self.actions), tensor(self.rewards), frames[:, 1:], tensor(self.dones)

    def __len__(self):
        return self.size
