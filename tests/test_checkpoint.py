"""No save can lose a run: a process killed while it writes leaves the previous file whole.

A child process rewrites a large checkpoint (or a sweep record) over and over, each version holding its
own number everywhere; the test kills it with SIGKILL at random moments, and after every kill the file
must load and hold one whole version, the last one written or the one before.
"""

import json
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from solutions.tooling.checkpoint import atomic_write, save_checkpoint, write_json

KILLS = 12
ROWS = 1_000_000  # a 4 MB tensor per row block: each checkpoint about 16 MB, as one with a small replay buffer

CHILD = textwrap.dedent("""
    import sys, torch
    from solutions.tooling.checkpoint import save_checkpoint, write_json
    kind, path, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print("writing", flush=True)
    while True:
        version += 1
        if kind == "checkpoint":
            save_checkpoint(path, "sac", "InvertedPendulum-v5", {"version": version}, (8,), {}, [],
                            run={"training_state": {"buffer": torch.full((4, {rows}), float(version))}})
        else:
            write_json(path, {"version": version, "evaluations": [[version, version]] * 200_000})
""").replace("{rows}", str(ROWS))


def version_of_checkpoint(path):
    saved = torch.load(path, weights_only=True)
    buffer = saved["run"]["training_state"]["buffer"]
    assert buffer.shape == (4, ROWS) and bool((buffer == saved["config"]["version"]).all())
    return saved["config"]["version"]


def version_of_record(path):
    record = json.loads(path.read_text())
    assert len(record["evaluations"]) == 200_000 and record["evaluations"][-1] == [record["version"]] * 2
    return record["version"]


def write_first(kind, path):
    if kind == "checkpoint":
        save_checkpoint(path, "sac", "InvertedPendulum-v5", {"version": 0}, (8,), {}, [],
                        run={"training_state": {"buffer": torch.zeros(4, ROWS)}})
    else:
        write_json(path, {"version": 0, "evaluations": [[0, 0]] * 200_000})


@pytest.mark.parametrize("kind, read_version", [("checkpoint", version_of_checkpoint), ("record", version_of_record)])
def test_a_writer_killed_at_random_moments_always_leaves_a_whole_file(kind, read_version, tmp_path):
    path = tmp_path / ("checkpoint.pt" if kind == "checkpoint" else "run.json")
    write_first(kind, path)
    version, rng, versions_seen = 0, random.Random(0), []
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(path), str(version)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.0, 0.6))  # a random moment: before, during or between writes
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        new_version = read_version(path)  # whole, or this raises
        assert new_version >= version
        version = new_version
        versions_seen.append(version)
    assert version > 0, "the child never finished a write: the kills came too early to test anything"
    leftovers = list(tmp_path.glob(f".{path.name}.*.tmp"))
    write_first(kind, path)  # the next save clears what the killed writers left behind
    assert not list(tmp_path.glob(f".{path.name}.*.tmp")) and len(leftovers) <= 1, versions_seen


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "record.json"
    write_json(path, {"version": 1})

    def fail_half_way(file):
        file.write(b'{"version": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail_half_way)
    assert json.loads(path.read_text()) == {"version": 1} and list(tmp_path.iterdir()) == [path]
