"""Static checks of the container image's recipe, for machines without a Docker engine.

The run-time install list is pyproject's [project].dependencies, carried by the project's wheel
that docker/install-runtime.sh installs (the model files travel in it as package data); these
checks hold the recipe to that: no TensorFlow in the dependencies, no extras, the wheel alone,
and a run-time stage that only copies /opt/venv, installs nothing, and runs as a non-root user.
Usage: python3 docker/check_dockerfile.py  (prints each problem; exit status 1 if any)
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = "docker/install-runtime.sh"
TENSORFLOW = re.compile(r"tensorflow|keras|\btf-", re.IGNORECASE)
COMPILERS = {
    "gcc", "g++", "cc", "c++", "clang", "make", "cmake", "build-essential", "gfortran",
    "cargo", "rustc",
}  # fmt: skip
PACKAGE_INSTALL = re.compile(r"\b(pip3?|uv)\b.*\binstall\b|\bapt(-get)?\b.*\binstall\b|\bapk add\b")


@dataclass(frozen=True, slots=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    args: str


@dataclass(frozen=True, slots=True)
class Stage:
    """A build stage: its name (after AS) and its instructions."""

    name: str
    instructions: tuple[Instruction, ...]

    def args(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The stage's ENV values (only KEY=VALUE pairs, as written)."""
        pairs = (token.split("=", 1) for line in self.args("ENV") for token in shlex.split(line))
        return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile, without comments."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
        pending = ""
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[-1] if len(words) > 2 and words[-2].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, (instruction,)))
        elif stages:
            stages[-1] = Stage(stages[-1].name, (*stages[-1].instructions, instruction))
    return stages


def requirement_name(requirement: str) -> str:
    """The normalized distribution name of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    return re.sub(r"[._]+", "-", match.group().lower()) if match else ""


def dependency_problems(pyproject: dict) -> list[str]:
    """TensorFlow-family packages among the run-time dependencies."""
    return [
        f"pyproject run-time dependency {requirement} is TensorFlow: move it to the train extra"
        for requirement in pyproject["project"]["dependencies"]
        if requirement_name(requirement).startswith(("tensorflow", "tf-", "keras"))
    ]


def install_script_problems(script: str) -> list[str]:
    """The install script installs the wheel alone, without extras."""
    problems = []
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    for line in commands:
        if TENSORFLOW.search(line):
            problems.append(f"{INSTALL_SCRIPT} mentions TensorFlow: {line.strip()}")
        if re.search(r"\binstall\b", line) and "[" in line:
            problems.append(f"{INSTALL_SCRIPT} installs extras: {line.strip()}")
    installs = [line for line in commands if re.search(r"\bvenv_pip install\b", line)]
    if len(installs) != 1 or "xinh-*.whl" not in installs[0]:
        problems.append(f"{INSTALL_SCRIPT} must install exactly the xinh wheel")
    return problems


def source_folders(pyproject: dict) -> list[str]:
    """The repository's folders the wheel is built from (the package-dir mapping's targets)."""
    mapping = pyproject["tool"]["setuptools"].get("package-dir", {})
    return sorted({"xinh", *mapping.values()})


def stage_problems(stages: list[Stage], folders: list[str]) -> list[str]:
    """The build stage copies every source folder; the run-time stage copies, never installs."""
    if len(stages) < 2:
        return ["the Dockerfile needs a build stage and a run-time stage"]
    problems = []
    build, runtime = stages[0], stages[-1]
    copied = {word for args in build.args("COPY") for word in args.split()[:-1]}
    problems += [f"the build stage does not copy {f}/" for f in folders if f not in copied]
    script = Path(INSTALL_SCRIPT).stem
    if not any(script in args for args in build.args("RUN")):
        problems.append(f"the build stage does not install with {INSTALL_SCRIPT}")
    for stage in stages:
        for instruction in stage.instructions:
            if TENSORFLOW.search(instruction.args):
                problems.append(f"stage {stage.name} mentions TensorFlow: {instruction.args}")
            if PACKAGE_INSTALL.search(instruction.args) and "[" in instruction.args:
                problems.append(f"stage {stage.name} installs extras: {instruction.args}")
    for args in runtime.args("RUN"):
        if PACKAGE_INSTALL.search(args):
            problems.append(f"the run-time stage installs packages: {args}")
        words = set(re.split(r"[\s;&|]+", args))
        if words & COMPILERS or any(w.endswith("-dev") for w in words):
            problems.append(f"the run-time stage has compilers or headers: {args}")
    for args in runtime.args("COPY"):
        if args.startswith("--from=") and args.split()[1:] != ["/opt/venv", "/opt/venv"]:
            problems.append(f"the run-time stage copies more than /opt/venv: {args}")
    return problems + _runtime_setup_problems(runtime)


def _runtime_setup_problems(runtime: Stage) -> list[str]:
    problems = []
    users = runtime.args("USER")
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the run-time stage must end with a non-root USER")
    env = runtime.env()
    for name, wanted in (("XINH_HEALTH_HOST", "0.0.0.0"), ("XINH_DATA_DIR", "/data")):
        if env.get(name) != wanted:
            problems.append(f"the run-time stage must set {name}={wanted}")
    if not any("/data" in args for args in runtime.args("VOLUME")):
        problems.append("the run-time stage must declare /data a VOLUME")
    checks = runtime.args("HEALTHCHECK")
    if not checks or "/healthz" not in checks[-1] or "XINH_HEALTH_PORT" not in checks[-1]:
        problems.append("the run-time stage needs a HEALTHCHECK on /healthz at XINH_HEALTH_PORT")
    if [json.loads(a) for a in runtime.args("ENTRYPOINT")][-1:] != [["xinh"]]:
        problems.append('the ENTRYPOINT must be ["xinh"]')
    if [json.loads(a) for a in runtime.args("CMD")][-1:] != [["telegram"]]:
        problems.append('the CMD must be ["telegram"]')
    return problems


def context_problems(stages: list[Stage], dockerignore: str) -> list[str]:
    """Every path the Dockerfile copies from the context is let through the .dockerignore."""
    allowed = {line[1:] for line in dockerignore.splitlines() if line.startswith("!")}
    sources = {
        word
        for stage in stages
        for args in stage.args("COPY")
        if not args.startswith("--from=")
        for word in args.split()[:-1]
    }
    return [f"Dockerfile.dockerignore leaves out {s}" for s in sorted(sources - allowed)]


def problems(root: Path = ROOT) -> list[str]:
    """Everything wrong with the image recipe under `root`."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    stages = parse((root / "docker" / "Dockerfile").read_text())
    return [
        *dependency_problems(pyproject),
        *install_script_problems((root / INSTALL_SCRIPT).read_text()),
        *stage_problems(stages, source_folders(pyproject)),
        *context_problems(stages, (root / "docker" / "Dockerfile.dockerignore").read_text()),
    ]


def main() -> int:
    found = problems()
    for problem in found:
        print(f"check_dockerfile: {problem}")
    if not found:
        print("check_dockerfile: recipe ok (no TensorFlow, no extras, no compilers, non-root)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
