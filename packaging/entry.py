"""The bundled program's entry: ``atelier`` (the studio) and ``atelier run …`` (the command
line), as the installed console script (``atelier.studio.launch``)."""

from atelier.studio.launch import main

if __name__ == "__main__":
    main()
