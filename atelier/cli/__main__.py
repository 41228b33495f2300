"""``python -m atelier.cli`` = the headless command line (``atelier run …``); it never opens a window."""

import gc

# Importing the commands makes thousands of objects and no garbage cycle: no collection pass
# while they load, and none walks them afterwards (``gc.freeze``). 0.06 s of a 3 s estimate
# of 100,000 rows (bench/plan_rows.py).
gc.disable()
from atelier.cli.main import main  # noqa: E402

gc.freeze()
gc.enable()
main()
