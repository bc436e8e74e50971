"""Deployment files: .env.example lists every setting, and the image recipe holds its promises.

No Docker engine runs here; docker/check_runtime.sh installs the image's run time for real.
These tests read the Dockerfile's text, and run its HEALTHCHECK against a real health server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

from xinh.bots.observability import Metrics, serve_health
from xinh.settings import describe

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
ENV_LINE = re.compile(r"^(# )?(XINH_[A-Z0-9_]+)=(.*)$", re.MULTILINE)


def _script(name: str) -> ModuleType:
    """A script from docker/ (a folder of files, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"docker_{name}", DOCKER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checks() -> ModuleType:
    return _script("check_dockerfile")


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def test_env_example_lists_exactly_the_settings() -> None:
    lines = ENV_LINE.findall((ROOT / ".env.example").read_text())
    assert [name for _, name, _ in lines] == [name for name, *_ in describe()]
    for (commented, name, value), (_, _, _, secret) in zip(lines, describe(), strict=True):
        if secret:
            assert (commented, value) == ("", ""), f"{name} is a secret: list it empty"
        else:
            assert commented, f"{name} should be commented out at its default"


def test_env_example_is_generated_from_the_settings() -> None:
    expected = _script("env_example").render(describe())
    assert (ROOT / ".env.example").read_text() == expected, (
        "regenerate: .venv/bin/python docker/env_example.py > .env.example"
    )


def test_image_recipe_passes_its_checks(checks: ModuleType) -> None:
    assert checks.problems() == []


def test_runtime_stage_has_no_tensorflow_or_compilers_and_runs_as_non_root(
    checks: ModuleType, dockerfile: str
) -> None:
    build, runtime = checks.parse(dockerfile)
    assert (build.name, runtime.name) == ("build", "runtime")
    text = " ".join(i.args for i in runtime.instructions).lower()
    assert "tensorflow" not in text and "keras" not in text
    assert not re.search(r"\b(gcc|g\+\+|clang|build-essential|make)\b", text)
    assert "pip install" not in text
    assert runtime.args("COPY")[0] == "--from=build /opt/venv /opt/venv"
    user = runtime.args("USER")[-1].split(":")[0]
    assert user not in ("root", "0")
    assert runtime.env()["XINH_DATA_DIR"] == "/data"
    assert runtime.env()["XINH_HEALTH_HOST"] == "0.0.0.0"


BAD_RECIPES = {
    "TensorFlow": ("USER 10001", "RUN pip install tensorflow-cpu\nUSER 1", "TensorFlow"),
    "a compiler at run time": ("USER 10001", "RUN apt-get install -y gcc\nUSER 1", "compilers"),
    "root at run time": ("USER 10001:10001", "USER root", "non-root"),
    "no user at all": ("USER 10001:10001", "", "non-root"),
    "the train extra": ("WORKDIR /app", "RUN pip install .[train]", "extras"),
    "more than the venv": ("/opt/venv /opt/venv", "/ /", "more than /opt/venv"),
    "no healthcheck": ("HEALTHCHECK", "LABEL", "HEALTHCHECK"),
}


@pytest.mark.parametrize("change", BAD_RECIPES.values(), ids=BAD_RECIPES.keys())
def test_checks_catch_a_bad_recipe(
    checks: ModuleType, dockerfile: str, change: tuple[str, str, str]
) -> None:
    old, new, complaint = change
    assert old in dockerfile
    stages = checks.parse(dockerfile.replace(old, new))
    found = checks.stage_problems(stages, ["xinh", "inference", "bots", "locales", "models"])
    assert any(complaint in problem for problem in found), found


def test_checks_catch_tensorflow_among_the_dependencies(checks: ModuleType) -> None:
    pyproject = {"project": {"dependencies": ["numpy>=1.26", "TensorFlow_CPU==2.21.0", "tf-keras"]}}
    assert len(checks.dependency_problems(pyproject)) == 2


def _healthcheck_command(dockerfile: str, checks: ModuleType) -> list[str]:
    runtime = checks.parse(dockerfile)[-1]
    return shlex.split(runtime.args("HEALTHCHECK")[-1].split(" CMD ", 1)[1])


async def _probe(command: list[str], port: int) -> int:
    probe = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env={"XINH_HEALTH_PORT": str(port)}
    )
    return await probe.wait()


async def test_healthcheck_asks_healthz(checks: ModuleType, dockerfile: str) -> None:
    command = _healthcheck_command(dockerfile, checks)
    assert command[:2] == ["python", "-c"]
    ready = False
    server = await serve_health(Metrics(), lambda: ready, "127.0.0.1", 0)
    try:
        assert await _probe(command, server.port) != 0
        ready = True
        assert await _probe(command, server.port) == 0
    finally:
        await server.close()


def test_compose_files_use_the_images_healthcheck(checks: ModuleType, dockerfile: str) -> None:
    code = _healthcheck_command(dockerfile, checks)[2]
    for name in ("compose.yaml", "compose.scale.yaml"):
        text = (DOCKER / name).read_text()
        assert text.count(f'"{code}"') == 1, name
        assert "env_file: ../.env" in text
