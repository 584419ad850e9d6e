"""Check for the replay buffer of notebook 1 (solutions/replay_buffer.py)."""

import torch

from solutions.checks.fixtures import ACT_DIM, OBS_DIM, transition
from solutions.checks.report import Failure, Report, isolated, numbers, tensor


@isolated
def check_replay_buffer(ReplayBuffer):
    """Check a replay buffer class: ReplayBuffer(capacity, device), append, sample and len. Sampling
    with or without replacement both pass; sampling more than stored is not judged (the agents wait
    for one batch before they sample)."""
    report, name = Report(ReplayBuffer), getattr(ReplayBuffer, "__name__", "ReplayBuffer")
    append, sample = f"{name}.append", f"{name}.sample"

    def filled(capacity, count):
        buffer = ReplayBuffer(capacity, "cpu")
        for i in range(count):
            buffer.append(*transition(i))
        return buffer

    def ids(batch):
        """The number of each sampled transition, read from its state."""
        return torch.as_tensor(batch[0])[:, 0]

    on_error = "a float capacity such as 1e3 used as a size or an index: convert it with int(capacity)"

    @report.check("ReplayBuffer(1e3, device) accepts a float capacity", f"{name}.__init__", on_error)
    def float_capacity():
        buffer = filled(1e3, 1003)
        if len(buffer) != 1000:
            raise Failure(
                f"ReplayBuffer(1e3) holds {len(buffer)} transitions after 1003 appends, expected 1000",
                "the capacity 1e3, a float, is not turned into an int (int(capacity)), or not enforced",
                f"{name}.__init__ and append",
            )
        buffer.sample(4)

    @report.check("len() counts the stored transitions", f"{name}.__len__")
    def length():
        buffer, counts = ReplayBuffer(10, "cpu"), []
        for i in range(13):
            counts.append(len(buffer))
            buffer.append(*transition(i))
        if counts != [*range(11), 10, 10]:
            raise Failure(
                f"len() gave {counts} after 0 to 12 appends, with capacity 10",
                "__len__ counts something else than the stored transitions (at most capacity)",
                f"{name}.__len__",
            )

    @report.check("sample gives float32 tensors X (B, obs), A (B, act), R (B,), Y (B, obs), D (B,)", sample)
    def shapes_and_dtypes():
        expected = {"X": (8, OBS_DIM), "A": (8, ACT_DIM), "R": (8,), "Y": (8, OBS_DIM), "D": (8,)}
        for label, value in zip(expected, filled(100, 20).sample(8), strict=True):
            tensor(value, label, sample)
            if tuple(value.shape) != expected[label]:
                mistake = "the rows are stacked in the wrong way"
                if value.shape[-1:] == (1,) and value.dim() == 2:
                    mistake = "a trailing dimension of 1: shape (B, 1) broadcasts with Q-values (B,) into (B, B)"
                raise Failure(f"{label} has shape {tuple(value.shape)}, expected {expected[label]}", mistake, sample)
            if value.dtype != torch.float32:
                raise Failure(
                    f"{label} has dtype {value.dtype}",
                    "environments give float64 arrays and bools: convert with dtype=torch.float32 "
                    "(float64 inputs to float32 networks raise an error, and 1 - D fails on bools)",
                    f"{append} or sample",
                )

    @report.check("each sampled row is one stored transition", sample)
    def rows_consistent():
        buffer = filled(100, 40)
        for _ in range(5):
            X, A, R, Y, D = (torch.as_tensor(value).float() for value in buffer.sample(16))
            # Rows never written (all zeros) are judged by the property on drawing only stored transitions.
            written = (X.abs().sum(-1) + Y.abs().sum(-1)) > 0
            X, A, R, Y, D = X[written], A[written], R.reshape(-1)[written], Y[written], D.reshape(-1)[written]
            i, wrong = X[:, 0], []
            if not torch.allclose(A, torch.stack([i / 100, -i / 100], dim=1), atol=1e-6):
                wrong.append("A")
            if not torch.allclose(R.reshape(-1), i):
                wrong.append("R")
            if not torch.allclose(Y, X + 0.5):
                wrong.append("Y")
            terminal = (i % 3 == 0).float()
            if not (torch.equal(D.reshape(-1), terminal) or torch.equal(D.reshape(-1), 1 - terminal)):
                wrong.append("D")
            if wrong:
                raise Failure(
                    f"in sampled rows, {', '.join(wrong)} do not belong to the same transition as X",
                    "X, A, R, Y, D drawn with different random indices, or fields stored in another order "
                    "than append(s, a, r, s', terminated): draw one set of indices and gather every field "
                    "with it",
                    f"{sample} and append",
                )

    @report.check("terminated is stored as given (truncation is not termination)", append)
    def terminated_as_given():
        for flag in (True, False):
            buffer = ReplayBuffer(30, "cpu")
            for i in range(30):
                state, action, reward, next_state, _ = transition(i)
                buffer.append(state, action, reward, next_state, flag)
            D = torch.as_tensor(buffer.sample(30)[4]).float().reshape(-1)
            if torch.all(D == float(flag)):
                continue
            if torch.all(D == 1 - float(flag)):
                mistake = (
                    "the buffer stores 1 - terminated (a 'not done' mask); store terminated as given, the "
                    "agents compute (1 - D) themselves"
                )
            elif torch.all(D == 0):
                mistake = "terminated is not stored (D is always 0)"
            else:
                mistake = "terminated is stored altered, or sampled from other rows than the states"
            raise Failure(
                f"after appending only terminated={flag} transitions, D holds {numbers(D.unique())}",
                f"{mistake}. Append `terminated`, never `terminated or truncated`: a time-limit "
                "truncation is not the end of the MDP",
                append,
            )

    @report.check("past capacity, the newest transitions replace the oldest", append)
    def wraps_around():
        buffer = filled(10, 25)
        if len(buffer) != 10:
            raise Failure(
                f"after 25 appends with capacity 10, len() = {len(buffer)}",
                "the buffer grows past its capacity, or len() counts the appends",
                append,
            )
        seen = {int(i) for _ in range(30) for i in ids(buffer.sample(10)).tolist()}
        if seen != set(range(15, 25)):
            if seen <= set(range(10)):
                mistake = "appending stops at capacity: the newest transitions are dropped, not the oldest"
            else:
                mistake = "the write index does not wrap around to 0 at capacity (a ring buffer)"
            raise Failure(
                f"with capacity 10 and transitions 0 to 24 appended, samples hold {sorted(seen)}, expected 15 to 24",
                mistake,
                append,
            )

    @report.check("sample draws only stored transitions, never rows not written yet", sample)
    def only_stored():
        buffer, strays = filled(100, 10), 0
        for _ in range(20):
            X, _, _, Y, _ = (torch.as_tensor(value).float() for value in buffer.sample(8))
            i = X[:, 0]
            never_written = (X.abs().sum(-1) + Y.abs().sum(-1)) == 0
            strays += int((never_written | (i != i.round()) | (i < 0) | (i > 9)).sum())
        if strays:
            raise Failure(
                f"with 10 transitions stored in a buffer of capacity 100, {strays} of 160 sampled rows "
                "(20 samples of 8) hold no stored transition",
                "indices drawn among all `capacity` rows, including rows not written yet: draw them among "
                "the len(buffer) stored transitions",
                sample,
            )

    @report.check("sample draws rows at random", sample)
    def random_rows():
        buffer = filled(100, 100)
        batches = [ids(buffer.sample(16)) for _ in range(20)]
        distinct = len(set(torch.cat(batches).tolist()))
        if torch.equal(batches[0], batches[1]) or distinct < 60:
            raise Failure(
                f"20 samples of 16 out of 100 transitions drew only {distinct} distinct transitions",
                "rows are not drawn uniformly at random among all stored transitions (e.g. always the "
                "first or the last rows)",
                sample,
            )

    return report.all_passed
