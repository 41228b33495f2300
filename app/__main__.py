"""``python -m app`` = the headless command line (``atelier run …``); it never opens a window."""

from app.cli import main

main()
