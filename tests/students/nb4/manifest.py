"""Students' CrossQ critics and agents for notebook 4, written from the statement of section 5."""

NOTEBOOK = "04_going_further.ipynb"
EXERCISES = [
    dict(
        name="crossq",
        attempt_cell="fcdd5373",
        load_cells=["6977cc1b"],
        check=(
            "check_crossq_network(crossQNetwork) and "
            "check_crossq_agent(crossq_agent, crossQNetwork, squashedGaussianPolicy)"
        ),
        correct=["crossq_own_loop.py", "crossq_course_loop.py"],
        wrong={
            "crossq_two_passes.py": "in two passes",
            "crossq_flax_momentum.py": "Flax's convention",
        },
    ),
]
