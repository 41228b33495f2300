"""Drive the studio through the accessibility tree, as a screen reader does (AT-SPI on Linux).

Two halves in one file:

- ``Studio`` (imported by the tests, in the project's venv): starts a private Xvfb, the studio
  (``python -m atelier``) on it with Qt's AT-SPI bridge switched on, and this file's other half as
  a separate process under the system Python, which has ``pyatspi`` (the venv has no system
  site packages, and ``gi`` is built for the system Python). Both processes talk AT-SPI over
  a private D-Bus session bus (it activates ``at-spi-bus-launcher``) with a private
  ``XDG_RUNTIME_DIR``, so test runs side by side on one machine keep their own accessibility
  buses. The studio gets its keys from its environment, not from a keyring.
- The driver (``python3 atspi_driver.py``): reads one JSON request a line on stdin, answers
  one JSON line on stdout. It finds controls as a screen reader does, by role and name (its
  own name, or the label it is labelled by), only among those on screen (``SHOWING``).

The API a test uses (every call waits up to ``timeout`` seconds for the control to appear):

    find(role, name)             the control's name, role, value, states; AssertionError if absent
    exists(role, name)           whether it is on screen now
    click(name, role=...)        press a button, a menu item, a tab, a check box
    menu("File", "Open…")        open a menu of the menu bar and choose in it
    type(name, text, role=...)   replace a text field's text
    choose(name, item)           pick an item of a combo box (opened, arrow keys, Enter)
    click_item(name, item)       click an item of a list or table with the mouse
    context_menu(name, item)     right-click an item of a list or table (its context menu opens)
    menu_choose(text)            in the open pop-up menu, arrow down to ``text`` and Enter
    selected(name)               the names of the selected items of a list or table
    gone(role, name)             wait until a control (a dialog) is no longer on screen
    keys(name, "px")             press keys in a control (letters and digits)
    table_rows(name, limit)      a table's rows as {column header: cell text}
    items(name)                  the names of a list's items (the gallery's tiles)
    read(label)                  the text of what the label ``label`` labels (a form's value)
    text(role, contains)         the name of the first control whose name contains a text
    unnamed()                    the controls on screen without a name or a label
    wait_exit()                  the studio's exit code once it has quit

A press that opens a modal dialog returns at once (the dialog's event loop holds Qt's answer);
the next step waits for the dialog (``find("dialog", title)``). Keys and clicks go through
XTest on the private display.

Roles are AT-SPI role names as ``pyatspi`` spells them: "push button", "menu item", "text",
"combo box", "table", "list", "label", "page tab", "check box", "dialog", "spin button".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
SCREEN = "1280x800x24"
CONTROL_ROLES = frozenset(
    {
        "push button",
        "toggle button",
        "check box",
        "radio button",
        "combo box",
        "text",
        "password text",
        "spin button",
        "slider",
        "table",
        "list",
        "tree table",
        "menu item",
        "check menu item",
        "page tab",
    }
)
"""The roles a screen reader announces as something to work (not labels, panels, fillers)."""
RETURN, UP, DOWN = 0xFF0D, 0xFF52, 0xFF54  # X keysyms


# ---- the test's half (the project's venv, no pyatspi) --------------------------------------
def missing_requirements() -> list[str]:
    """What this machine lacks to run the AT-SPI tests (Debian package names)."""
    missing = []
    if shutil.which("Xvfb") is None:
        missing.append("xvfb")
    if shutil.which("dbus-daemon") is None:
        missing.append("dbus")
    if not Path("/usr/libexec/at-spi-bus-launcher").exists() and not shutil.which(
        "at-spi-bus-launcher"
    ):
        missing.append("at-spi2-core")
    has_pyatspi = Path(SYSTEM_PYTHON).exists() and (
        subprocess.run([SYSTEM_PYTHON, "-c", "import pyatspi"], capture_output=True).returncode == 0
    )
    if not has_pyatspi:
        missing.append("python3-pyatspi")
    return missing


class DriverError(AssertionError):
    """The driver could not do what was asked (the message says what it saw instead)."""


class Studio:
    """The studio in its own process on a private X display, and a driver that reads and
    works its accessibility tree. Use as a context manager; ``close`` stops everything.

    Args:
        home: the studio's ATELIER_HOME.
        env: more environment for the studio (a fake server's address, a language).
        log: where the studio's output goes (read it when a step fails).
    """

    def __init__(self, home: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.home, self.log_path = home, log
        self._procs: list[subprocess.Popen[Any]] = []
        self._log = log.open("w")
        # A private session bus, gone with this object, whose accessibility bus has a socket
        # of its own: without XDG_RUNTIME_DIR, at-spi-bus-launcher listens on the fixed path
        # ~/.cache/at-spi/bus, which a second session on the machine (another test run)
        # takes over, and the studio's bridge is then "Not connected to D-Bus server".
        runtime = home.parent / "xdg-runtime"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "XDG_CURRENT"))}
        base["XDG_RUNTIME_DIR"] = str(runtime)
        daemon = self._start(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            env=base,
        )
        assert daemon.stdout is not None
        base["DBUS_SESSION_BUS_ADDRESS"] = daemon.stdout.readline().decode().strip()
        self.display = self._start_xvfb()
        self._wake_registry({**base, "DISPLAY": self.display})
        self.app = self._start(
            [sys.executable, "-m", "atelier"],
            env={
                **base,
                "ATELIER_HOME": str(home),
                "ATELIER_LANGUAGE": "en",
                # No Secret Service on the private bus (asking for one would wait on its
                # activation): keys come from the environment (``env``).
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
                "PYTHONPATH": str(REPO),
                "DISPLAY": self.display,
                "QT_QPA_PLATFORM": "xcb",
                # Qt's AT-SPI bridge, on without a desktop that asks for it.
                "QT_ACCESSIBILITY": "1",
                "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
                **(env or {}),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        self.driver = self._start(
            [SYSTEM_PYTHON, str(Path(__file__).resolve()), str(self.app.pid)],
            env={**base, "DISPLAY": self.display},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.call("wait_app", timeout=30)

    def _start(self, argv: list[str], **kw: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(argv, **kw)
        self._procs.append(proc)
        return proc

    def _wake_registry(self, env: dict[str, str]) -> None:
        """Start the accessibility bus and its registry before the studio: its bridge then
        finds them up at once (a belt and braces: the lost connections seen on a shared
        machine came from the shared bus socket, which the private runtime folder fixes)."""
        probe = "import pyatspi; pyatspi.Registry.getDesktop(0).childCount"
        try:
            subprocess.run(
                [SYSTEM_PYTHON, "-c", probe],
                env=env,
                stdout=self._log,
                stderr=self._log,
                timeout=30,
            )
        except subprocess.TimeoutExpired as e:
            raise DriverError("the accessibility registry did not start in 30 s") from e

    def _start_xvfb(self) -> str:
        """A fresh X server on a display it picks itself (``-displayfd``: no race for one)."""
        read, write = os.pipe()
        self._start(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise DriverError("Xvfb did not start")
        return f":{number}"

    # ---- requests ------------------------------------------------------------------------
    def call(self, op: str, **args: Any) -> Any:
        """Send one request to the driver and return its result (``DriverError`` when the
        driver could not do it, with the studio's last output)."""
        proc = self.driver
        assert proc.stdin is not None and proc.stdout is not None
        if self.app.poll() is not None:
            raise DriverError(f"the studio exited ({self.app.returncode}):\n{self.log_tail()}")
        proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise DriverError(f"the driver stopped during {op}:\n{self.log_tail()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise DriverError(
                f"{op} {args}: {answer['error']}\n--- studio log ---\n{self.log_tail()}"
            )
        return answer["result"]

    def find(self, role: str, name: str, timeout: float = 10) -> dict[str, Any]:
        """The control of ``role`` called ``name`` (its name or its label), on screen:
        ``{"name", "role", "value", "labels", "states"}``."""
        return self.call("find", role=role, name=name, timeout=timeout)  # type: ignore[no-any-return]

    def exists(self, role: str, name: str) -> bool:
        """Whether such a control is on screen now (no waiting)."""
        return bool(self.call("exists", role=role, name=name))

    def click(self, name: str, role: str = "push button", timeout: float = 10) -> None:
        """Press it (its first action: Press, Toggle, or a tab's Press)."""
        self.call("click", role=role, name=name, timeout=timeout)

    def type(self, name: str, text: str, role: str = "text", timeout: float = 10) -> None:
        """Replace the text of the text field ``name`` with ``text``."""
        self.call("type", role=role, name=name, text=text, timeout=timeout)

    def choose(self, name: str, item: str, timeout: float = 10) -> None:
        """Make ``item`` the current item of the combo box ``name``."""
        self.call("choose", name=name, item=item, timeout=timeout)

    def click_item(self, name: str, item: str, role: str = "list", timeout: float = 10) -> None:
        """Click the item ``item`` of the list or table ``name`` with the mouse (it takes the
        keyboard focus, as a click does)."""
        self.call("click_item", role=role, name=name, item=item, timeout=timeout)

    def context_menu(self, name: str, item: str, role: str = "table", timeout: float = 10) -> None:
        """Right-click the item ``item`` of the list or table ``name`` with the mouse: its
        context menu opens (choose in it with ``click(text, role="menu item")``)."""
        self.call("click_item", role=role, name=name, item=item, timeout=timeout, button=3)

    def menu_choose(self, text: str, timeout: float = 10) -> list[str]:
        """Choose ``text`` in the pop-up menu just opened (a context menu), as a screen reader
        user does: Down until the item announced (focused) is ``text``, then Enter. Returns
        the items announced on the way."""
        return self.call("menu_choose", text=text, timeout=timeout)  # type: ignore[no-any-return]

    def selected(self, name: str, role: str = "list", timeout: float = 10) -> list[str]:
        """The names of the selected items of the list or table ``name`` (a table: every
        selected cell), in view order."""
        return self.call("selected", role=role, name=name, timeout=timeout)  # type: ignore[no-any-return]

    def gone(self, role: str, name: str, timeout: float = 10) -> None:
        """Wait until the control ``role`` ``name`` is no longer on screen (a dialog closed)."""
        self.call("gone", role=role, name=name, timeout=timeout)

    def keys(self, name: str, keys: str, role: str = "list", timeout: float = 10) -> None:
        """Give the control the keyboard focus and type ``keys`` there (letters, digits)."""
        self.call("keys", role=role, name=name, keys=keys, timeout=timeout)

    def table_rows(
        self, name: str, limit: int | None = None, timeout: float = 10
    ) -> list[dict[str, str]]:
        """The rows of the table ``name`` (its first ``limit``), each ``{column header: cell
        text}``. Each cell is a D-Bus call: read a 5,000-row table with a limit."""
        return self.call("table_rows", name=name, limit=limit, timeout=timeout)  # type: ignore[no-any-return]

    def items(self, name: str, role: str = "list", timeout: float = 10) -> list[str]:
        """The names of the items of a list (the gallery's tiles)."""
        return self.call("items", role=role, name=name, timeout=timeout)  # type: ignore[no-any-return]

    def text(self, role: str, contains: str, timeout: float = 10) -> str:
        """The name of the first control of ``role`` on screen whose name contains
        ``contains`` (a label's name is its text)."""
        return self.call("text", role=role, contains=contains, timeout=timeout)  # type: ignore[no-any-return]

    def read(self, label: str, timeout: float = 10) -> str:
        """The name (a label's text) of the control or label that ``label`` labels, as a
        screen reader reads a form's row: a spend question's "Cost (USD)" reads its amount."""
        return self.call("read", label=label, timeout=timeout)  # type: ignore[no-any-return]

    def unnamed(self) -> list[str]:
        """The controls on screen now, in every window, that a screen reader would announce
        without a name (neither a name nor a label; a combo box's name is its current text,
        so it needs a label), as ``"role id"`` (Qt's id: the objectName path)."""
        return self.call("unnamed")  # type: ignore[no-any-return]

    def menu(self, *path: str) -> None:
        """Open the menu bar's menu ``path[0]`` and choose ``path[1:]`` in it."""
        self.call("showmenu", name=path[0])
        for item in path[1:]:
            self.click(item, role="menu item")

    def wait_exit(self, timeout: float = 20) -> int:
        """The studio's exit code once it has quit."""
        try:
            return self.app.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise DriverError(f"the studio did not quit:\n{self.log_tail()}") from e

    def log_tail(self, lines: int = 40) -> str:
        """The end of the studio's (and the driver's) output."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Stop the driver, the studio, Xvfb and a private bus (in that order)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._log.close()

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- the driver's half (the system Python, with pyatspi) -----------------------------------
class _XInput:  # pragma: no cover - runs under /usr/bin/python3
    """Key presses and clicks on the X display (XTest, as a keyboard and a mouse would). The
    AT-SPI registry can synthesise them too, but it was started by the session bus, which
    does not know this test's private display."""

    def __init__(self) -> None:
        import ctypes

        self.x11 = ctypes.CDLL("libX11.so.6")
        self.xtst = ctypes.CDLL("libXtst.so.6")  # a dependency of at-spi2-core
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        self.x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.x11.XFlush.argtypes = [ctypes.c_void_p]
        self.xtst.XTestFakeKeyEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_ulong,
        ]
        self.xtst.XTestFakeMotionEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_ulong,
        ]
        self.xtst.XTestFakeButtonEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_ulong,
        ]
        self.display = self.x11.XOpenDisplay(None)
        if not self.display:
            raise RuntimeError(f"cannot open the X display {os.environ.get('DISPLAY')!r}")

    def press(self, keysym: int) -> None:
        """Press and release the key that types ``keysym`` (no modifier)."""
        code = self.x11.XKeysymToKeycode(self.display, keysym)
        if not code:
            raise LookupError(f"no key types the keysym {keysym:#x}")
        for down in (1, 0):
            self.xtst.XTestFakeKeyEvent(self.display, code, down, 0)
        self.x11.XFlush(self.display)

    def click(self, x: int, y: int, button: int = 1) -> None:
        """A click of mouse ``button`` (1 left, 3 right) at screen position ``x``, ``y``."""
        self.xtst.XTestFakeMotionEvent(self.display, -1, x, y, 0)
        for down in (1, 0):
            self.xtst.XTestFakeButtonEvent(self.display, button, down, 0)
        self.x11.XFlush(self.display)


