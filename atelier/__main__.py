"""``python -m atelier`` = ``atelier``: the studio, or the command line with a subcommand."""

from atelier.studio.launch import main

main()
