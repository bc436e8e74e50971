"""`xinh faces` and `xinh analyze`: the engine on photo files, one line (or JSON object) each.

A path that is missing or a folder gets one line on stderr; the other photos are still
answered, and the command then exits 1.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from xinh.bots.replies import compose
from xinh.inference.annotate import annotate, encode_jpeg
from xinh.inference.decode import decode
from xinh.inference.detector import FaceDetector
from xinh.inference.engine import Engine
from xinh.inference.model_files import detector_files
from xinh.inference.types import Analysis, Face
from xinh.locales import Catalog
from xinh.settings import Settings


def _face_json(face: Face) -> dict:
    return {
        "box": [round(v, 1) for v in face.box],
        "detection_score": round(face.score, 4),
        "keypoints": [[round(x, 1), round(y, 1)] for x, y in face.keypoints],
    }


def _write_annotated(folder: Path | None, path: Path, pixels, faces: list[Face]) -> None:
    if folder is not None and pixels is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{path.stem}.jpg").write_bytes(encode_jpeg(annotate(pixels, faces, True)))


def faces_command(paths: list[Path], as_json: bool, annotate_dir: Path | None) -> int:
    """Print each photo's faces (box, score, keypoints) in the detector's order."""
    settings = Settings.load()
    options = settings.engine_options()
    detector = FaceDetector.create(*detector_files(), options.detector)
    missing = 0
    for path in paths:
        data = _read(path)
        if data is None:
            missing += 1
            continue
        decoded = decode(data, options.limits)
        faces = detector.detect(decoded.pixels) if decoded.ok else []
        _write_annotated(annotate_dir, path, decoded.pixels, faces)
        if as_json:
            record = {
                "path": str(path),
                "outcome": decoded.outcome.value,
                "faces": [_face_json(f) for f in faces],
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            boxes = ", ".join(
                f"{f.box[2]:.0f}x{f.box[3]:.0f} at ({f.box[0]:.0f}, {f.box[1]:.0f}) {f.score:.2f}"
                for f in faces
            )
            print(
                f"{path}: {decoded.outcome.value}, {len(faces)} face(s){': ' if faces else ''}"
                f"{boxes}"
            )
    return 1 if missing else 0


def analyze_command(
    paths: list[Path], as_json: bool, annotate_dir: Path | None, language: str
) -> int:
    """Print each photo's verdict and the reply the bots would send."""
    settings = Settings.load()
    options = dataclasses.replace(settings.engine_options(), workers=1)
    engine = Engine.create(settings.models_path(), options)
    catalog = Catalog.load()
    missing = 0
    try:
        engine.warm_up()
        for path in paths:
            data = _read(path)
            if data is None:
                missing += 1
                continue
            analysis = engine.analyze_now(data)
            _write_annotated(annotate_dir, path, analysis.pixels, [f.face for f in analysis.faces])
            message = compose(analysis, language, catalog, engine.options.limits).text
            if as_json:
                print(json.dumps(_analysis_json(path, analysis, message), ensure_ascii=False))
            else:
                print(f"{path}: {analysis.outcome.value}\n{message}\n")
    finally:
        engine.close()
    return 1 if missing else 0


def _analysis_json(path: Path, analysis: Analysis, message: str) -> dict:
    return {
        "path": str(path),
        "outcome": analysis.outcome.value,
        "faces": [
            {
                "box": [round(v, 1) for v in rated.face.box],
                "detection_score": round(rated.face.score, 4),
                "female_probability": round(rated.female_probability, 4),
                "gender": rated.gender,
                "beauty": round(rated.beauty, 2),
                "verdict": rated.verdict,
                "age": None if rated.age is None else round(rated.age, 1),
                "child": rated.child,
                "too_small": rated.too_small,
            }
            for rated in analysis.faces
        ],
        "message": message,
    }


def _read(path: Path) -> bytes | None:
    """A file's bytes; None, after one line on stderr, for a folder or a missing file."""
    sys.stdout.flush()  # keep the lines in order when both streams go to one place
    try:
        return path.read_bytes()
    except IsADirectoryError:
        print(f"xinh: {path} is a folder: give photo files (e.g. {path}/*.jpg)", file=sys.stderr)
    except OSError as exc:
        print(f"xinh: {path}: {(exc.strerror or type(exc).__name__).lower()}", file=sys.stderr)
    return None
