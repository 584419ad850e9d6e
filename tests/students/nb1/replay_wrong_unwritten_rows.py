# Exercise 5.2 with a mistake: the rows are drawn among all `capacity` places, written or not.
import torch


class ReplayBuffer:
    def __init__(self, capacity, device):
        self.capacity = int(capacity)
        self.device = device
        self.position = 0
        self.count = 0
        self.storage = None

    def append(self, state, action, reward, next_state, terminated):
        fields = [torch.as_tensor(v, dtype=torch.float32) for v in (state, action, reward, next_state, terminated)]
        if self.storage is None:
            self.storage = [torch.zeros(self.capacity, *f.shape, device=self.device) for f in fields]
        for column, f in zip(self.storage, fields):
            column[self.position] = f
        self.position = (self.position + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)

    def sample(self, batch_size):
        rows = torch.randint(0, self.capacity, (batch_size,), device=self.device)
        return tuple(column[rows] for column in self.storage)

    def __len__(self):
        return self.count
