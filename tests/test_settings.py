"""The settings layer: environment over TOML over defaults, one-line errors, masked secrets."""

from __future__ import annotations

import pytest

from xinh.cli import main
from xinh.inference.detector import DetectorOptions
from xinh.inference.engine import EngineOptions
from xinh.inference.types import Limits
from xinh.settings import ConfigError, Settings, describe

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_defaults() -> None:
    settings = Settings.load({})
    assert settings.rate_limit_per_minute == 5 and settings.max_bytes == 20 * 1024 * 1024
    assert settings.engine_options().limits.max_pixels == 40_000_000


def test_environment_overrides_file(tmp_path) -> None:
    config = tmp_path / "xinh.toml"
    config.write_text("workers = 3\nlog_json = true\ndemo_port = 9000\n")
    settings = Settings.load({"XINH_CONFIG": str(config), "XINH_WORKERS": "4"})
    assert (settings.workers, settings.log_json, settings.demo_port) == (4, True, 9000)
    assert (
        settings.sources({"XINH_CONFIG": str(config), "XINH_WORKERS": "4"})["demo_port"] == "file"
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [({"XINH_WORKERS": "many"}, "XINH_WORKERS"), ({"XINH_LOG_JSON": "maybe"}, "true or false")],
)
def test_bad_values_are_one_clear_line(env, fragment) -> None:
    with pytest.raises(ConfigError, match=fragment) as error:
        Settings.load(env)
    assert "\n" not in str(error.value)


def test_unknown_file_setting_is_refused(tmp_path) -> None:
    config = tmp_path / "xinh.toml"
    config.write_text("wrokers = 3\n")
    with pytest.raises(ConfigError, match="wrokers"):
        Settings.load({"XINH_CONFIG": str(config)})


def test_secrets_are_masked() -> None:
    masked = Settings.load({"XINH_TELEGRAM_TOKEN": TOKEN}).masked()
    assert TOKEN not in masked["telegram_token"] and masked["telegram_token"].endswith("Dsaw")


def test_xinh_config_prints_every_setting_and_what_is_missing(monkeypatch, capsys) -> None:
    monkeypatch.setenv("XINH_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.delenv("XINH_DISCORD_TOKEN", raising=False)
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    for env_name, *_ in describe():
        assert env_name + "=" in out
    assert TOKEN not in out
    assert "xinh discord needs XINH_DISCORD_TOKEN" in out


def test_bad_setting_exits_2_with_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("XINH_WORKERS", "lots")
    assert main(["config"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_readme_configuration_table_matches_settings() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for env_name, *_ in describe():
        assert f"`{env_name}`" in readme, env_name


def test_log_scrubbing_masks_tokens_even_inside_urls(caplog) -> None:
    import logging

    from xinh.logs import ScrubSecrets

    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "POST https://api.telegram.org/bot%s/getMe",
        (TOKEN,),
        None,
    )
    ScrubSecrets().filter(record)
    assert TOKEN not in record.getMessage() and "[secret]" in record.getMessage()


def test_engine_defaults_are_the_engine_classes_own() -> None:
    """Each default number is written once: the settings read the engine's option classes."""
    defaults = Settings().engine_options()
    assert defaults.limits == Limits()
    assert defaults.detector == DetectorOptions()
    assert (defaults.workers, defaults.queue_limit, defaults.timeout_s) == (
        EngineOptions().workers,
        EngineOptions().queue_limit,
        EngineOptions().timeout_s,
    )
    assert Settings().max_faces == 10
