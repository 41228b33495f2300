"""``atelier secret set NAME``: a delivery secret kept in the keyring (read from stdin)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from atelier.cli.common import EXIT_OK
from atelier.core.errors import InputError
from atelier.core.i18n import tr
from atelier.core.secrets import set_secret


def add_parser(sub: Any) -> None:
    """``atelier secret set NAME``."""
    s = sub.add_parser("secret", help=tr("keep a delivery secret in the keyring (read from stdin)"))
    s.add_argument("action", choices=["set"])
    s.add_argument(
        "name", help=tr("webhook, cms, slack, s3:ACCESS_KEY_ID or shopify:SHOP.myshopify.com")
    )
    s.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO, inp: TextIO | None = None) -> int:
    """Keep the secret on the first line of ``inp`` (stdin) under ``args.name``.

    Raises:
        InputError: no secret on stdin, or no keyring works here.
    """
    value = (inp or sys.stdin).readline().strip()
    if not value:
        raise InputError(
            args.name, tr('no secret on stdin (echo "$SECRET" | atelier secret set NAME)')
        )
    if not set_secret(args.name, value):
        raise InputError(
            "keyring", tr("no keyring works here; set the environment variable instead")
        )
    print(tr("kept {name} in the keyring").format(name=args.name), file=out)
    return EXIT_OK
