"""Issue 29's layout, as a re-runnable move (prepared, not yet run on main: the modules added
since it was written, such as app/cli_run_flags.py, app/job_saving.py, app/image_encoding.py,
app/economy/lines.py, app/team/{keys,entries,dead_letter,submit}.py, ui/spending.py,
ui/starting.py, ui/interrupted.py, ui/models/, ui/pages/batch_estimate.py and sheet_bars.py,
need their places in ``MODULES`` first; the script names any it lacks and stops): ``app/``, ``ui/`` and ``resources/`` become one
import package ``atelier/`` laid out by stage, and every reference in the repository follows.

    python scripts/restructure.py          # from the repository root, on a clean checkout

It ``git mv``s every file (history follows), writes a one-line ``__init__.py`` for each new
package, rewrites every reference (imports, ``mock.patch``/``monkeypatch`` strings, ``-m app``,
paths such as ``app/engine.py`` in docs and scripts, pyproject's entry point, package list,
package data, mypy and ruff settings), then runs ``ruff check --fix --select I`` and
``ruff format`` on the Python it touched. It stops, changing nothing, when the tree is not in
the starting state (``app/`` missing, ``atelier/`` present) or when ``app/``/``ui/`` hold a
module the mapping below does not name: add it to ``MODULES`` and run again.

Choices made where the issue's sketch leaves room (the tables below are the whole mapping):
- ``app/files.py`` (reading the user's input files safely) goes to ``core/``, not ``output/``:
  ``core.models`` and ``sheet.tabular`` read through it, and core must not import output.
- ``app/batch.py`` (planning a batch: rows or a config → ``JobSpec``s) → ``sheet/plan.py``, beside
  ``sheet/config_plan.py``; ``app/rows.py`` (a row through the templates) → ``sheet/render.py``
  (``store/rows.py`` keeps its name); ``app/remote.py`` (reference images named by URL in a sheet)
  → ``sheet/remote.py``; ``app/sample.py`` (the sample project) → ``sheet/sample_project.py``.
- ``app/pricing.py`` → ``pricing/table.py`` (the price table with dates and sources).
- ``app/engine.py`` → ``engine/engine.py``; ``app/runner.py`` (the engine thread) →
  ``engine/runner.py``; ``app/controller.py`` (check → store → run → retry, both front ends) and
  ``app/service.py`` (the composition root: keys → providers, store, engine) → ``engine/``.
- ``app/outputs.py`` (writing images and metadata) → ``output/images.py``; ``ci_comment``,
  ``handoff``, ``export``, ``shopify_csv``, ``report``, ``report_markdown``, ``versions`` →
  ``output/``.
- ``app/cli.py`` → ``cli/main.py`` (not ``cli/__init__.py``: the commands import each other and a
  package ``__init__`` importing them all invites cycles); ``cli_X`` → ``cli/X.py``;
  ``argparse_i18n`` and ``cli_url_flags`` → ``cli/``; ``app/__main__.py`` → ``cli/__main__.py``,
  so ``python -m atelier.cli …`` is the headless command line that never loads Qt (what
  ``python -m app`` was), and ``ui/__main__.py`` → ``atelier/__main__.py``: ``python -m atelier``
  is the ``atelier`` command (the studio, or the command line with a subcommand).
  ``app/delivery/cli_flags.py`` stays in ``delivery/`` (as today).
- ``ui/`` → ``studio/``: ``pages/`` as is; ``actions/`` holds the user's verbs (``actions.py`` →
  ``actions/menus.py``, ``review.py``, ``questions.py``); ``models/`` the Qt item models
  (``models.py`` → ``models/tables.py``, ``gallery_model.py`` → ``models/gallery.py``,
  ``team_model.py`` → ``models/team.py``); ``widgets/`` the reusable boxes and views; ``look/``
  theme, fonts, icons, fit, locale_format, qt_translations; the rest (``app``, ``launch``,
  ``main_window``, ``bridge``, ``tasks``, ``thumbnails``, ``smoke``, ``a11y``, ``deliveries``,
  ``team_lost``, ``batch_loader``) stays at ``studio/``'s root. ``ui/launch.py`` stays in
  ``studio/`` (``[project.scripts] atelier = "atelier.studio.launch:main"``).
- mypy --strict covers every subpackage but ``studio`` (which keeps ``ui.*``'s override).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Old dotted module → new dotted module, for every module of app/ and ui/ outside the packages
# that move whole (PACKAGES). A package's own ``__init__`` is named by the package.
MODULES: dict[str, str] = {
    "app": "atelier",
    "app.__main__": "atelier.cli.__main__",
    # core: what every stage stands on
    "app.models": "atelier.core.models",
    "app.status": "atelier.core.status",
    "app.errors": "atelier.core.errors",
    "app.events": "atelier.core.events",
    "app.i18n": "atelier.core.i18n",
    "app.paths": "atelier.core.paths",
    "app.settings": "atelier.core.settings",
    "app.secrets": "atelier.core.secrets",
    "app.redact": "atelier.core.redact",
    "app.logs": "atelier.core.logs",
    "app.addresses": "atelier.core.addresses",
    "app.validation_messages": "atelier.core.validation_messages",
    "app.url_secrets": "atelier.core.url_secrets",
    "app.files": "atelier.core.files",
    # sheet: a spreadsheet or a config → planned jobs
    "app.tabular": "atelier.sheet.tabular",
    "app.charsets": "atelier.sheet.charsets",
    "app.shopify": "atelier.sheet.shopify",
    "app.products": "atelier.sheet.products",
    "app.templates": "atelier.sheet.templates",
    "app.variations": "atelier.sheet.variations",
    "app.rows": "atelier.sheet.render",
    "app.row_selection": "atelier.sheet.row_selection",
    "app.config_plan": "atelier.sheet.config_plan",
    "app.batch": "atelier.sheet.plan",
    "app.input_images": "atelier.sheet.input_images",
    "app.remote": "atelier.sheet.remote",
    "app.library": "atelier.sheet.library",
    "app.sample": "atelier.sheet.sample_project",
    # pricing
    "app.pricing": "atelier.pricing.table",
    "app.estimate": "atelier.pricing.estimate",
    "app.budget": "atelier.pricing.budget",
    "app.reuse": "atelier.pricing.reuse",
    "app.spend": "atelier.pricing.spend",
    # engine
    "app.engine": "atelier.engine.engine",
    "app.lane": "atelier.engine.lane",
    "app.jobrun": "atelier.engine.jobrun",
    "app.copying": "atelier.engine.copying",
    "app.recovery": "atelier.engine.recovery",
    "app.ratelimit": "atelier.engine.ratelimit",
    "app.runner": "atelier.engine.runner",
    "app.job_saving": "atelier.engine.job_saving",
    "app.controller": "atelier.engine.controller",
    "app.service": "atelier.engine.service",
    # output
    "app.outputs": "atelier.output.images",
    "app.image_encoding": "atelier.output.image_encoding",
    "app.versions": "atelier.output.versions",
    "app.report": "atelier.output.report",
    "app.report_markdown": "atelier.output.report_markdown",
    "app.export": "atelier.output.export",
    "app.handoff": "atelier.output.handoff",
    "app.shopify_csv": "atelier.output.shopify_csv",
    "app.ci_comment": "atelier.output.ci_comment",
    # cli
    "app.cli": "atelier.cli.main",
    "app.cli_args": "atelier.cli.args",
    "app.cli_run_flags": "atelier.cli.run_flags",
    "app.cli_common": "atelier.cli.common",
    "app.cli_deliver": "atelier.cli.deliver",
    "app.cli_economy": "atelier.cli.economy",
    "app.cli_inputs": "atelier.cli.inputs",
    "app.cli_review": "atelier.cli.review",
    "app.cli_team": "atelier.cli.team",
    "app.cli_templates": "atelier.cli.templates",
    "app.cli_url_flags": "atelier.cli.url_flags",
    "app.argparse_i18n": "atelier.cli.argparse_i18n",
    # studio: the window
    "ui": "atelier.studio",
    "ui.__main__": "atelier.__main__",
    "ui.app": "atelier.studio.app",
    "ui.launch": "atelier.studio.launch",
    "ui.main_window": "atelier.studio.main_window",
    "ui.bridge": "atelier.studio.bridge",
    "ui.tasks": "atelier.studio.tasks",
    "ui.thumbnails": "atelier.studio.thumbnails",
    "ui.smoke": "atelier.studio.smoke",
    "ui.a11y": "atelier.studio.a11y",
    "ui.deliveries": "atelier.studio.deliveries",
    "ui.team_lost": "atelier.studio.team_lost",
    "ui.batch_loader": "atelier.studio.batch_loader",
    "ui.actions": "atelier.studio.actions.menus",
    "ui.review": "atelier.studio.actions.review",
    "ui.questions": "atelier.studio.actions.questions",
    "ui.spending": "atelier.studio.actions.spending",
    "ui.starting": "atelier.studio.actions.starting",
    "ui.interrupted": "atelier.studio.actions.interrupted",
    "ui.models": "atelier.studio.models",
    "ui.models.batches": "atelier.studio.models.batches",
    "ui.models.jobs": "atelier.studio.models.jobs",
    "ui.models.roles": "atelier.studio.models.roles",
    "ui.models.sheet": "atelier.studio.models.sheet",
    "ui.gallery_model": "atelier.studio.models.gallery",
    "ui.team_model": "atelier.studio.models.team",
    "ui.banner": "atelier.studio.widgets.banner",
    "ui.compare": "atelier.studio.widgets.compare",
    "ui.deliver_box": "atelier.studio.widgets.deliver_box",
    "ui.empty_state": "atelier.studio.widgets.empty_state",
    "ui.library_box": "atelier.studio.widgets.library_box",
    "ui.numbers": "atelier.studio.widgets.numbers",
    "ui.reference_preview": "atelier.studio.widgets.reference_preview",
    "ui.template_form": "atelier.studio.widgets.template_form",
    "ui.version_viewer": "atelier.studio.widgets.version_viewer",
    "ui.viewer": "atelier.studio.widgets.viewer",
    "ui.prompt_editor": "atelier.studio.widgets.prompt_editor",  # on main after 2035d50
    "ui.views": "atelier.studio.widgets.views",
    "ui.spend_dialog": "atelier.studio.widgets.spend_dialog",
    "ui.theme": "atelier.studio.look.theme",
    "ui.fonts": "atelier.studio.look.fonts",
    "ui.icons": "atelier.studio.look.icons",
    "ui.fit": "atelier.studio.look.fit",
    "ui.locale_format": "atelier.studio.look.locale_format",
    "ui.qt_translations": "atelier.studio.look.qt_translations",
}

# Packages that move whole (every file below them, data included), in this order.
PACKAGES: dict[str, str] = {
    "app.providers": "atelier.providers",
    "app.economy": "atelier.providers.economy",
    "app.store": "atelier.store",
    "app.delivery": "atelier.delivery",
    "app.team": "atelier.team",
    "ui.pages": "atelier.studio.pages",
    "resources": "atelier.resources",
}

# The new packages' one-line docstrings (their __init__.py is written, or its docstring set).
NEW_PACKAGES: dict[str, str] = {
    "atelier": "Atelier: a batch studio for AI image generation, laid out by stage (core → sheet → pricing → engine → output/delivery → cli, studio).",
    "atelier.core": "What every stage stands on: models, statuses, errors, events, translations, paths, settings, secrets and logs.",
    "atelier.sheet": "A spreadsheet or a batch config → planned jobs: reading sheets, shop conventions, templates, variations, rows and inputs.",
    "atelier.pricing": "What a batch costs: the price table, the estimate before a run, the budget during it, and reuse that makes it $0.",
    "atelier.engine": "Running planned jobs: the engine, its lanes, one job's run, copying, recovery, rate limits and the engine thread.",
    "atelier.output": "What a run leaves: images with metadata, versions, reports and exports (CSV, ZIP hand-off, Shopify CSV).",
    "atelier.cli": "The command line: one module per command (``atelier run``, ``deliver``, ``review``, ``team``, ``templates``…).",
    "atelier.studio": "The studio window (PySide6): pages, the user's actions, item models, widgets and the look.",
    "atelier.studio.actions": "The window's verbs: its actions and menus, the gallery's review actions, the questions asked before acting.",
    "atelier.studio.models": "The window's Qt item models: the spreadsheet, a batch's jobs, the history, the gallery and the team's batches.",
    "atelier.studio.widgets": "The window's reusable boxes and views: banner, viewers, compare, deliver and library boxes, number fields.",
    "atelier.studio.look": "How the window looks in the language in force: theme, fonts, icons, text-fitting widths, dates, Qt's own words.",
}

ROOTS = ("app", "ui", "resources")
TEXT_SUFFIXES = {
    ".py",
    ".toml",
    ".cfg",
    ".md",
    ".sh",
    ".yml",
    ".yaml",
    ".spec",
    ".txt",
    ".po",
    ".pot",
    ".desktop",
    ".xml",
    ".ini",
    ".json",
}
TEXT_NAMES = {".ci/run", "README.md", "babel.cfg", "pyproject.toml"}


def die(message: str) -> None:
    print(f"restructure: {message}", file=sys.stderr)
    sys.exit(1)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def module_file(dotted: str, is_package: bool) -> str:
    """``app.cli`` → ``app/cli.py``; a package → ``app/store/__init__.py``."""
    base = dotted.replace(".", "/")
    return f"{base}/__init__.py" if is_package else f"{base}.py"


def old_packages(tracked: list[str]) -> set[str]:
    return {
        f[: -len("/__init__.py")].replace("/", ".") for f in tracked if f.endswith("__init__.py")
    }


def full_map(tracked: list[str]) -> dict[str, str]:
    """Every old dotted module and package → its new dotted name (whole-moved packages
    expanded to each module below them)."""
    out = dict(MODULES)
    for old, new in PACKAGES.items():
        out[old] = new
        prefix = old.replace(".", "/") + "/"
        for f in tracked:
            if f.startswith(prefix) and f.endswith(".py") and not f.endswith("__init__.py"):
                rel = f[len(prefix) : -3].replace("/", ".")
                out[f"{old}.{rel}"] = f"{new}.{rel}"
    return out


def check_start(tracked: list[str]) -> None:
    if not Path("app").is_dir() or not Path("ui").is_dir() or not Path("resources").is_dir():
        die("app/, ui/ and resources/ must exist: run from the repository root of an unmoved tree")
    if Path("atelier").exists():
        die("atelier/ exists already: the tree is moved (git reset --hard to start again)")
    if git("status", "--porcelain", "--untracked-files=no").strip():
        die("the working tree has uncommitted changes: commit or stash them first")
    pkgs = old_packages(tracked)
    named = set(MODULES) | set(PACKAGES)
    missing = []
    for f in tracked:
        if not f.endswith(".py") or f.split("/")[0] not in ("app", "ui"):
            continue
        dotted = f[:-3].replace("/", ".")
        if dotted.endswith(".__init__"):
            dotted = dotted[: -len(".__init__")]
        if dotted in named or any(dotted.startswith(p + ".") for p in PACKAGES):
            continue
        missing.append(f)
    for p in sorted(pkgs):
        if (
            p.split(".")[0] in ("app", "ui")
            and p not in named
            and not any(p.startswith(q + ".") for q in PACKAGES)
        ):
            missing.append(p.replace(".", "/") + "/ (a package)")
    if missing:
        die(
            "these modules are not in the mapping (add them to MODULES or PACKAGES):\n  "
            + "\n  ".join(sorted(set(missing)))
        )


def moves(tracked: list[str]) -> list[tuple[str, str]]:
    """(old file path, new file path) for every single-module move."""
    pkgs = old_packages(tracked)
    out = []
    for old, new in MODULES.items():
        is_pkg = old in pkgs
        src = module_file(old, is_pkg)
        if src not in tracked:  # named for a newer (or older) main: nothing to move here
            print(f"skip   {src} (named in MODULES, not in this tree)")
            continue
        new_is_pkg = is_pkg or new in NEW_PACKAGES
        out.append((src, module_file(new, new_is_pkg)))
    return out


def do_moves(tracked: list[str]) -> None:
    for old, new in PACKAGES.items():
        src, dst = old.replace(".", "/"), new.replace(".", "/")
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        git("mv", src, dst)
        print(f"moved  {src}/ → {dst}/")
    for src, dst in moves(tracked):
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        git("mv", src, dst)
        print(f"moved  {src} → {dst}")
    for pkg, doc in NEW_PACKAGES.items():
        init = Path(module_file(pkg, True))
        text = init.read_text(encoding="utf-8") if init.exists() else ""
        body = text
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        if tree and tree.body and isinstance(tree.body[0], ast.Expr):
            node = tree.body[0]
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                lines = text.splitlines(keepends=True)
                body = "".join(lines[node.end_lineno or 1 :])
        init.write_text(f'"""{doc}"""\n' + (("\n" + body.lstrip("\n")) if body.strip() else ""))
        git("add", str(init))
        print(f"init   {init}")
    for root in ROOTS:
        if Path(root).exists():
            left = [p for p in Path(root).rglob("*") if p.is_file()]
            if any("__pycache__" not in p.parts and not p.name.endswith(".pyc") for p in left):
                print(f"note   {root}/ still holds untracked files, left in place: {left[:5]}")
            else:
                shutil.rmtree(root)


# ----------------------------------------------------------------------------- rewriting


class Rewriter:
    def __init__(self, mapping: dict[str, str], file_moves: dict[str, str]) -> None:
        self.mapping = mapping
        self.file_moves = file_moves  # old path → new path (files), plus directories
        dotted = sorted((k for k in mapping if "." in k), key=len, reverse=True)
        self.dotted_re = re.compile(
            r"(?<![\w./-])(?:" + "|".join(re.escape(k) for k in dotted) + r")(?![\w])"
        )
        self.path_re = re.compile(r"(?<![\w./-])(?:app|ui|resources)(?:/[\w.*-]+)*/?")

    # dotted names: app.cli_deliver.set_secret → atelier.cli.deliver.set_secret
    def dotted(self, text: str) -> str:
        return self.dotted_re.sub(lambda m: self.mapping[m.group(0)], text)

    # paths: app/engine.py → atelier/engine/engine.py, ui/ → atelier/studio/
    def path(self, m: re.Match[str]) -> str:
        s = m.group(0)
        trail = ""
        while s.endswith(".") and not s.endswith("/."):
            s, trail = s[:-1], "." + trail
        parts = s.rstrip("/").split("/")
        slash = "/" if s.endswith("/") else ""
        if parts[0] in ("app", "ui") and len(parts) == 1 and not slash:
            return m.group(0)  # a bare word "app"/"ui" is not a path
        if parts[0] == "resources" and len(parts) == 1 and not slash:
            return m.group(0)
        for n in range(len(parts), 0, -1):
            head = "/".join(parts[:n])
            if head in self.file_moves:
                rest = parts[n:]
                return "/".join([self.file_moves[head], *rest]) + slash + trail
        return m.group(0)

    def paths(self, text: str) -> str:
        return self.path_re.sub(self.path, text)

    def imports(self, text: str) -> str:
        """``from app import paths, cli_args as argtypes`` → one ``from NEW import …`` per
        name, since the names of one old package now live in several new ones."""
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return text
        nodes = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module in ("app", "ui")
        ]
        if not nodes:
            return text
        lines = text.splitlines(keepends=True)
        for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
            indent = " " * node.col_offset
            new_lines = []
            for alias in node.names:
                old = f"{node.module}.{alias.name}"
                local = alias.asname or alias.name
                if old in self.mapping:
                    new = self.mapping[old]
                    parent, leaf = new.rsplit(".", 1)
                    tail = f" as {local}" if local != leaf else ""
                    new_lines.append(f"{indent}from {parent} import {leaf}{tail}\n")
                else:  # an attribute of the package itself (__version__)
                    tail = f" as {alias.asname}" if alias.asname else ""
                    new_lines.append(
                        f"{indent}from {self.mapping[node.module]} import {alias.name}{tail}\n"
                    )
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            prefix = lines[first][: node.col_offset]
            if prefix.strip():
                die(f"an import not at the start of its line: {lines[first]!r}")
            lines[first : last + 1] = new_lines
        return "".join(lines)

    def file_parents(self, old: str, new: str, text: str) -> str:
        """``Path(__file__).resolve().parent.parent / "resources"`` in a moved module: as many
        ``.parent`` as reach ``atelier/`` from its new place (resources/ moved in there)."""
        up = len(new.split("/")) - 1
        return re.sub(
            r'(Path\(__file__\)\.resolve\(\))(?:\.parent)+(\s*/\s*"resources")',
            lambda m: m.group(1) + ".parent" * up + m.group(2),
            text,
        )


SPECIAL: list[tuple[str, str, str]] = [
    # (file glob, regex, replacement): the references no dotted name or path can show.
    ("*", r'"-m",(\s*)"app"(?=\s*[,\]])', r'"-m",\1"atelier.cli"'),
    ("*", r'"-m",(\s*)"ui"(?=\s*[,\]])', r'"-m",\1"atelier"'),
    ("*", r"(?<![\w-])-m app(?![\w.])", "-m atelier.cli"),
    ("*", r"(?<![\w-])-m ui(?![\w.])", "-m atelier"),
    ("*", r'\("app", "ui"\)', '("atelier",)'),
    ("!atelier/*.py", r'(?<=/ )"resources"(?= /)', '"atelier" / "resources"'),
    ("packaging/atelier.spec", r'(?<=/ )"resources"(?= /)', '"atelier" / "resources"'),
    ("pyproject.toml", r'include = \["app\*", "ui\*", "resources\*"\]', 'include = ["atelier*"]'),
    ("pyproject.toml", r"(?m)^resources = \[", '"atelier.resources" = ['),
    (
        "pyproject.toml",
        r'packages = \["app"\]',
        "packages = ["
        + ", ".join(
            f'"atelier.{p}"'
            for p in (
                "core",
                "sheet",
                "pricing",
                "engine",
                "providers",
                "store",
                "output",
                "delivery",
                "team",
                "cli",
            )
        )
        + "]",
    ),
    ("pyproject.toml", r'module = \["ui\.\*"\]', 'module = ["atelier.studio.*"]'),
    ("pyproject.toml", r"covers app/\)", "covers the rest of atelier/)"),
    # test_layering: the core is atelier minus studio and the two __main__ modules.
    ("tests/unit/test_layering.py", r"(?m)^import app$", "import atelier"),
    (
        "tests/unit/test_layering.py",
        r'pkgutil\.walk_packages\(app\.__path__, "app\."\) if m\.name != "app\.__main__"',
        'pkgutil.walk_packages(atelier.__path__, "atelier.")\n        if not m.name.startswith("atelier.studio") and not m.name.endswith("__main__")',
    ),
    (
        "tests/unit/test_layering.py",
        r'"app\.engine" in modules',
        '"atelier.engine.engine" in modules',
    ),
    (
        "tests/unit/test_layering.py",
        r'and "app\.cli" in modules',
        'and "atelier.cli.main" in modules',
    ),
    (
        "tests/unit/test_layering.py",
        r'for path in sorted\(\(REPO / "app"\)\.rglob\("\*\.py"\)\):',
        'for path in sorted((REPO / "atelier").rglob("*.py")):\n        if "studio" in path.parts or path.name == "__main__.py":\n            continue',
    ),
    (
        "tests/unit/test_layering.py",
        r'if n\.split\("\."\)\[0\] == "ui"\]',
        'if n.startswith("atelier.studio")]',
    ),
    (
        "tests/unit/test_sizes.py",
        r'REPO / "app" / "_sizes_probe\.py"',
        'REPO / "atelier" / "_sizes_probe.py"',
    ),
    ("babel.cfg", r"(?m)^\[python: ui/\*\*\.py\]\n", ""),
    ("babel.cfg", r"atelier\.pot app ui", "atelier.pot atelier"),
    (
        "tests/unit/test_layering.py",
        r'^"""app/ never imports Qt',
        '"""atelier/ outside studio/ never imports Qt',
    ),
    (
        "tests/unit/test_layering.py",
        r"``ui`` uses ``app``, never the reverse",
        "``atelier.studio`` uses the rest of ``atelier``, never the reverse",
    ),
    ("tests/unit/test_sizes.py", r"in ``app/`` and ``ui/`` no file", "in ``atelier/`` no file"),
    ("tests/unit/test_sizes.py", r'"app/_sizes_probe\.py:1', '"atelier/_sizes_probe.py:1'),
    # Prose: ``app/`` was the Qt-free core, ``ui/`` the window; together they are atelier/.
    ("*", r"(`{1,2})app/\1( and| or)(\s+)\1ui/\1", r"\1atelier/\1"),
    ("*", r"(`{1,2})app/\1", r"\1atelier/\1 outside \1studio/\1"),
    ("*", r"(`{1,2})ui\1", r"\1atelier.studio\1"),
    ("*", r"(`{1,2})app\1", r"\1atelier\1"),
]


