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
            "Q1' alone in the target": dict(
                base="td3_course_loop_own_networks.py",
                replace={"(torch.min(q1, q2) if self.twin_min else q1)": "q1"},
                fail="only Q1' is used"),
            "terminated or truncated stored": dict(
                base="td3_own_loop.py",
                replace={"memory.append(state, action, reward, next_state, terminated)":
                         "memory.append(state, action, reward, next_state, terminated or truncated)"},
                fail="`terminated or truncated`"),
        },
    ),
]
