"""The command line: one module per command (``atelier run``, ``deliver``, ``review``, ``team``, ``templates``…)."""
