"""Naming the files people give where a pose stream belongs: ground truth, results, videos.

A new user's most common first mistake is handing a stage the wrong file: the COCO ground truth
instead of predictions, or the video itself. When an input fails before its header record,
:func:`describe` looks at its first bytes and says what the file is and where it goes instead
(``is a COCO keypoints file, not a pose stream; use it as --gt ...``). Only cheap, unambiguous
signs are used (JSON keys, magic numbers); anything else keeps the reader's own message.
"""

from __future__ import annotations

import re

# Bytes of an input looked at: COCO files list their images before the annotations, so the
# keypoint fields can come a few MB in.
PEEK = 4 << 20

# kind -> (what the file is, where it goes instead)
KINDS: dict[str, tuple[str, str]] = {
    "coco_keypoints": ("a COCO keypoints file",
                       "use it as --gt (posetool eval pose PRED --gt FILE, or detect VIDEO --model gt --gt FILE)"),
    "coco": ("a COCO annotation file", "use it as --gt (posetool eval boxes PRED --gt FILE)"),
    "posetrack18": ("a PoseTrack18 file", "use it as --gt (posetool eval track PRED --gt FILE)"),
    "posetrack17": ("a PoseTrack17 file", "use it as --gt (posetool eval track PRED --gt FILE)"),
    "coco_results": ("a COCO results file", "give it as PRED to posetool eval pose or eval boxes"),
    "mot": ("a MOTChallenge txt file", "use it with posetool eval mot (as PRED or --gt FILE)"),
    "npz": ("a NumPy .npz archive", "3D poses in VideoPose3D's layout go to posetool eval lift"),
    "video": ("a video file", "run posetool detect on it first (posetool detect VIDEO | posetool pose2d)"),
    "image": ("an image file", "give its folder to posetool detect (posetool detect FOLDER | posetool pose2d)"),
}

_NUMBER = r"\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*"
_MOT_ROW = re.compile(rf"^{_NUMBER}(,{_NUMBER}){{5,}}$")  # frame,id,left,top,width,height[,...]


def _binary_kind(head: bytes) -> str | None:
    """A video, image or .npz recognised by its magic number."""
    if head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "video"  # MP4/MOV, Matroska/WebM, AVI
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image"
    if head[:4] == b"PK\x03\x04" and b".npy" in head[:4096]:
        return "npz"  # a zip whose first member is a NumPy array
    return None


def _json_kind(text: str) -> str | None:
    """COCO / PoseTrack ground truth or COCO results, from the keys in the text."""
    if text.startswith("["):
        return "coco_results" if '"image_id"' in text else None
    if not text.startswith("{") or '"type"' in text[:200]:
        return None
    if '"annolist"' in text:
        return "posetrack17"
    if not any(key in text for key in ('"images"', '"annotations"', '"categories"')):
        return None
    if any(key in text for key in ('"vid_id"', '"is_labeled"', '"bbox_head"')):
        return "posetrack18"
    return "coco_keypoints" if '"num_keypoints"' in text or '"keypoints"' in text else "coco"


def identify(head: bytes) -> str | None:
    """The kind (a key of :data:`KINDS`) of the file that starts with ``head``, or None."""
    kind = _binary_kind(head)
    if kind is not None:
        return kind
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    kind = _json_kind(text)
    if kind is not None:
        return kind
    first = text.split("\n", 1)[0]
    return "mot" if _MOT_ROW.match(first) else None


def describe(head: bytes) -> str | None:
    """``"is <what>, not a pose stream; <where it goes>"`` for a recognised file, else None."""
    kind = identify(head)
    if kind is None:
        return None
    what, use = KINDS[kind]
    return f"is {what}, not a pose stream; {use}"
