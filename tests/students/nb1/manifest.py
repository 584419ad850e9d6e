"""Students' implementations of the coding exercises of notebook 1 (the networks, the
replay buffer, the DDPG agent), written from the statements alone; tests/test_student_path.py runs them."""

NOTEBOOK = "01_dpg_ddpg.ipynb"
EXERCISES = [
    dict(name="networks", attempt_cell="443ce91f", load_cells=["e985359f"],
         check="check_networks(QNetwork, policyNetwork)",
         correct=["networks_fc_layers.py", "networks_modulelist.py"],
         wrong={"networks_wrong_b1.py": "has shape (5, 1), expected (5,)"}),
    dict(name="replay_buffer", attempt_cell="c1473a1a", load_cells=["eaab0e5e"],
         check="check_replay_buffer(ReplayBuffer)",
         correct=["replay_numpy.py", "replay_torch_no_replacement.py", "replay_deque.py"],
         wrong={"replay_wrong_unwritten_rows.py": "rows not written yet"}),
    dict(name="ddpg", attempt_cell="bc7f16bb", load_cells=["b0c49788"],
         check="check_ddpg_agent(ddpg_agent, QNetwork, policyNetwork)",
         correct=["ddpg_course_loop.py", "ddpg_own_loop.py"],
         wrong={"ddpg_wrong_stores_done.py": "`terminated or truncated`",
                "ddpg_wrong_not_detached.py": "the target is not detached"}),
]
