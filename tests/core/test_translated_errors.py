"""Errors carry no English from pydantic or argparse: a value a model refuses (``Input should
be 'POST', 'PUT' or 'PATCH'``, ``Field required``) and a flag argparse refuses (``invalid int
value``) are told in Atelier's own sentences, which the catalogs translate. The English test
checks the sentences now; the Japanese one checks they are translated (it passes once the
catalogs carry the new messages)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from atelier.core.errors import InputError
from atelier.core.i18n import use_language
from atelier.core.models import validation_problems
from atelier.delivery.forms import DeliveryForm, delivery_from_form
from tests.support.cli import run_cli
from tests.support.record import record

# What pydantic and argparse write in English (pydantic 2 ``msg`` texts; argparse 3.11).
FOREIGN = (
    "Input should be", "Field required", "Extra inputs are not permitted", "String should have",
    "List should have", "valid integer", "valid number", "greater than or equal",
    "less than or equal", "Value error", "invalid int value", "invalid float value",
    "Unable to extract tag", "does not match any of the expected tags",
)  # fmt: skip
# Our own English sentences for those errors: in Japanese none of them may show.
OURS = (
    "is not allowed: use one of", "required, missing", "unknown key", "expected a whole number",
    "expected a number", "must be at least", "too short", "too few items", "is not a web address",
    "is not a known kind", "not an Atelier report", "invalid choice", "choose from",
    "the following arguments are required", "unrecognized arguments", "expected one value",
    "argument ", "delivery flags",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    use_language("en")


def _sheet(tmp_path: Path) -> Path:
    p = tmp_path / "s.csv"
    p.write_text("SKU\nA-1\n", encoding="utf-8")
    return p


def _cli(*argv: str) -> str:
    r = run_cli(*argv)
    assert r.code == 2, (argv, r.code, r.out, r.err)
    assert "Traceback" not in r.err
    return r.err.strip()


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "jobs": [
                    {"size": "1024x1024", "sample_count": "several"},
                    {"prompt": "b", "moderation": "strict", "transparent_background": "maybe"},
                ],
                "max_concurrent": 0,
                "deliver": [{"kind": "ftp", "host": "x"}, {"kind": "s3", "bucket": "ab"}],
            }
        ),
        encoding="utf-8",
    )
    return cfg


def _report(tmp_path: Path) -> Path:
    p = tmp_path / "atelier-report.json"
    p.write_text(json.dumps({"batch_id": "seven", "results": [{}]}), encoding="utf-8")
    return p


def _form_error() -> str:
    form = DeliveryForm(cms_url="https://cms.example/{SKU}", cms_method="GET")
    with pytest.raises(InputError) as e:
        delivery_from_form(form)
    return str(e.value)


CASES: dict[str, Callable[[Path], str]] = {
    "cms method flag": lambda t: _cli(
        "run",
        "--csv",
        str(_sheet(t)),
        "--prompt",
        "{SKU}",
        "--provider",
        "draft",
        "--output-dir",
        str(t / "o"),
        "--cms-request",
        "GET",
        "https://cms.example/x",
        "{}",
    ),
    "batch config": lambda t: _cli("run", str(_config(t)), "--provider", "draft"),
    "report file": lambda t: _cli("report", str(_report(t))),
    "window's delivery form": lambda t: _form_error(),
    "int flag": lambda t: _cli("show", "seven"),
    "float flag": lambda t: _cli(
        "worker", "--queue", "redis://127.0.0.1:1/0", "--visibility-timeout", "soon"
    ),
    "choice flag": lambda t: _cli("run", "--format", "yaml"),
    "unknown command": lambda t: _cli("frobnicate"),
    "required argument": lambda t: _cli("export"),
    "missing value": lambda t: _cli("run", "--seed"),
    "unknown flag": lambda t: _cli("batches", "--colour"),
}


def test_errors_are_told_in_our_sentences_not_pydantics_or_argparses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_LANGUAGE", "en")
    shown = {name: make(tmp_path) for name, make in CASES.items()}
    foreign = {n: [f for f in FOREIGN if f in m] for n, m in shown.items()}
    record("errors with pydantic or argparse English (en)", messages=len(shown),
           foreign=sum(map(bool, foreign.values())))  # fmt: skip
    assert {n: f for n, f in foreign.items() if f} == {}, shown
    assert (
        "method: 'GET' is not allowed: use one of 'POST', 'PUT', 'PATCH'"
        in shown["cms method flag"]
    )
    cfg = shown["batch config"]
    assert "jobs[0].prompt: required, missing" in cfg
    assert "jobs[0].sample_count: expected a whole number, got 'several'" in cfg
    assert (
        "jobs[1].moderation: 'strict' is not allowed: use one of 'auto', 'low', 'medium', 'high'"
        in cfg
    )
    assert "jobs[1].transparent_background: expected true or false, got 'maybe'" in cfg
    assert "max_concurrent: must be at least 1, got 0" in cfg
    assert "deliver[0]: 'ftp' is not a known kind: use one of 's3', 'webhook'" in cfg
    assert "deliver[1].s3.bucket: too short: at least 3 character(s)" in cfg
    assert "batch_id: expected a whole number, got 'seven'" in shown["report file"]
    assert (
        "'GET' is not allowed: use one of 'POST', 'PUT', 'PATCH'" in shown["window's delivery form"]
    )
    assert "argument BATCH: expected a whole number, got 'seven'" in shown["int flag"]
    assert "argument --visibility-timeout: expected a number, got 'soon'" in shown["float flag"]


def test_errors_in_japanese_carry_no_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATELIER_LANGUAGE", "ja")
    shown = {name: make(tmp_path) for name, make in CASES.items()}
    english = {n: [f for f in (*FOREIGN, *OURS) if f in m] for n, m in shown.items()}
    record("errors with English fragments (ja)", messages=len(shown),
           english=sum(map(bool, english.values())))  # fmt: skip
    assert {n: f for n, f in english.items() if f} == {}, shown


class _Every(BaseModel):
    """One field per kind of error Atelier's models can raise."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["POST", "PUT"] = "POST"
    count: int = Field(default=1, ge=1, le=9)
    price: float = Field(default=0.0, gt=0, lt=10)
    flag: bool = False
    name: str = Field(default="ab", min_length=2, max_length=4, pattern=r"^[a-z]+$")
    tags: list[str] = Field(default_factory=list, min_length=0, max_length=1)
    url: HttpUrl | None = None
    needed: str


