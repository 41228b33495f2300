"""``python -m ui`` = ``atelier``: the studio, or the command line with a subcommand."""

from ui.launch import main

main()
