"""Per-person look: skin, hair, clothing colours and patterns (BGR, 0–255)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Skin tones from light to dark (BGR), varied per person.
_SKIN = np.array([[189, 224, 255], [163, 200, 241], [134, 179, 224], [105, 152, 198], [75, 117, 165],
                  [55, 88, 130], [40, 60, 90]], dtype=float)
_HAIR = np.array([[20, 20, 25], [25, 40, 70], [40, 70, 120], [80, 140, 200], [30, 60, 150],
                  [150, 150, 150], [200, 200, 205]], dtype=float)
PATTERNS = ("plain", "hstripes", "vstripes", "twotone")


@dataclass(frozen=True)
class Appearance:
    """Colours (BGR tuples) and clothing choices of one person."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    shirt2: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    pattern: str
    stripes: int
    long_sleeves: bool
    shorts: bool
    bald: bool


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    px = np.uint8([[[int(h) % 180, int(s), int(v)]]])
    b, g, r = cv2.cvtColor(px, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _jitter(rng: np.random.Generator, color: np.ndarray, amount: float) -> tuple[int, int, int]:
    c = np.clip(color + rng.uniform(-amount, amount, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Random but plausible clothes: saturated or muted shirts, darker trousers, dark shoes."""
    skin = _jitter(rng, _SKIN[rng.integers(len(_SKIN))], 12)
    hair = _jitter(rng, _HAIR[rng.integers(len(_HAIR))], 10)
    h = rng.uniform(0, 180)
    shirt = _hsv(h, rng.uniform(40, 255), rng.uniform(60, 250))
    shirt2 = _hsv(h + rng.uniform(30, 150), rng.uniform(20, 255), rng.uniform(40, 255))
    pants = _hsv(rng.uniform(0, 180), rng.uniform(10, 200), rng.uniform(30, 170))
    shoes = _hsv(rng.uniform(0, 180), rng.uniform(0, 120), rng.uniform(15, 200))
    return Appearance(
        skin=skin, hair=hair, shirt=shirt, shirt2=shirt2, pants=pants, shoes=shoes,
        pattern=str(rng.choice(PATTERNS, p=[0.4, 0.25, 0.15, 0.2])), stripes=int(rng.integers(3, 8)),
        long_sleeves=bool(rng.random() < 0.5), shorts=bool(rng.random() < 0.25), bald=bool(rng.random() < 0.07),
    )
