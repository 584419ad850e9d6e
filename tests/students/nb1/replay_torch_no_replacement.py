# Exercise 5.2 with torch tensors and a "full" flag; a minibatch is drawn without replacement (randperm).
import torch


class ReplayBuffer:
    def __init__(self, capacity, device="cpu"):
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.index = 0
        self.full = False
        self.data = None

    def append(self, state, action, reward, next_state, terminated):
        values = [torch.as_tensor(v, dtype=torch.float32) for v in (state, action, reward, next_state, terminated)]
        if self.data is None:
            self.data = [torch.empty((self.capacity, *v.shape), device=self.device) for v in values]
        for storage, value in zip(self.data, values):
            storage[self.index] = value
        self.index += 1
        if self.index == self.capacity:
            self.index, self.full = 0, True

    def sample(self, batch_size):
        rows = torch.randperm(len(self), device=self.device)[:batch_size]
        X, A, R, Y, D = (storage[rows] for storage in self.data)
        return X, A, R, Y, D

    def __len__(self):
        return self.capacity if self.full else self.index
