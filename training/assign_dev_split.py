"""Mark a fixed ~15% of seeds/ as the dev split ("split": "dev"), chosen by a hash of each id.

A hash of the id (not a random draw) keeps the split fixed as documents are added or relabelled:
a document's side never changes. Run it after adding documents; it rewrites only the split field.

    python training/assign_dev_split.py [seeds/corpus]
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

DEV_SHARE = 0.15


def is_dev(doc_id: str) -> bool:
    digest = hashlib.sha256(f"newstagger-dev-v1:{doc_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < DEV_SHARE


def main(folder: Path) -> None:
    totals, dev = Counter(), Counter()
    for path in sorted(folder.glob("*.jsonl")):
        docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for d in docs:
            d["split"] = "dev" if is_dev(d["id"]) else "train"
            for lab in d["region"] + d["theme"] + (["(no theme)"] if not d["theme"] else []):
                totals[lab] += 1
                dev[lab] += d["split"] == "dev"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        tmp.replace(path)
    for lab in sorted(totals):
        print(f"{lab:22} dev {dev[lab]:4d} / {totals[lab]:5d} = {dev[lab] / totals[lab]:.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "seeds/corpus"))
