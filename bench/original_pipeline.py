"""The original project's way, for comparison: OpenCV Haar cascade + two Keras MobileNetV2
(96x96) classifiers called with `model.predict`, as its Flask server did.

Run by an interpreter with TensorFlow and OpenCV 4.x (Xinh's `train` extra). Reads photo paths
on stdin; prints one JSON object per photo with the seconds from bytes to verdict. The weights
are untrained (only speed is measured here).
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import cv2
import keras
import numpy as np


def classifier() -> keras.Model:
    base = keras.applications.MobileNetV2((96, 96, 3), include_top=False, weights=None)
    head = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling2D()(base.output)
    )
    return keras.Model(base.input, head)


def main() -> None:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gender, beauty = classifier(), classifier()
    warm = np.zeros((1, 96, 96, 3), np.float32)
    gender.predict(warm, verbose=0)
    beauty.predict(warm, verbose=0)
    for line in sys.stdin:
        path = line.strip()
        started = time.perf_counter()
        image = cv2.imread(path)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        faces = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5)
        for x, y, w, h in faces[:5]:
            crop = cv2.resize(image[y : y + h, x : x + w], (96, 96))[None].astype(np.float32) / 255
            if gender.predict(crop, verbose=0)[0, 0] >= 0.5:
                beauty.predict(crop, verbose=0)
        seconds = time.perf_counter() - started
        print(json.dumps({"path": path, "seconds": seconds, "faces": len(faces)}), flush=True)


if __name__ == "__main__":
    main()
