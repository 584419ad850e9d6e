"""Reference solutions of the course chapter on continuous-action deep RL (DDPG, TD3, SAC).

Each module reads top to bottom as one notebook cell (`%load ../solutions/ddpg.py`) and is
importable as well (`from solutions.ddpg import ddpg_agent`).
"""
