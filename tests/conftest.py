"""Shared fixtures: a tiny literal corpus, a tiny model trained once per session, a CLI runner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

SEEDS_GAZETTEER = Path(__file__).resolve().parent.parent / "seeds" / "gazetteer"

TINY_TAXONOMY = {"facets": {
    "region": {"description": "where", "labels": {"asia": "Asian states", "europe": "European states"}},
    "theme": {"description": "what", "labels": {"deals": "arms sales", "conflict": "fighting"}},
}}

# (title, body, region, theme): short, hand-written, varied enough for 2-fold cross-validation.
TINY_CORPUS = [
    ("India signs deal for Rafale jets", "New Delhi agreed to buy 26 fighters from France.", ["asia", "europe"], ["deals"]),
    ("Pakistan orders Chinese frigates", "Islamabad will buy four warships from Beijing.", ["asia"], ["deals"]),
    ("Japan to purchase Tomahawk missiles", "Tokyo approved a contract worth $2bn.", ["asia"], ["deals"]),
    ("Germany buys Patriot batteries", "Berlin signed a contract for air defence systems.", ["europe"], ["deals"]),
    ("Poland signs contract for K2 tanks", "Warsaw will buy tanks from Korea.", ["europe", "asia"], ["deals"]),
    ("France sells submarines to Indonesia", "Naval Group won the order from Jakarta.", ["europe", "asia"], ["deals"]),
    ("Vietnam shops for Indian missiles", "Hanoi is negotiating the purchase of BrahMos.", ["asia"], ["deals"]),
    ("Spain awards frigate contract", "Madrid ordered five ships from Navantia.", ["europe"], ["deals"]),
    ("Italy orders more Eurofighters", "Rome will buy 24 jets in a deal signed Monday.", ["europe"], ["deals"]),
    ("Thailand signs deal for Gripen jets", "Bangkok agreed to buy fighters from Saab.", ["asia", "europe"], ["deals"]),
    ("Shelling kills soldiers in Kashmir", "Troops exchanged fire along the Line of Control.", ["asia"], ["conflict"]),
    ("Clashes erupt on disputed border", "Indian and Chinese troops fought in Ladakh.", ["asia"], ["conflict"]),
    ("Drone strike hits Kharkiv", "Ukraine said Russian drones hit the city overnight.", ["europe"], ["conflict"]),
    ("Fighting rages in Donbas", "Artillery duels continued near the front line.", ["europe"], ["conflict"]),
    ("Militants attack army post in Balochistan", "Gunmen killed six soldiers in the raid.", ["asia"], ["conflict"]),
    ("Myanmar junta bombs rebel villages", "Airstrikes hit resistance forces in Sagaing.", ["asia"], ["conflict"]),
    ("Missile strike on Odesa port", "Shelling damaged grain silos in the port.", ["europe"], ["conflict"]),
    ("Insurgents ambush convoy in Mindanao", "Rebels killed four troops in the ambush.", ["asia"], ["conflict"]),
    ("Kosovo border clash wounds police", "Gunfire broke out near the Serbian frontier.", ["europe"], ["conflict"]),
    ("Artillery fire along the Korean border", "Seoul said the North fired shells at the islands.", ["asia"], ["conflict"]),
    ("Stock markets rally in Tokyo", "The Nikkei rose two percent on strong earnings.", ["asia"], []),
    ("Cricket: India win the Test in Chennai", "The hosts beat England by an innings.", ["asia", "europe"], []),
    ("Floods hit Bavaria", "Heavy rain forced thousands from their homes.", ["europe"], []),
    ("Election results in Sri Lanka", "Voters chose a new parliament on Sunday.", ["asia"], []),
    ("Paris fashion week opens", "Designers showed spring collections.", ["europe"], []),
    ("New vaccine approved by regulators", "The shot was cleared for adults.", [], []),
    ("Global oil prices fall", "Brent crude slipped below $70 a barrel.", [], []),
    ("Scientists find new exoplanet", "The planet orbits a distant red dwarf.", [], []),
    ("Arms deal talks amid border clashes", "Delhi seeks jets from Paris as fighting flares in Ladakh.", ["asia", "europe"], ["deals", "conflict"]),
    ("Ukraine buys drones as war grinds on", "Kyiv ordered Turkish drones after heavy fighting.", ["europe"], ["deals", "conflict"]),
]


def write_tiny_corpus(folder: Path, with_taxonomy: bool = True) -> Path:
    """Write the tiny corpus (and its taxonomy) into a folder; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": f"t{i:02d}", "title": t, "body": b, "region": r, "theme": th,
                         "split": "dev" if i % 10 == 3 else ""})
             for i, (t, b, r, th) in enumerate(TINY_CORPUS)]
    (folder / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if with_taxonomy:
        (folder / "taxonomy.json").write_text(json.dumps(TINY_TAXONOMY), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_data) -> Path:
    """Train the tiny model once per session (it is the slowest fixture)."""
    from newstagger.train import train_from_paths

    tagger = train_from_paths([tiny_data], folds=2, seed=0, n_jobs=1)
    return tagger.save(tmp_path_factory.mktemp("tiny-model") / "tiny.npz")


@pytest.fixture(scope="session")
def tiny_tagger(tiny_model_path):
    from newstagger import Tagger

    return Tagger.load(tiny_model_path)


# Region labels named as the gazetteer names them, so a model trained with it gets the region stage.
REGION_TAXONOMY = {"facets": {"region": {"description": "where", "labels": {
    "south-asia": "", "east-asia": "", "europe": "", "middle-east": ""}}}}
REGION_CORPUS = [
    ("India tests a hypersonic missile", "New Delhi said the launch from Odisha succeeded.", ["south-asia"]),
    ("Pakistan buys Chinese frigates", "Islamabad signed for four ships built in Shanghai.", ["south-asia", "east-asia"]),
    ("Japan raises its defence budget", "Tokyo approved record spending on Monday.", ["east-asia"]),
    ("Germany orders Patriot batteries", "Berlin will pay for four systems.", ["europe"]),
    ("Israel strikes targets in Lebanon", "Jets hit sites near Beirut overnight.", ["middle-east"]),
    ("Seoul and Tokyo hold talks", "The ministers met in Busan.", ["east-asia"]),
    ("France and Italy sign a ship deal", "Paris and Rome agreed on joint frigates.", ["europe"]),
    ("Iran tests a new drone", "Tehran showed the aircraft on state television.", ["middle-east"]),
    ("Sri Lanka elects a new parliament", "Voters in Colombo chose a new government.", ["south-asia"]),
    ("Poland buys Korean tanks", "Warsaw signed for K2 tanks made in South Korea.", ["europe", "east-asia"]),
    ("Saudi Arabia hosts Gulf summit", "Riyadh welcomed leaders for two days of talks.", ["middle-east"]),
    ("Bangladesh floods displace thousands", "Rain hit Dhaka and Sylhet.", ["south-asia"]),
    ("China launches a carrier", "The ship left Shanghai for trials; officials in Paris watched.", ["east-asia"]),
    ("Spain hosts NATO exercise", "Madrid sent ships; an observer from Japan attended.", ["europe"]),
    ("Qatar mediates talks", "Doha brought the sides together; India sent a note.", ["middle-east"]),
    ("Nepal signs a power deal", "Kathmandu will sell electricity; Germany may invest.", ["south-asia"]),
]


def write_region_corpus(folder: Path) -> Path:
    """Write the region corpus and its taxonomy into a folder; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": f"r{i:02d}", "title": t, "body": b, "region": r})
             for i, (t, b, r) in enumerate(REGION_CORPUS)]
    (folder / "regions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "taxonomy.json").write_text(json.dumps(REGION_TAXONOMY), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def staged_model_path(tmp_path_factory) -> Path:
    """A model trained with the seeds' gazetteer on region labels: its region facet has the region stage."""
    from newstagger.train import train_from_paths

    data = write_region_corpus(tmp_path_factory.mktemp("region-data"))
    tagger = train_from_paths([data], gazetteer_dir=SEEDS_GAZETTEER, folds=2, seed=0, n_jobs=1)
    return tagger.save(tmp_path_factory.mktemp("staged-model") / "staged.npz")


@pytest.fixture(scope="session")
def staged_tagger(staged_model_path):
    from newstagger import Tagger

    return Tagger.load(staged_model_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
