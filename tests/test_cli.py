"""`xinh faces` and `xinh analyze` on real photos and bad files, as a user runs them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests import badfiles
from xinh.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_faces_json_one_object_per_photo(photos: Path, tmp_path: Path, capsys) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a photo")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(badfiles.png_bomb())
    paths = [
        photos / "astronaut.jpg",
        photos / "coffee.jpg",
        text_file,
        bomb,
        tmp_path / "gone.jpg",
    ]
    assert main(["faces", *map(str, paths), "--json"]) == 0
    records = _json_lines(capsys.readouterr().out)
    assert [r["outcome"] for r in records] == ["ok", "ok", "unsupported", "too_large", "unreadable"]
    face = records[0]["faces"][0]
    assert set(face) == {"box", "detection_score", "keypoints"}
    assert len(face["box"]) == 4 and len(face["keypoints"]) == 6
    assert records[1]["faces"] == []


def test_faces_annotate_writes_pictures(photos: Path, tmp_path: Path, capsys) -> None:
    assert main(["faces", str(photos / "astronaut.jpg"), "--annotate", str(tmp_path / "out")]) == 0
    assert "1 face(s)" in capsys.readouterr().out
    assert (tmp_path / "out" / "astronaut.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_analyze_json_gives_the_verdict_and_the_message(
    photos: Path, tmp_path: Path, woman_jpeg: bytes, capsys
) -> None:
    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(woman_jpeg)
    assert main(["analyze", str(portrait), str(photos / "rocket.jpg"), "--json"]) == 0
    rated, empty = _json_lines(capsys.readouterr().out)
    assert rated["outcome"] == "rated"
    face = rated["faces"][0]
    assert set(face) == {
        "box",
        "detection_score",
        "female_probability",
        "gender",
        "beauty",
        "verdict",
    }
    assert face["gender"] == "female" and face["verdict"] in ("beautiful", "average")
    assert 1 <= face["beauty"] <= 10
    assert "/10" in rated["message"]
    assert empty["outcome"] == "no_face" and empty["message"].startswith("Hmmmm?")


def test_analyze_speaks_vietnamese(photos: Path, capsys) -> None:
    assert main(["analyze", str(photos / "rocket.jpg"), "--lang", "vi"]) == 0
    assert "Chúng tôi không tìm thấy khuôn mặt nào" in capsys.readouterr().out


def test_analyze_never_imports_tensorflow(photos: Path) -> None:
    code = (
        "import sys; from xinh.cli import main;"
        f"main(['analyze', {str(photos / 'astronaut.jpg')!r}, '--json']);"
        "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules), 'TF';"
        "print('no tensorflow')"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("no tensorflow")


@pytest.mark.parametrize("command", [["telegram"], ["discord"]])
def test_bots_without_a_token_exit_2_with_one_line(command, monkeypatch, capsys) -> None:
    monkeypatch.delenv("XINH_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("XINH_DISCORD_TOKEN", raising=False)
    assert main(command) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "TOKEN" in error


@pytest.mark.parametrize("command", [["analyze", "photo.jpg"], ["demo"], ["telegram"], ["discord"]])
def test_missing_model_files_exit_2_with_one_line(command, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("XINH_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("XINH_TELEGRAM_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    monkeypatch.setenv("XINH_DISCORD_TOKEN", "a-discord-token")
    monkeypatch.setenv("XINH_HEALTH_PORT", "0")
    root = logging.getLogger()  # the bots configure logging before loading models
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    assert main(command) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "XINH_MODELS_DIR" in error
