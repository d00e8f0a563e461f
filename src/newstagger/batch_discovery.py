"""Find the files a batch run tags, and group them into chunks for the workers."""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterable, Iterator

from .batch_readers import SUFFIXES

CHUNK_BYTES = 4_000_000   # a chunk also closes at this many bytes, so big JSONL files travel alone


def discover(root: Path, include: Iterable[str] = (), exclude: Iterable[str] = (),
             skip: Iterable[Path] = ()) -> tuple[list[tuple[str, int]], list[dict]]:
    """List (relative path, size) of supported files under root, skipping hidden entries and symlink loops."""
    include, exclude = list(include), list(exclude)
    skip = {os.path.realpath(p) for p in skip}
    skip_names = {os.path.basename(p) for p in skip}
    files: list[tuple[str, int]] = []
    problems: list[dict] = []
    seen_dirs: set[tuple[int, int]] = set()
    stack = [(root, "")]      # a folder and its path relative to root ("" or ending in "/")
    while stack:
        folder, prefix = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue      # a symlink loop, or a second link to a folder already read
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append({"path": prefix.rstrip("/") or ".", "line": 0, "kind": "unreadable",
                             "message": exc.strerror or str(exc)})
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = prefix + name   # plain strings: Path arithmetic per file was most of the listing time
            if _is_dir(entry):
                stack.append((Path(entry.path), rel + "/"))
            elif name.lower().endswith(SUFFIXES) and _wanted(rel, include, exclude) \
                    and not (name in skip_names and os.path.realpath(entry.path) in skip):
                files.append((rel, _size(entry)))
    files.sort()
    return files, problems


def chunks(files: list[tuple[str, int]], size: int) -> Iterator[list[str]]:
    """Group files into chunks of at most `size` files or CHUNK_BYTES bytes."""
    batch: list[str] = []
    total = 0
    for rel, nbytes in files:
        batch.append(rel)
        total += nbytes
        if len(batch) >= size or total >= CHUNK_BYTES:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _size(entry: os.DirEntry) -> int:
    try:
        return entry.stat(follow_symlinks=True).st_size
    except OSError:
        return 0


def _wanted(rel: str, include: list[str], exclude: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    match = lambda pats: any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in pats)  # noqa: E731
    return (not include or match(include)) and not match(exclude)
