"""What ``critmin report`` keeps between runs: packed static assets and compiled templates.

Both live in the cache folder (``CRITMIN_CACHE_DIR`` here: a temporary folder) and may only
cost time when they are missing, damaged or cannot be written, never change a report."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from critmin.report import render
from critmin.report.format import gzip_b64
from critmin.report.resources import packed_text

TEXT = "critmin packed asset " * 2000


def _packed(text: str) -> str:
    return packed_text.__wrapped__(text)  # past the in-process cache


def test_packed_text_is_gzip_b64_and_is_read_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(tmp_path))
    first = _packed(TEXT)
    assert first == gzip_b64(TEXT)
    assert gzip.decompress(base64.b64decode(first)).decode() == TEXT
    (kept,) = (tmp_path / "packed").iterdir()
    kept.write_text(first.replace(first[40:60], first[40:60][::-1]))  # a changed file: read as is
    calls: list[str] = []
    monkeypatch.setattr("critmin.report.format.gzip_b64", lambda t: calls.append(t) or "x")
    assert _packed(TEXT) == kept.read_text()  # read back, not compressed again
    assert calls == []
    assert _packed(TEXT + "!") == "x"  # another text, another file
    assert len(list((tmp_path / "packed").iterdir())) == 2


@pytest.mark.parametrize("damage", [b"", b"not base64 at all!", base64.b64encode(b"not gzip")])
def test_a_damaged_packed_file_is_packed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(tmp_path))
    _packed(TEXT)
    (kept,) = (tmp_path / "packed").iterdir()
    kept.write_bytes(damage)
    assert _packed(TEXT) == gzip_b64(TEXT)
    assert kept.read_text() == gzip_b64(TEXT)


def test_a_cache_folder_that_cannot_be_written_only_costs_time(unwritable_cache: Path) -> None:
    assert _packed(TEXT) == gzip_b64(TEXT)
    env = render.make_env()
    assert env.from_string("{{ 1 + 1 }}").render() == "2"
    assert env.get_template("_results.html.j2") is not None


def _render_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, list[Path]]:
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(tmp_path))
    (tmp_path / "t").mkdir(exist_ok=True)
    (tmp_path / "t" / "page.html.j2").write_text("{% for i in range(3) %}{{ i|num }} {% endfor %}")
    first = render.make_env(tmp_path / "t").get_template("page.html.j2").render()
    files = sorted((tmp_path / "templates").iterdir())
    second = render.make_env(tmp_path / "t").get_template("page.html.j2").render()
    return first, second, files


def test_compiled_templates_are_kept_and_give_the_same_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, files = _render_twice(tmp_path, monkeypatch)
    assert first == second == "0 1 2 "
    assert len(files) == 1
    compiled: list[str] = []
    real = render.Environment.compile

    def spy(self: render.Environment, *a: object, **k: object) -> object:
        compiled.append("x")
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(render.Environment, "compile", spy)
    assert render.make_env(tmp_path / "t").get_template("page.html.j2").render() == first
    assert compiled == []  # loaded from the cache, not compiled
    (tmp_path / "t" / "page.html.j2").write_text("edited {{ 2|num }}")
    assert render.make_env(tmp_path / "t").get_template("page.html.j2").render() == "edited 2"
    assert compiled  # an edited template is compiled again


def test_a_damaged_compiled_template_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _, files = _render_twice(tmp_path, monkeypatch)
    for damage in (b"", files[0].read_bytes()[:20], files[0].read_bytes()[:-7]):
        files[0].write_bytes(damage)
        assert render.make_env(tmp_path / "t").get_template("page.html.j2").render() == first
