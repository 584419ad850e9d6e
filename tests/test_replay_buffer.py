import numpy as np
import pytest
import torch

from solutions.replay_buffer import ReplayBuffer


def fill(buffer, n, obs_dim=3, act_dim=2, start=0):
    for i in range(start, start + n):
        buffer.append(np.full(obs_dim, i), np.full(act_dim, i), i, np.full(obs_dim, i + 0.5), i % 2 == 0)


def test_sample_shapes_dtypes_and_device():
    buffer = ReplayBuffer(100, "cpu")
    fill(buffer, 10)
    X, A, R, Y, D = buffer.sample(8)
    assert X.shape == (8, 3) and A.shape == (8, 2) and R.shape == (8,) and Y.shape == (8, 3) and D.shape == (8,)
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in (X, A, R, Y, D))


def test_float_capacity_is_accepted():
    buffer = ReplayBuffer(1e3, "cpu")
    assert buffer.capacity == 1000
    with pytest.raises(ValueError, match="positive whole number"):
        ReplayBuffer(2.5, "cpu")


def test_wraps_around_keeping_the_newest():
    buffer = ReplayBuffer(5, "cpu")
    fill(buffer, 12)
    assert len(buffer) == 5
    X, A, R, Y, D = (torch.cat(batch) for batch in zip(*(buffer.sample(5) for _ in range(100))))
    assert set(R.tolist()) == {7.0, 8.0, 9.0, 10.0, 11.0}
    # each row stays one transition: s, a, r, s' and the flag of the same step
    assert torch.equal(X[:, 0], R) and torch.equal(A[:, 1], R) and torch.equal(Y[:, 0], R + 0.5)
    assert torch.equal(D, (R % 2 == 0).float())


def test_terminated_is_stored_as_given_not_truncation():
    buffer = ReplayBuffer(10, "cpu")
    buffer.append(np.zeros(3), np.zeros(2), 1.0, np.ones(3), False)  # e.g. a time-limit truncation
    buffer.append(np.zeros(3), np.zeros(2), 2.0, np.ones(3), True)  # a real termination
    _, _, R, _, D = buffer.sample(2)
    assert torch.equal(D, (R == 2.0).float())


def test_sampling_more_than_stored_says_how_many_are_stored():
    buffer = ReplayBuffer(100, "cpu")
    fill(buffer, 3)
    with pytest.raises(ValueError, match="holds only 3"):
        buffer.sample(4)


def test_storage_is_allocated_once():
    buffer = ReplayBuffer(50, "cpu")
    fill(buffer, 1)
    storage = buffer.storage["state"]
    fill(buffer, 120, start=1)
    assert buffer.storage["state"] is storage and storage.shape == (50, 3)
