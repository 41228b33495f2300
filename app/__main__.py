"""``python -m app`` = ``atelier``."""

from app.cli import main

main()
