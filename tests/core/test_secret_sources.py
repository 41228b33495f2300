"""Where secrets come from (issue 27 §1): an address flag holding a password or secret says it
shows in ``ps`` (its ``--help``, and one warning on stderr when used so) and names the keyring
/ environment form, which exists for each (``--slack`` for a Slack webhook); a secret read from
the environment loses its trailing newline and spaces, as ``atelier secret set`` strips it."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from atelier.cli import secret as cli_secret
from atelier.cli.main import _parser
from atelier.core.secrets import get_key, get_secret
from tests.fakes.receivers import CmsFake, SlackFake
from tests.support.cli import run_cli
from tests.support.record import record

PASSWORD = "hunter2-Qx7"
SLACK_URL_PATH = "/services/T0AAA/B0BBB/XyZ123abc"


def _sheet(tmp_path: Path) -> Path:
    sheet = tmp_path / "s.csv"
    sheet.write_text("Title,SKU\nCup,C-1\n", encoding="utf-8")
    return sheet


def _help_of(command: str, flag: str) -> str:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if flag in a.option_strings)
    return str(action.help)


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        ("run", "--queue"),
        ("worker", "--queue"),
        ("queue", "--queue"),
        ("run", "--slack-webhook"),
        ("run", "--webhook"),
        ("run", "--cms-request"),
        ("run", "--s3-endpoint"),
        ("run", "--base-url"),
    ],
)
def test_each_address_flag_says_a_secret_in_it_shows_in_ps(command: str, flag: str) -> None:
    assert " ps" in _help_of(command, flag)


def test_a_password_in_an_address_flag_warns_once_and_names_the_safer_form(
    tmp_path: Path,
) -> None:
    sheet = _sheet(tmp_path)
    base = ["run", "--csv", str(sheet), "--prompt", "x", "--provider", "draft", "--estimate-only"]
    r = run_cli(
        *base,
        "--queue",
        f"redis://:{PASSWORD}@127.0.0.1:6390/0",
        "--slack-webhook",
        "https://hooks.slack.com" + SLACK_URL_PATH,
        "--webhook",
        "https://hooks.example/in?token=abc123",
        "--webhook",
        "https://hooks.example/in?token=def456",
        "--cms-request",
        "PATCH",
        "https://cms.example/api/{SKU}?access_token=t0k",
        '{"sku": "{SKU}"}',
    )
    warnings = [line for line in r.err.splitlines() if line.startswith("warning:")]
    flags = [w.split()[1] for w in warnings]
    assert flags == ["--queue", "--slack-webhook", "--webhook", "--cms-request"]  # once each
    assert all("(ps)" in w for w in warnings)
    queue, slack, _webhook, cms = warnings
    assert "atelier secret set redis:default@127.0.0.1:6390" in queue
    assert "ATELIER_REDIS_PASSWORD" in queue
    assert "--slack" in slack and "ATELIER_SLACK_WEBHOOK" in slack
    assert "{secret}" in cms and "ATELIER_CMS_TOKEN" in cms
    assert PASSWORD not in r.err and SLACK_URL_PATH not in r.err
    # the same flags without a secret say nothing
    clean = run_cli(
        *base, "--queue", "redis://127.0.0.1:6390/0", "--webhook", "https://h.example/in"
    )
    assert "warning:" not in clean.err
    # worker and queue parse the same flag
    from atelier.cli import url_flags as cli_url_flags

    args = _parser().parse_args(["worker", "--queue", f"redis://u:{PASSWORD}@q.example:6379/0"])
    assert [w.split()[0] for w in cli_url_flags.warnings(args)] == ["--queue"]
    record("address flags holding a secret", flags=4, warned=len(warnings), secrets_echoed=0)


def test_slack_from_the_environment_needs_no_address_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SlackFake() as slack:
        monkeypatch.setenv("ATELIER_SLACK_WEBHOOK", slack.url + SLACK_URL_PATH + "\n")
        r = run_cli(
            "run", "--csv", str(_sheet(tmp_path)), "--prompt", "photo of {Title}",
            "--provider", "draft", "--output-dir", str(tmp_path / "out"), "--slack",
        )  # fmt: skip
        assert r.code == 0, r.err
        assert len(slack.messages) == 2  # started and finished
    assert "warning:" not in r.err
    monkeypatch.delenv("ATELIER_SLACK_WEBHOOK")
    r = run_cli(
        "run", "--csv", str(_sheet(tmp_path)), "--prompt", "x", "--provider", "draft", "--slack"
    )
    assert r.code == 2 and "--slack" in r.err and "ATELIER_SLACK_WEBHOOK" in r.err


def test_an_environment_secret_is_stripped_as_secret_set_strips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "cms-t0ken-9a8b"
    monkeypatch.setenv("ATELIER_CMS_TOKEN", f"{token}\n")
    monkeypatch.setenv("ATELIER_WEBHOOK_SECRET", "  whsec_abc \r\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123 \n")
    assert get_secret("cms") == token
    assert get_secret("webhook") == "whsec_abc"
    assert get_key("openai").key == "sk-test-123"
    # what ``atelier secret set`` keeps from the same text, for comparison
    kept: dict[str, str] = {}
    monkeypatch.setattr("atelier.cli.secret.set_secret", lambda n, v: kept.update({n: v}) or True)
    cli_secret.run(
        argparse.Namespace(command="secret", name="cms"),
        io.StringIO(),
        io.StringIO(),
        io.StringIO(f"{token}\n"),
    )
    assert kept == {"cms": token}
    # a whitespace-only variable is no secret at all
    monkeypatch.setenv("ATELIER_CMS_TOKEN", " \n")
    assert get_secret("cms") is None

    # end to end: the CMS call authenticates at once instead of failing on a bad header
    monkeypatch.setenv("ATELIER_CMS_TOKEN", f"{token}\n  ")
    with CmsFake(token) as cms:
        r = run_cli(
            "run", "--csv", str(_sheet(tmp_path)), "--prompt", "photo of {Title}",
            "--provider", "draft", "--output-dir", str(tmp_path / "out"), "--format", "json",
            "--cms-request", "PATCH", cms.url + "/api/products/{SKU}", '{"sku": "{SKU}"}',
        )  # fmt: skip
        calls = list(cms.calls)
    assert r.code == 0, r.err
    assert calls == [("PATCH", "/api/products/C-1", {"sku": "C-1"})]
    assert [d["status"] for d in r.report()["results"][0]["deliveries"]] == ["delivered"]
