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
    files: list[tuple[str, int]] = []
    problems: list[dict] = []
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue      # a symlink loop, or a second link to a folder already read
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append({"path": folder.relative_to(root).as_posix() or ".", "line": 0, "kind": "unreadable",
                             "message": exc.strerror or str(exc)})
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            rel = path.relative_to(root).as_posix()
            if _is_dir(entry):
                stack.append(path)
            elif entry.name.lower().endswith(SUFFIXES) and _wanted(rel, include, exclude) \
                    and os.path.realpath(path) not in skip:
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
