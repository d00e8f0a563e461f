"""Measure what the gazetteer adds to the region facet, side by side with the same model without it.

    python training/eval_gazetteer.py --shared ../shared [--folds 5] [--nb-alpha A]

1. real-dev: train on seeds/ with and without the gazetteer; region micro/macro-F1 on the real headlines.
2. unseen places: retrain with every seed document that mentions a held-out country removed
   (all of Africa but Nigeria, Kenya and South Africa; all of Latin America but Brazil), then the
   region recall on the real-dev items that mention those countries.
3. out of domain: Reuters-21578 ModApte test stories whose places include a country outside the
   US and Canada, places mapped to regions by eval/reuters-places-to-regions.json.
The real headlines are only scored, never trained on.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

from newstagger.documents import Document, read_documents
from newstagger.evaluation import facet_report, label_matrix
from newstagger.gazetteer import load_gazetteer
from newstagger.taxonomy import load_taxonomy
from newstagger.train import train_from_paths

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KEEP = {"NG", "KE", "ZA", "BR"}


def region_scores(tagger, docs: list[Document]) -> dict:
    labels = list(tagger.taxonomy.facet("region").labels)
    gold = label_matrix([d.labels["region"] for d in docs], labels)
    pred = label_matrix([r["labels"]["region"] for r in tagger.tag([d.text for d in docs])], labels)
    rep = facet_report(gold, pred, labels)
    return {"micro_f1": rep["micro"]["f1"], "macro_f1": rep["macro"]["f1"], "micro_recall": rep["micro"]["recall"],
            "documents": len(docs)}


def held_out_codes(gazetteer) -> set[str]:
    return {code for code, regions in gazetteer.regions.items()
            if ("africa" in regions or "latin-america" in regions) and len(code) == 2 and code not in KEEP}


def mentions(matcher, text: str, codes: set[str]) -> bool:
    return any(h.code in codes for h in matcher.matches(text))


def reuters_docs(shared: Path) -> list[Document]:
    mapping = json.loads((shared / "eval" / "reuters-places-to-regions.json").read_text())
    out = []
    with gzip.open(shared / "datasets" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            places = r["places"]
            if r["split"] != "test" or not any(p not in ("usa", "canada") for p in places):
                continue
            regions = sorted({mapping[p] for p in places if mapping.get(p)})
            out.append(Document(str(r["id"]), r["title"] or r["body"][:80], r["body"], {"region": regions}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--nb-alpha", type=float, default=None, help="train NB-LR heads (newstagger train --nb-alpha)")
    args = ap.parse_args()
    real_path = args.shared / "eval" / "real-dev.jsonl"
    if not real_path.exists():
        sys.exit(f"{real_path} is absent: this measurement needs ../shared/eval")
    taxonomy = load_taxonomy(SEEDS / "taxonomy.json")
    real = read_documents([real_path], taxonomy)
    reuters = reuters_docs(args.shared) if (args.shared / "datasets" / "reuters21578.jsonl.gz").exists() else []
    matcher = load_gazetteer(SEEDS / "gazetteer").matcher()
    codes = held_out_codes(matcher.gazetteer)
    seeds = read_documents([SEEDS / "corpus"], taxonomy)
    kept = [d for d in seeds if not mentions(matcher, d.text, codes)]
    real_unseen = [d for d in real if mentions(matcher, d.text, codes)]
    print(f"held out {len(codes)} countries; seeds kept {len(kept)}/{len(seeds)}; "
          f"real-dev items about them: {len(real_unseen)}; Reuters test stories: {len(reuters)}")
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "kept.jsonl"
        subset.write_text("".join(json.dumps({"id": d.id, "title": d.title, "body": d.body, **d.labels}) + "\n"
                                  for d in kept), encoding="utf-8")
        for use in (True, False):
            name = "with gazetteer   " if use else "without gazetteer"
            full = train_from_paths([SEEDS], use_gazetteer=use, folds=args.folds, nb_alpha=args.nb_alpha)
            part = train_from_paths([subset], taxonomy_path=SEEDS / "taxonomy.json",
                                    gazetteer_dir=SEEDS / "gazetteer" if use else None, use_gazetteer=use,
                                    folds=args.folds, nb_alpha=args.nb_alpha)
            print(f"{name} real-dev {region_scores(full, real)}")
            print(f"{name} unseen   {region_scores(part, real_unseen)}")
            if reuters:
                print(f"{name} reuters  {region_scores(full, reuters)}")


if __name__ == "__main__":
    main()
