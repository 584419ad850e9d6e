"""Students' TD3 agents for notebook 2, written from the statement of section 4.2."""

NOTEBOOK = "02_td3.ipynb"
EXERCISES = [
    dict(
        name="td3",
        attempt_cell="cd1de85e",
        load_cells=["b91e9586"],
        check="check_td3_agent(td3_agent, QNetwork, policyNetwork)",
        correct=["td3_own_loop.py", "td3_course_loop_own_networks.py"],
        wrong={
            "td3_no_min.py": "only Q1' is used",
            "td3_done_or_truncated.py": "`terminated or truncated`",
        },
    ),
]
