"""The sweep: a grid of runs on local Ray and on a two-node Ray cluster, its summary, and resuming.

Each test starts the Ray it needs and stops it before it ends (the command line's Ray lives and dies
with its process).
"""

import os

# Every Ray process of these tests uses the loopback address, the cluster's GCS included: Ray's own
# switch for machines without cluster support makes get_node_ip_address() return 127.0.0.1.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import json  # noqa: E402  (after the switch, which Ray reads when it is imported)
import re
import subprocess
import sys

import pytest
import ray
from ray.cluster_utils import Cluster

from solutions.tooling.summary import iqm
from solutions.tooling.sweep import grid, read_finished, run_experiment, run_spec, run_sweep

SWEEP = ["--algos", "sac", "td3", "--envs", "InvertedPendulum-v5", "--seeds", "0", "1", "--steps", "1500",
         "--eval-every", "500", "--eval-episodes", "5"]
RUN_IDS = [f"{algo}-default-InvertedPendulum-v5-seed{seed}" for algo in ("sac", "td3") for seed in (0, 1)]


def sweep_command(out):
    command = [sys.executable, "-m", "solutions", "sweep", *SWEEP, "--out", str(out)]
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}  # local Ray, not a cluster's
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_sweep_command_on_local_ray_writes_runs_and_summary_and_a_rerun_skips_them(tmp_path):
    first = sweep_command(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Starting Ray on this machine" in first.stdout
    records = {i: json.loads((tmp_path / "runs" / f"{i}.json").read_text()) for i in RUN_IDS}
    for record in records.values():
        assert [steps for steps, _, _ in record["evaluations"]] == [500, 1000, 1500]
        assert record["episode_returns"] and record["config"]["seed"] == record["spec"]["seed"]
        assert record["timing"]["train_seconds"] > 0 and record["node_id"]
    summary = (tmp_path / "summary.md").read_text()
    for algo in ("sac", "td3"):
        row = next(line for line in summary.splitlines() if line.startswith(f"| {algo} | InvertedPendulum-v5 |"))
        final = [records[f"{algo}-default-InvertedPendulum-v5-seed{s}"]["evaluations"][-1][1] for s in (0, 1)]
        # the row's IQM is that of the two seeds' last evaluations, with its interval in brackets
        assert re.search(rf"\| {iqm(final):.0f} \[-?\d+, -?\d+\] \|", row), row
        assert "| 0, 1 | 1,500 | 950 |" in row
    assert (tmp_path / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    written = {i: (tmp_path / "runs" / f"{i}.json").stat().st_mtime_ns for i in RUN_IDS}
    second = sweep_command(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "4 runs: 4 already finished" in second.stdout and "0 to run" in second.stdout
    assert "Starting Ray" not in second.stdout  # nothing to run: Ray is not even started
    assert written == {i: (tmp_path / "runs" / f"{i}.json").stat().st_mtime_ns for i in RUN_IDS}


def test_importing_the_sweep_leaves_a_notebooks_plotting_backend_alone():
    # A notebook imports solutions.tooling.sweep for its experiments; its figures must still show inline after.
    inline = "module://matplotlib_inline.backend_inline"
    script = "import matplotlib.pyplot as plt, solutions.tooling.sweep; print(plt.get_backend())"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "MPLBACKEND": inline})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == inline


def test_unknown_environment_is_a_one_line_error_before_ray_starts(tmp_path):
    result = subprocess.run([sys.executable, "-m", "solutions", "sweep", "--envs", "InvertedPendulm-v5",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Starting Ray" not in result.stdout
    assert result.stderr.strip().startswith("error: --envs:") and "InvertedPendulum" in result.stderr


@pytest.fixture(scope="module")
def two_node_cluster():
    """Two Ray nodes on this machine, one CPU each, so that two runs at a time must use both (started
    once for the tests below: a start takes tens of seconds on this 2-core machine)."""
    for attempt in range(3):  # as start_ray does: on a busy machine a node can miss Ray's registration time
        cluster = Cluster()
        try:
            cluster.add_node(num_cpus=1, include_dashboard=False, node_ip_address="127.0.0.1")  # the head node
            cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
            break
        except Exception as error:
            cluster.shutdown()
            if attempt == 2 or "timed out during startup" not in str(error):
                raise
    ray.init(address=cluster.address, logging_level="ERROR")
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_sweep_spreads_over_a_two_node_cluster_and_a_failing_run_does_not_stop_the_others(
        two_node_cluster, tmp_path, capsys):
    specs = grid(["sac", "td3"], ["InvertedPendulum-v5"], [0, 1], steps=1500, eval_every=500, eval_episodes=5)
    # a run that raises inside its task: TD3 does not know this (misspelt) key
    broken = run_spec("td3", "InvertedPendulum-v5", 0, variant="typo", config={"learning_rat": 1e-3})
    results = run_sweep([broken, *specs], tmp_path, address=two_node_cluster.address)
    failed, finished = results[0], results[1:]
    assert failed["error"].startswith("ValueError: td3_agent does not know the config key 'learning_rat'")
    assert "FAILED td3-typo-InvertedPendulum-v5-seed0: ValueError" in capsys.readouterr().out
    assert read_finished(tmp_path / "runs" / f"{failed['run_id']}.json", broken) is None  # a rerun tries it again
    assert all("error" not in r and r["evaluations"][-1][0] == 1500 for r in finished)
    nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}  # loopback only
    assert len(nodes) == 2 and {r["node_id"] for r in finished} == nodes
    assert "FAILED td3-typo" in (tmp_path / "summary.md").read_text()


def test_a_run_whose_worker_dies_is_retried(two_node_cluster, tmp_path):
    marker = tmp_path / "died once"

    def dies_on_its_first_try(spec):  # defined here so that Ray ships it by value to its workers
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies, as when killed or out of memory
        return {"run_id": "retried", "spec": spec, "pid": os.getpid()}

    spec = run_spec("td3", "InvertedPendulum-v5", 0)
    [record] = run_sweep([spec], tmp_path, address=two_node_cluster.address, run=dies_on_its_first_try,
                         summarize=False)
    assert marker.exists() and record["run_id"] == "retried" and "error" not in record


def test_a_notebook_experiment_returns_its_records_in_order_each_on_one_thread(two_node_cluster):
    def probe_threads(spec):  # a notebook's own run function, shipped by value as a kernel's would be
        import torch

        return {"seed": spec["seed"], "variant": spec["variant"], "threads": torch.get_num_threads()}

    specs = grid(["td3"], ["InvertedPendulum-v5"], [2, 0, 1], {"a": {}, "b": {"tau": 0.01}}, steps=10)
    records = run_experiment(probe_threads, specs, "order")
    assert [(r["variant"], r["seed"]) for r in records] == [(s["variant"], s["seed"]) for s in specs]
    assert {r["threads"] for r in records} == {1}


def test_a_failed_notebook_run_raises_its_error_and_where_its_traceback_is(two_node_cluster):
    def fails_for_seed_1(spec):
        if spec["seed"] == 1:
            raise ValueError("the critic target has shape (256, 256); expected (256, 1)")
        return {"seed": spec["seed"]}

    with pytest.raises(RuntimeError, match=r"^1 of 2 runs failed; td3-default-InvertedPendulum-v5-seed1: "
                                           r"ValueError: the critic target has shape .* \(its traceback: .*\.json\)$"):
        run_experiment(fails_for_seed_1, grid(["td3"], ["InvertedPendulum-v5"], [0, 1], steps=10), "fails")
