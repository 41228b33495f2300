"""The built program's smoke test (``ATELIER_SMOKE_TEST=OUT_DIR``, run by ``.ci/run`` on the
bundle): open the window, load the sample project, make its three images on the offline draft
provider into ``OUT_DIR``, check them, quit. Exit code 0 when all three are written."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

SMOKE_TIMEOUT_S = 120.0


async def run(window: Any, out_dir: Path) -> bool:
    """Drive ``window`` as a designer would; ``True`` when the three images are written."""
    done = asyncio.Event()
    window.batch_done.connect(lambda _batch_id: done.set())
    # The sample is imported off the GUI thread (``imported`` says when), then its starter
    # template is applied.
    imported = asyncio.Event()
    window.sheet.imported.connect(lambda *_: imported.set())
    window.sheet.sample_requested.emit()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(imported.wait(), SMOKE_TIMEOUT_S)
    await asyncio.sleep(0.1)
    window.batch.select_provider("draft")
    window.batch.output_edit.setText(str(out_dir))
    window.start_batch()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), SMOKE_TIMEOUT_S)
    made = sorted(p.name for p in await asyncio.to_thread(lambda: list(out_dir.glob("*.png"))))
    ok = done.is_set() and len(made) == 3
    print(f"smoke test: {'ok' if ok else 'FAILED'}: {len(made)} images in {out_dir}: {made}")
    sys.stdout.flush()
    window.close()
    return ok
