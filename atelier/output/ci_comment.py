"""The batch config in a ``/batch`` issue comment, for the CI workflow
(``.github/workflows/atelier-batch.yml``): the comment's first line is ``/batch``, the rest a
JSON batch config, bare or in a fenced code block.

    python -m atelier.output.ci_comment OUT.json      # the comment's body in $ATELIER_COMMENT

Exit codes: 0 written; 2 the comment holds no usable config (one sentence on stderr, also
written to OUT.json's sibling ``OUT.error.md`` for the workflow to comment back).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atelier.core.errors import InputError
from atelier.core.i18n import tr

COMMAND = "/batch"
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n```\s*$", re.DOTALL)


def config_from_comment(body: str) -> dict[str, Any]:
    """The JSON object after ``/batch`` in a comment's ``body``.

    Raises:
        InputError: the comment does not start with ``/batch``, holds no JSON, its JSON does
            not parse (with the line and column in the comment) or is not an object.
    """
    text = body.replace("\r\n", "\n").strip()
    first, _, rest = text.partition("\n")
    words = first.split(maxsplit=1)
    if not words or words[0] != COMMAND:
        raise InputError("comment", tr("does not start with {command}").format(command=COMMAND))
    rest = ((words[1] if len(words) > 1 else "") + "\n" + rest).strip()
    fenced = _FENCE.match(rest)
    if fenced:
        rest = fenced.group("body").strip()
    if not rest:
        raise InputError(
            "comment", tr("{command} needs a JSON batch config after it").format(command=COMMAND)
        )
    try:
        data = json.loads(rest)
    except json.JSONDecodeError as e:
        at = text.index(rest) + e.pos  # where the user sees it: in the comment, not the JSON
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        raise InputError(
            "comment",
            tr("line {line}, column {column}: {reason}").format(
                line=line, column=column, reason=e.msg
            ),
        ) from None
    if not isinstance(data, dict):
        raise InputError("comment", tr('the config must be a JSON object ({"jobs": [...]})'))
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Write the comment's config (from ``$ATELIER_COMMENT``) to ``argv[0]``; see the module
    docstring for exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m atelier.output.ci_comment OUT.json", file=sys.stderr)
        return 2
    out = Path(args[0])
    try:
        config = config_from_comment(os.environ.get("ATELIER_COMMENT", ""))
    except InputError as e:
        msg = tr("Atelier could not read this /batch comment: {reason}").format(reason=e)
        print(msg, file=sys.stderr)
        out.with_suffix(".error.md").write_text(msg + "\n", encoding="utf-8")
        return 2
    out.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