def _serve(app_pid: int) -> None:  # pragma: no cover - runs under /usr/bin/python3
    import pyatspi
    from gi.repository import GLib

    # Generous for reading the tree on a busy machine (libatspi's own: 0.8 s, 15 s at start).
    query_timeout = (10_000, 15_000)
    pyatspi.setTimeout(*query_timeout)
    state: dict[str, Any] = {"app": None, "focused": None}

    # Qt leaves pop-up menus out of the application's children; a screen reader meets their
    # items through focus events, and so does the driver.
    def on_focus(event: Any) -> None:
        if event.detail1:
            state["focused"] = event.source

    pyatspi.Registry.registerEventListener(on_focus, "object:state-changed:focused")

    def pump() -> None:
        """Deliver the AT-SPI events queued on the bus (focus changes)."""
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass

    def app() -> Any:
        desk = pyatspi.Registry.getDesktop(0)
        for i in range(desk.childCount):
            a = desk.getChildAtIndex(i)
            try:
                if a is not None and a.get_process_id() == app_pid:
                    return a
            except GLib.GError:
                continue
        return None

    def showing(acc: Any) -> bool:
        try:
            return bool(acc.getState().contains(pyatspi.STATE_SHOWING))
        except GLib.GError:
            return False

    def labels(acc: Any) -> list[str]:
        out = []
        for rel in acc.getRelationSet():
            if rel.getRelationType() == pyatspi.RELATION_LABELLED_BY:
                out += [rel.getTarget(i).name for i in range(rel.getNTargets())]
        return out

    def walk(root: Any, into_views: bool = False) -> Any:
        """Every control on screen under ``root``, depth first; tables' and lists' cells only
        with ``into_views`` (a table of 5,000 rows is read through its Table interface)."""
        stack = [root]
        while stack:
            acc = stack.pop()
            if acc is None:
                continue
            yield acc
            try:
                role = acc.getRole()
                n = acc.childCount
            except GLib.GError:
                continue
            if (
                role in (pyatspi.ROLE_TABLE, pyatspi.ROLE_LIST, pyatspi.ROLE_TREE_TABLE)
                and not into_views
            ):
                continue
            kids = []
            for i in range(n):
                try:
                    kid = acc.getChildAtIndex(i)
                except GLib.GError:
                    continue
                if kid is not None and (showing(kid) or kid.getRole() == pyatspi.ROLE_MENU):
                    kids.append(kid)
            stack.extend(reversed(kids))

    def roots() -> list[Any]:
        a = app()
        if a is None:
            return []
        # Dialogs first: a modal dialog is where the next step happens. Only those on screen:
        # a dialog closed but not yet deleted stays among the application's children.
        tops = [a.getChildAtIndex(i) for i in range(a.childCount)]
        return sorted(
            (t for t in tops if t is not None and showing(t)),
            key=lambda t: t.getRole() == pyatspi.ROLE_FRAME,
        )

    def matches(acc: Any, role: str, name: str) -> bool:
        try:
            if acc.getRoleName() != role:
                return False
            return acc.name == name or name in labels(acc)
        except GLib.GError:
            return False

    def lookup(role: str, name: str) -> Any:
        for top in roots():
            for acc in walk(top, into_views=role in ("table cell", "list item")):
                if matches(acc, role, name):
                    return acc
        return None

    def seen(role: str) -> list[str]:
        names = []
        for top in roots():
            for acc in walk(top):
                try:
                    if acc.getRoleName() == role:
                        names.append(acc.name or f"(labelled {labels(acc)})")
                except GLib.GError:
                    continue
        return names

    def wait(role: str, name: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            acc = lookup(role, name)
            if acc is not None:
                return acc
            if time.monotonic() > deadline:
                raise LookupError(f"no {role} {name!r} on screen; {role}s seen: {seen(role)[:30]}")
            time.sleep(0.1)

    def describe(acc: Any) -> dict[str, Any]:
        value = None
        try:
            text = acc.queryText()
            value = text.getText(0, text.characterCount)
        except NotImplementedError:
            pass
        try:
            value = acc.queryValue().currentValue if value is None else value
        except NotImplementedError:
            pass
        states = [pyatspi.stateToString(s) for s in acc.getState().getStates()]
        return {
            "name": acc.name,
            "role": acc.getRoleName(),
            "value": value,
            "labels": labels(acc),
            "states": states,
        }

    def do_action(acc: Any, wanted: tuple[str, ...]) -> None:
        action = acc.queryAction()
        names = [action.getName(i) for i in range(action.nActions)]
        index = next((names.index(w) for w in wanted if w in names), 0 if names else -1)
        if index < 0:
            raise LookupError(f"{acc.getRoleName()} {acc.name!r} has no action")
        # A press that opens a modal dialog (QFileDialog.getOpenFileName runs its own event
        # loop) is answered only when the dialog closes: wait briefly, then go on; the next
        # step waits for what the press shows.
        pyatspi.setTimeout(500, -1)
        try:
            action.doAction(index)
        except GLib.GError as e:
            if "timeout" not in str(e).lower() and "timed out" not in str(e).lower():
                raise
        finally:
            pyatspi.setTimeout(*query_timeout)

    def until(pred: Any, what: str, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise LookupError(f"timed out waiting for {what}")
            time.sleep(0.05)

    x_input = _XInput()

    def press_key(keysym: int) -> None:
        x_input.press(keysym)
        time.sleep(0.05)

    def click_on(acc: Any, button: int = 1) -> None:
        box = acc.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        if box.width <= 0 or box.height <= 0:
            raise LookupError(f"{acc.getRoleName()} {acc.name!r} has no place on screen")
        x_input.click(box.x + box.width // 2, box.y + box.height // 2, button)

    def op_wait_app(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            a = app()
            if a is not None and any(
                t is not None and t.getRole() == pyatspi.ROLE_FRAME and showing(t)
                for t in (a.getChildAtIndex(i) for i in range(a.childCount))
            ):
                return
            if time.monotonic() > deadline:
                raise LookupError("the studio's window never appeared on the accessibility bus")
            time.sleep(0.2)

    def op_find(role: str, name: str, timeout: float) -> Any:
        return describe(wait(role, name, timeout))

    def op_exists(role: str, name: str) -> bool:
        return lookup(role, name) is not None

    def op_click(role: str, name: str, timeout: float) -> None:
        acc = wait(role, name, timeout)
        do_action(acc, ("Press", "Toggle", "Activate", "Click", "press", "click"))

    def op_showmenu(name: str) -> None:
        acc = wait("menu item", name, 10)
        do_action(acc, ("ShowMenu", "Press"))

    def op_type(role: str, name: str, text: str, timeout: float) -> None:
        acc = wait(role, name, timeout)
        editable = acc.queryEditableText()
        if not editable.setTextContents(text):
            raise LookupError(f"{role} {name!r} refused the text")

    def op_choose(name: str, item: str, timeout: float) -> None:
        # As with the keyboard: open the list, move to the item, Enter.
        combo = wait("combo box", name, timeout)
        popup = combo.getChildAtIndex(0)
        names = [popup.getChildAtIndex(i).name for i in range(popup.childCount)]
        if item not in names:
            raise LookupError(f"combo box {name!r} has no item {item!r}; its items: {names}")
        steps = names.index(item) - names.index(combo.name)
        do_action(combo, ("ShowMenu",))
        until(lambda: showing(popup), f"the list of combo box {name!r} to open")
        for _ in range(abs(steps)):
            press_key(DOWN if steps > 0 else UP)
        press_key(RETURN)
        # The combo box's name on Linux is its current text.
        until(lambda: combo.name == item, f"combo box {name!r} to show {item!r}")

    def op_click_item(role: str, name: str, item: str, timeout: float, button: int = 1) -> None:
        view = wait(role, name, timeout)
        kids = [view.getChildAtIndex(i) for i in range(view.childCount)]
        names = [k.name for k in kids]
        if item not in names:
            raise LookupError(f"{role} {name!r} has no item {item!r}; first items: {names[:20]}")
        click_on(kids[names.index(item)], button)
        until(
            lambda: (
                view.getState().contains(pyatspi.STATE_FOCUSED)
                or any(k.getState().contains(pyatspi.STATE_FOCUSED) for k in kids[:200])
            ),
            f"{role} {name!r} to take the keyboard focus",
        )

    def op_read(label: str, timeout: float) -> str:
        def labelled() -> Any:
            for top in roots():
                for acc in walk(top):
                    try:
                        if label in labels(acc):
                            return acc
                    except GLib.GError:
                        continue
            return None

        deadline = time.monotonic() + timeout
        while (acc := labelled()) is None:
            if time.monotonic() > deadline:
                raise LookupError(f"nothing on screen is labelled {label!r}")
            time.sleep(0.1)
        return str(acc.name)

    def op_menu_choose(text: str, timeout: float) -> list[str]:
        announced: list[str] = []
        deadline = time.monotonic() + timeout
        pump()
        state["focused"] = None
        while time.monotonic() < deadline:
            before = state["focused"]
            press_key(DOWN)
            step_end = time.monotonic() + 3
            while state["focused"] is before and time.monotonic() < step_end:
                pump()
                time.sleep(0.02)
            acc = state["focused"]
            if acc is None or acc is before:
                continue  # the menu not open yet, or no event: Down again
            name = str(acc.name)
            if acc.getRoleName() != "menu item":
                raise LookupError(f"focus went to {acc.getRoleName()} {name!r}, not a menu")
            if name == text:
                press_key(RETURN)
                return announced
            if name in announced:  # round the menu once: not there
                break
            announced.append(name)
        raise LookupError(f"no menu item {text!r} in the open menu; announced: {announced}")

    def op_selected(role: str, name: str, timeout: float) -> list[str]:
        view = wait(role, name, timeout)
        out = []
        for i in range(view.childCount):
            kid = view.getChildAtIndex(i)
            if kid is not None and kid.getState().contains(pyatspi.STATE_SELECTED):
                out.append(str(kid.name))
        return out

    def op_gone(role: str, name: str, timeout: float) -> None:
        until(lambda: lookup(role, name) is None, f"{role} {name!r} to close", timeout)

    def op_keys(role: str, name: str, keys: str, timeout: float) -> None:
        acc = wait(role, name, timeout)
        if not acc.getState().contains(pyatspi.STATE_FOCUSED):
            acc.queryComponent().grabFocus()
        for ch in keys:
            press_key(ord(ch))  # X keysyms of Latin-1 letters and digits are their code points

    def op_table_rows(name: str, limit: int | None, timeout: float) -> list[dict[str, str]]:
        table = wait("table", name, timeout).queryTable()
        n_rows = table.nRows if limit is None else min(limit, table.nRows)
        heads = []
        for c in range(table.nColumns):
            head = table.getColumnHeader(c)
            heads.append(head.name if head is not None else str(c))
        return [
            {heads[c]: table.getAccessibleAt(r, c).name for c in range(table.nColumns)}
            for r in range(n_rows)
        ]

    def op_items(role: str, name: str, timeout: float) -> list[str]:
        view = wait(role, name, timeout)
        return [view.getChildAtIndex(i).name for i in range(view.childCount)]

    def op_unnamed() -> list[str]:
        found = []
        for top in roots():
            for acc in walk(top):
                try:
                    role = acc.getRoleName()
                    # Qt names a combo box by its current text: only a label names it.
                    name = "" if role == "combo box" else (acc.name or "").strip()
                    if role in CONTROL_ROLES and not name and not labels(acc):
                        found.append(f"{role} {acc.accessibleId or '?'}")
                except GLib.GError:
                    continue
        return found

    def op_text(role: str, contains: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for top in roots():
                for acc in walk(top):
                    try:
                        if acc.getRoleName() == role and contains in (acc.name or ""):
                            return str(acc.name)
                    except GLib.GError:
                        continue
            if time.monotonic() > deadline:
                raise LookupError(f"no {role} containing {contains!r}; seen: {seen(role)[:30]}")
            time.sleep(0.1)

    ops = {k[3:]: v for k, v in locals().items() if k.startswith("op_")}
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = {"ok": True, "result": ops[op](**request)}
        except Exception as e:  # every failure goes back to the test, which shows it
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
