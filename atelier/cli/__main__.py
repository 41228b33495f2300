"""``python -m atelier.cli`` = the headless command line (``atelier run …``); it never opens a window."""

from atelier.core.collector import without_cycle_collector

with without_cycle_collector():  # the commands' imports make no garbage cycle
    from atelier.cli.main import main

main()
