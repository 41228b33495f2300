"""Flags that take an address, and the credential a user may write into one.

Every process's command line is readable by every user of the machine (``ps``, ``/proc``), so
a password in ``--queue redis://:pw@host`` or a Slack webhook address given to
``--slack-webhook`` is exposed for as long as the command runs. Each such flag's ``--help``
says so, and ``warnings`` gives one sentence per flag used that way, naming the form that keeps
the secret off the command line (the keyring, an environment variable, stdin or a file).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from atelier.core.i18n import tr
from atelier.core.url_secrets import secret_in_url


def _queue(url: str) -> str:
    from atelier.team.connection import queue_secret_name  # redis is loaded only for a queue

    return tr(
        'keep the password in the keyring (echo "$PASSWORD" | atelier secret set {entry}) or '
        "in ATELIER_REDIS_PASSWORD, and leave it out of the address"
    ).format(entry=queue_secret_name(url))


def _slack(_url: str) -> str:
    return tr(
        'keep the address in the keyring (echo "$URL" | atelier secret set slack) or in '
        "ATELIER_SLACK_WEBHOOK, and give --slack instead"
    )


def _webhook(_url: str) -> str:
    return tr(
        'write the target in a batch config file ("deliver": [{"kind": "webhook", "url": …}]) '
        "instead; a signing secret belongs in the keyring (atelier secret set webhook) or in "
        "ATELIER_WEBHOOK_SECRET"
    )


def _cms(_url: str) -> str:
    return tr(
        "write {secret} where the token goes: it is filled from the keyring "
        '(echo "$TOKEN" | atelier secret set cms) or ATELIER_CMS_TOKEN'
    )


def _s3(_url: str) -> str:
    return tr(
        "give the key id with --s3-access-key-id and keep its secret in the keyring "
        '(echo "$SECRET" | atelier secret set s3:ID) or the AWS credential chain'
    )


def _base_url(_url: str) -> str:
    return tr("give the address in the provider's variable ATELIER_<PROVIDER>_BASE_URL instead")


_FLAGS: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    ("queue", "--queue", _queue),
    ("slack_webhook", "--slack-webhook", _slack),
    ("webhook", "--webhook", _webhook),
    ("cms_request", "--cms-request", _cms),
    ("s3_endpoint", "--s3-endpoint", _s3),
    ("base_url", "--base-url", _base_url),
)
"""(argparse dest, flag, the safer form) of every flag that takes an address."""


def _addresses(dest: str, value: object) -> list[str]:
    if value is None:
        return []
    if dest == "cms_request":  # METHOD URL BODY
        return [str(value[1])] if isinstance(value, list) and len(value) == 3 else []
    values = value if isinstance(value, list) else [value]
    if dest == "base_url":  # several endpoints, separated by commas
        return [u for v in values for u in str(v).split(",")]
    return [str(v) for v in values]


def warnings(args: argparse.Namespace) -> list[str]:
    """One sentence per flag of ``args`` whose address holds a password or a secret (its
    userinfo, a credential-named query value, a webhook service's secret path), naming the
    safer form; empty when none does. The secret itself is never repeated."""
    out: list[str] = []
    for dest, flag, safer in _FLAGS:
        for url in _addresses(dest, getattr(args, dest, None)):
            if secret_in_url(url):
                out.append(
                    tr(
                        "{flag} holds a password or secret, which other users of this machine "
                        "can read in the process list (ps) while atelier runs: {safer}"
                    ).format(flag=flag, safer=safer(url))
                )
                break  # once per flag
    return out


def ps_note() -> str:
    """The sentence ``--help`` adds to a flag that takes an address."""
    return tr("a password or secret in it shows in ps")