@pytest.mark.parametrize(
    "data",
    [
        {"method": "GET"}, {"count": "x"}, {"count": 1.5}, {"count": 0}, {"count": 10},
        {"price": "x"}, {"price": 0}, {"price": 10}, {"flag": "maybe"}, {"name": 5},
        {"name": "a"}, {"name": "abcde"}, {"name": "AB"}, {"tags": "x"}, {"tags": ["a", "b"]},
        {"url": "not a url"}, {"url": "ftp://x"}, {"other": 1}, {"needed": ["x"]},
    ],
)  # fmt: skip
def test_each_error_type_gets_our_sentence(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as e:
        _Every.model_validate({"needed": "n"} | data)
    problems = validation_problems(e.value)
    assert problems
    for place, sentence in problems:
        assert place and sentence
        assert not [f for f in FOREIGN if f in sentence], (data, sentence)
        assert not any(m["msg"] in sentence for m in e.value.errors() if m["msg"]), sentence


def test_an_unknown_error_type_names_the_field_and_value() -> None:
    # Imported here: the module is new, and the other tests of this file must run (and fail)
    # on the code before it.
    from atelier.core.validation_messages import describe_error

    err = {"type": "uuid_parsing", "loc": ("jobs", 0, "history_uuid"), "msg": "Input should be a valid UUID", "input": "zz"}  # fmt: skip
    assert describe_error(err) == "'zz' is not a valid history_uuid"
