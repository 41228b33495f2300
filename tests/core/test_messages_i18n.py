"""The messages atelier/ hands to people (input errors, plan warnings, the CLI's output) in the
language in force; every one still names its file, line or flag."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from atelier.cli.main import run_command
from atelier.core import i18n
from atelier.core.errors import InputError
from atelier.sheet.tabular import read_table

SAMPLE = (
    Path(__file__).resolve().parents[2] / "atelier" / "resources" / "sample" / "products-ja.csv"
)


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.use_language("ja")
    yield None
    i18n.use_language("en")


@pytest.mark.usefixtures("japanese")
def test_a_spreadsheet_error_in_japanese_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "商品.csv"
    bad.write_text('品番,商品名\nA-1,"急須\nA-2,湯呑み\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(bad)
    assert str(bad) in e.value.where and "2 行" in e.value.where
    assert "引用符" in e.value.message and "2〜3 行" in e.value.message


@pytest.mark.parametrize(
    ("language", "jobs", "why"),
    [
        ("ja", "3 件のジョブ", "プロバイダー draft："),
        ("zh_Hant", "3 個工作", "供應商 draft："),
        ("ko", "작업 3개", "공급자 draft:"),
        ("en", "3 jobs", "Provider draft:"),
    ],
)
def test_the_cli_speaks_the_locale(
    monkeypatch: pytest.MonkeyPatch, language: str, jobs: str, why: str
) -> None:
    monkeypatch.setenv("ATELIER_LANGUAGE", language)
    out, err = io.StringIO(), io.StringIO()
    argv = ["run", "--csv", str(SAMPLE), "--prompt", "{商品名}", "--provider", "draft"]
    try:
        code = run_command([*argv, "--estimate-only"], out, err)
    finally:
        i18n.use_language("en")
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert jobs in text and why in text and "$0.000" in text  # money stays USD


def test_a_cli_usage_error_in_korean_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_LANGUAGE", "ko")
    err = io.StringIO()
    try:
        code = run_command(["run", "--csv", str(SAMPLE), "--header-row", "０"], io.StringIO(), err)
    finally:
        i18n.use_language("en")
    assert code != 0
    assert "--header-row" in err.getvalue() and "1 이상이어야 합니다" in err.getvalue()
