"""The modules a run imports on first use, imported before the first run needs them.

httpx loads its transport (httpcore, h11, anyio's asyncio backend) when the first client is
made, Pillow its format plugins at the first image, the quality checks numpy, imagehash and
scipy's FFT at the first hashed image (``atelier.output.qa``). Imports hold the interpreter
(the GIL), and under PySide6 each module imported after Qt is also read back whole, as source,
by its import hook (``shibokensupport.feature._mod_uses_pyside``, PySide6 6.11). Left to the
run, they stalled the window 100–300 ms just after Start (81 modules; ``bench/window.py``,
2026-12-07, the engine thread caught importing httpcore by ``py-spy dump``). The window calls
:func:`import_run_modules` on a thread of its own once it has painted.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

RUN_MODULES = (
    # httpx's transport, made with the first client (httpx/_transports/default.py).
    "httpcore",
    "h11",
    "anyio._backends._asyncio",
    "certifi",
    # The quality checks of every saved image (atelier.output.qa).
    "numpy",
    "imagehash",
    "scipy.fftpack",
    # Pillow's common format plugins (PIL.Image.preinit's list) and the modules saving uses.
    "PIL.BmpImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.PpmImagePlugin",
    "PIL.WebPImagePlugin",
    "PIL.ImageChops",
    "PIL.ImageFilter",
    "PIL.ImageSequence",
)
"""What a run imports on first use (the list measured by comparing ``sys.modules`` before
Start and after a run of ``bench/window.py``)."""


def import_run_modules() -> None:
    """Import :data:`RUN_MODULES` (about 0.3 s, once per process); one that cannot be
    imported is logged and left to the run, which says why if it needs it."""
    for name in RUN_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as e:
            log.debug("not imported ahead of a run: %s (%s)", name, e)
