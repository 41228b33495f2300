"""Channels: each marketplace's image rules (``profiles``), an image judged against them
(``check``) and renditions that meet them (``fix``). Qt-free; Pillow and numpy."""