def text_files() -> list[str]:
    out = []
    for f in git("ls-files").splitlines():
        p = Path(f)
        if (p.suffix in TEXT_SUFFIXES or f in TEXT_NAMES) and p.is_file():
            out.append(f)
    return out


def main() -> None:
    tracked = git("ls-files").splitlines()
    check_start(tracked)
    mapping = full_map(tracked)
    file_moves: dict[str, str] = {}
    for src, dst in moves(tracked):
        file_moves[src] = dst
    for old, new in PACKAGES.items():
        file_moves[old.replace(".", "/")] = new.replace(".", "/")
    file_moves.update({"app": "atelier", "ui": "atelier/studio"})
    new_of_old_file = dict(file_moves)
    do_moves(tracked)

    rw = Rewriter(mapping, file_moves)
    moved_back = {v: k for k, v in new_of_old_file.items() if k.endswith(".py")}
    changed = []
    me = Path(__file__).resolve()
    for f in text_files():
        if Path(f).resolve() == me:  # this script names the old modules on purpose
            continue
        try:
            text = Path(f).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = text
        if f.endswith(".py"):
            new = rw.imports(new)
            if f in moved_back:
                new = rw.file_parents(moved_back[f], f, new)
        for pattern_file, pattern, repl in SPECIAL:
            if pattern_file.startswith("!atelier/"):  # outside the package only
                if f.startswith("atelier/") or not Path(f).match(pattern_file[len("!atelier/") :]):
                    continue
                new = re.sub(pattern, repl, new)
            elif pattern_file == "*" or Path(f).match(pattern_file) or f == pattern_file:
                new = re.sub(pattern, repl, new)
        new = rw.dotted(new)
        new = rw.paths(new)
        if f == "babel.cfg":  # app/** and ui/** both became atelier/**: one section
            seen: set[str] = set()
            keep = []
            for line in new.splitlines(keepends=True):
                if line.startswith("[") and line in seen:
                    continue
                seen.add(line)
                keep.append(line)
            new = "".join(keep)
        if new != text:
            Path(f).write_text(new, encoding="utf-8")
            changed.append(f)
    print(f"rewrote references in {len(changed)} files:")
    for f in changed:
        print(f"  {f}")
    for name in ("tests/unit/test_layering.py", "tests/unit/test_sizes.py"):
        if Path(name).exists() and re.search(r'REPO / "(app|ui)"', Path(name).read_text()):
            die(f"{name} still names app/ or ui/: its SPECIAL rules no longer match")
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else (shutil.which("ruff") or "ruff")
    py = [f for f in changed if f.endswith(".py")] + [
        str(p) for p in Path("atelier").rglob("__init__.py")
    ]
    subprocess.run([ruff, "check", "--fix", "--select", "I", "--quiet", *py], check=False)
    subprocess.run([ruff, "format", "--quiet", *py], check=False)
    git("add", "-A", ".")
    leftovers = subprocess.run(
        ["git", "grep", "-nE", r"^\s*(from|import) (app|ui|resources)(\.|\s|$)", "--", "*.py"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if leftovers.strip():  # pragma: no cover - a sign the rules above missed a form
        print("note: imports of app/ui left:\n" + leftovers)
    print("done: the tree is atelier/; review with `git status` and commit")


if __name__ == "__main__":
    main()
