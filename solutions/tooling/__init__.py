"""The tooling around the solutions, which students use but do not read in a `%load` cell.

The command line (`python -m solutions`), sweeps with Ray, checkpoints, the algorithm registry, the
captured update on a GPU, the device and thread choice, training budgets, the `%load` extension of the
notebooks and the repository address. It sits on top of the flat modules of `solutions/`: it imports
them, and none of them imports it (tests/test_imports.py checks both).
"""
