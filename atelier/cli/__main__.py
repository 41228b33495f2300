"""``python -m atelier.cli`` = the headless command line (``atelier run …``); it never opens a window."""

from atelier.cli.main import main

main()
