"""Subcommands of ``m2c``. Every module with a ``register(subparsers)`` function is loaded.

Simulator commands live in modules named ``sim_*`` and register under ``m2c sim`` through
``register_sim(sim_subparsers)``.
"""
