"""`xinh faces` and `xinh analyze` on real photos and bad files, as a user runs them."""

from __future__ import annotations

import json
import logging
import os
import socket
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
    paths = [photos / "astronaut.jpg", photos / "coffee.jpg", text_file, bomb]
    assert main(["faces", *map(str, paths), "--json"]) == 0
    records = _json_lines(capsys.readouterr().out)
    assert [r["outcome"] for r in records] == ["ok", "ok", "unsupported", "too_large"]
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
        "age",
        "child",
        "too_small",
    }
    assert face["child"] is False and face["too_small"] is False
    assert face["age"] is None or isinstance(face["age"], float)
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


@pytest.mark.parametrize("command", ["analyze", "faces"])
def test_missing_file_and_folder_are_one_line_each_and_exit_1(
    command: str, photos: Path, tmp_path: Path, capsys
) -> None:
    paths = [tmp_path / "nope.jpg", photos / "rocket.jpg", tmp_path]
    assert main([command, *map(str, paths), "--json"]) == 1
    captured = capsys.readouterr()
    assert [r["path"] for r in _json_lines(captured.out)] == [str(photos / "rocket.jpg")]
    errors = captured.err.splitlines()
    assert len(errors) == 2
    assert "nope.jpg" in errors[0] and "no such file" in errors[0]
    assert str(tmp_path) in errors[1] and "folder" in errors[1]


def test_cli_calls_print_no_litert_banner(photos: Path) -> None:
    for command in ("analyze", "faces"):
        run = subprocess.run(
            [sys.executable, "-m", "xinh.cli", command, str(photos / "astronaut.jpg")],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert "XNNPACK" not in run.stdout + run.stderr
        assert run.stderr == ""


def test_analyze_speaks_every_locale() -> None:
    from xinh.locales import Catalog

    with pytest.raises(SystemExit):
        main(["analyze", "x.jpg", "--lang", "xx"])
    assert set(Catalog.load().languages) >= {"en", "vi"}


def _demo(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XINH_WORKERS": "1"}
    env.pop("XINH_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "xinh.cli", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_demo_on_an_invalid_port_is_one_line() -> None:
    run = _demo("--port", "99999")
    assert run.returncode == 2
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert "99999" in run.stderr


def test_demo_on_a_busy_port_is_one_line_and_announces_nothing() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = _demo("--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert run.stderr.startswith("xinh: ") and "in use" in run.stderr
