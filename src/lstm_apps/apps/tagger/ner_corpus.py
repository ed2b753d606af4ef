"""The embedded NER task: generated news-like sentences with PER / LOC / ORG / DATE / MISC spans.

Made so that a word list cannot solve it: many entity words are ambiguous between types
("Jordan" the person, the country and the bank; "May" the person and the month; "Ford" the person
and the company; a year vs. a plain number), multi-token spans contain words of other types
("Bank of Jordan", "University of Victoria"), and part of every unambiguous name list is held
out of training, so val/test contain names the model has never seen and must infer from their
shape and context. Deterministic for a seed. Written once in CoNLL format and read back by the
same reader as user data.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstm_apps.apps.tagger.conll import TaggedSentence, format_conll, stream_conll
from lstm_apps.bounds import Dropout, Positive, Seed
from lstm_apps.data.files import write_text_atomically
from lstm_apps.data.prepared.store import files_identity
from lstm_apps.data.publish import publish_directory

FIRST_NAMES = """Anna Peter Maria Tomas Elena Ivan Laura Omar Yuki Carlos Nadia Ravi Lars Greta Hugo Ingrid
Mateo Amara Kenji Leila Felix Olga Pablo Sana Viktor Zara Dmitri Ines Kofi Mei Nils Priya Rafael Tara
Emil Hana Jonas Lucia Marek Noor Oskar Rosa Stefan Uma Wei Ayla Bruno Clara Diego Esra""".split()
SURNAMES = """Smith Garcia Novak Tanaka Okafor Berg Rossi Kowalski Moreau Petrov Silva Fischer Nakamura
Haddad Larsen Costa Schmidt Ivanova Mendes Kaur Dubois Weber Sato Ahmed Jensen Romano Horvath Lindqvist
Nguyen Popescu Adeyemi Keller Vargas Mikkelsen Yilmaz Brandt Ferreira Olsen Kruger Castillo""".split()
CITIES = """Berlin Oslo Nairobi Lima Hanoi Quito Tunis Riga Perth Lyon Porto Dakar Bergen Kyoto Gdansk
Malmo Turin Accra Osaka Leeds Graz Basel Cork Split Tartu Lund Izmir Recife Medan Mombasa Tampere
Krakow Seville Bremen Utrecht Geneva Vilnius Tbilisi Montreal Auckland""".split()
COUNTRIES = [
    "Norway",
    "Peru",
    "Kenya",
    "Vietnam",
    "Chile",
    "Poland",
    "Ghana",
    "Portugal",
    "Japan",
    "Austria",
    "Finland",
    "Morocco",
    "Ireland",
    "Estonia",
    "Brazil",
    "Senegal",
    "New Zealand",
    "South Africa",
    "Sri Lanka",
    "Costa Rica",
    "Czech Republic",
    "El Salvador",
]
COMPANIES = [
    "Globex",
    "Initech",
    "Northwind",
    "Vandelay",
    "Hooli",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Tyrell",
    "Stark Industries",
    "Wayne Enterprises",
    "Acme Corp",
    "Umbrella Group",
    "Oscorp",
    "Gringotts",
    "Blue Harbor Capital",
    "Pied Piper",
    "Massive Dynamic",
    "Aperture Labs",
    "Vehement Capital",
    "Sirius Cybernetics",
    "Monarch Solutions",
    "Zorin Industries",
    "Nakatomi Trading",
]
NATIONALITIES = """German French Japanese Kenyan Peruvian Polish Brazilian Irish Finnish Moroccan Chilean
Austrian Ghanaian Estonian Portuguese Norwegian Vietnamese Senegalese Dutch Swedish Italian Turkish""".split()
EVENTS = [
    "Olympics",
    "World Cup",
    "Nobel Prize",
    "Champions League",
    "Tour de France",
    "Grand Prix",
    "Paralympics",
    "Book Fair",
    "Film Festival",
    "Davis Cup",
]
LANGUAGES = ["Esperanto", "Swahili", "Basque", "Icelandic", "Tagalog", "Welsh", "Python", "Java"]

# Words that carry different types in different sentences; context must decide, sometimes
# only from words further away ("Ford said its profit …" vs "Ford said his lawyer …").
PERSON_OR_PLACE = """Jordan Georgia Florence Victoria Austin Sydney Charlotte Paris Dallas Madison Savannah
Adelaide Regina Kingston Chelsea Lincoln Washington Orlando Denver Troy Cleveland Shannon Virginia Sofia
Carolina Houston Phoenix Aurora""".split()
PERSON_OR_COMPANY = (
    "Ford Morgan Dell Ferrari Porsche Disney Chanel Hilton Lincoln Santos Jordan Boeing".split()
)
PLACE_OR_COMPANY = "Amazon Nokia Chelsea Barcelona Phoenix Aurora Victoria Georgia Sofia Kingston".split()
PERSON_OR_MONTH = ["May", "June", "April", "August"]
MONTHS = "January February March April May June July August September October November December".split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
GENERATOR_VERSION = 2  # part of the file names: a changed generator never reuses old files
TITLES = ["Mr.", "Ms.", "Dr.", "President", "Minister", "coach", "Judge", "Professor"]

# Clause templates; {X} slots become entity spans, {a|b} picks a word, {NUM} is a plain number.
TEMPLATES = """{PER} {said|told reporters|announced|confirmed} on {DATE} that {ORG} would {hire|cut|move} {NUM} jobs
{PER} flew to {LOC} on {DATE}
{PER} {was born|grew up|studied} in {LOC}
{ORG} opened a new office in {LOC}
{ORG} {reported|posted|announced} a profit of {NUM} million in {PERIOD}
shares of {ORG} {rose|fell|jumped|slipped} {NUM} percent on {DATE}
{PER} , a spokesman for {ORG} , declined to comment
{PER} , who {heads|founded|left} {ORG} , {arrived in|left|visited} {LOC} on {DATE}
the {MISC} {team|delegation|coach} {arrived in|left|trained in} {LOC} before the {EVENT}
{PER} won the {EVENT} in {LOC} in {PERIOD}
{TITLE} {SURNAME} met {PER} in {LOC}
{TITLE} {SURNAME} {said|warned|argued} that {LOC} {needs|wants|rejects} a new deal with {ORG}
the mayor of {LOC} {praised|criticised|thanked} {ORG} on {DATE}
{ORG} {signed|agreed|sealed} a deal with {ORG} worth {NUM} million
{ORG} beat {ORG} {NUM} - {NUM} in {LOC} on {DATE}
{PER} joined {ORG} in {PERIOD}
{PER} {speaks|teaches|learned} {LANG} and {LANG}
the {MISC} government {said|announced} on {DATE} that {PER} will visit {LOC}
{PER} scored twice as {ORG} beat {ORG}
{ORG} {moved|relocated} its headquarters from {LOC} to {LOC} in {PERIOD}
{LOC} and {LOC} {signed|discussed|renewed} a trade pact on {DATE}
{PER} and {PER} {met|spoke|argued} in {LOC} on {DATE}
{PER} {sold|bought} {NUM} shares of {ORG}
the {EVENT} {starts|ends|opens} in {LOC} on {DATE}
{PER} told the {MISC} press that {ORG} {was|is} {doing well|in trouble|for sale}
police in {LOC} {arrested|questioned|released} {PER} on {DATE}
{ORG} {hired|fired|promoted} {PER} as chief executive
{NUM} {people|fans|workers} {gathered|marched|waited} in {LOC} on {DATE}
{PER} wrote a book about {LOC} in {PERIOD}
{PER} {visited|toured|left} {LOC} with {PER}
a {MISC} court in {LOC} fined {ORG} {NUM} million
{PER} {thanked|praised|blamed} {PER} after the {EVENT}
{ORG} said {PER} {will|would|could} {lead|join|leave} the company in {PERIOD}
prices in {LOC} {rose|fell} {NUM} percent in {PERIOD}
{PER} {runs|manages|owns} a {small|large|famous} hotel in {LOC}
{PER} said {his|her} {lawyer|family|coach} {was|would be} in {LOC} on {DATE}
{ORG} said its {profit|revenue|sales} {rose|fell} {NUM} percent in {PERIOD}
{PER} said on {DATE} that {he|she} {would|might} {resign|retire|return}
{ORG} said on {DATE} that it {would|might} {merge|expand|close}
{LOC} said its {army|parliament|central bank} would {meet|act} on {DATE}""".splitlines()


def _pick(rng: random.Random, words: list[str]) -> list[str]:
    return rng.choice(words).split()


class EntityFactory:
    """Draws entity token lists of each type from the seen (train) or all (val/test) name lists."""

    def __init__(self, rng: random.Random, holdout: float) -> None:
        def split(words: list[str]) -> tuple[list[str], list[str]]:
            shuffled = sorted(words)
            random.Random(len(words)).shuffle(shuffled)
            cut = max(1, int(len(shuffled) * holdout))
            return shuffled[cut:], shuffled

        self.rng = rng
        self.lists = {
            name: split(words)
            for name, words in {
                "first": FIRST_NAMES,
                "surname": SURNAMES,
                "city": CITIES,
                "country": COUNTRIES,
                "company": COMPANIES,
                "nationality": NATIONALITIES,
                "event": EVENTS,
                "language": LANGUAGES,
            }.items()
        }
        self.unseen = False

    def names(self, kind: str) -> list[str]:
        seen, everything = self.lists[kind]
        return everything if self.unseen else seen

    def person(self) -> list[str]:
        rng = self.rng
        first = rng.choice([self.names("first"), PERSON_OR_PLACE, PERSON_OR_MONTH])
        surname = rng.choice([self.names("surname"), self.names("surname"), PERSON_OR_COMPANY])
        form = rng.random()
        if form < 0.45:
            return [rng.choice(first), rng.choice(surname)]
        if form < 0.75:
            return [rng.choice(first)]
        return [rng.choice(surname)]

    def surname(self) -> list[str]:
        return [self.rng.choice(self.rng.choice([self.names("surname"), PERSON_OR_COMPANY, PERSON_OR_PLACE]))]

    def place(self) -> list[str]:
        rng = self.rng
        pool = rng.choice([self.names("city"), self.names("country"), PERSON_OR_PLACE, PLACE_OR_COMPANY])
        return _pick(rng, pool)

    def company(self) -> list[str]:
        rng = self.rng
        form = rng.random()
        if form < 0.35:
            return _pick(rng, self.names("company"))
        if form < 0.6:
            return [rng.choice(PERSON_OR_COMPANY + PLACE_OR_COMPANY)]
        if form < 0.75:
            return ["Bank", "of", *self.place()]
        if form < 0.85:
            return ["University", "of", *self.place()]
        return [*self.surname(), rng.choice(["Motors", "Group", "Airlines", "Holdings", "Bank"])]

    def day(self) -> list[str]:
        """What follows "on": a weekday or a calendar day."""
        rng = self.rng
        form = rng.random()
        if form < 0.35:
            return [rng.choice(WEEKDAYS)]
        if form < 0.75:
            return [rng.choice(MONTHS), str(rng.randint(1, 28))]
        return [str(rng.randint(1, 28)), rng.choice(MONTHS), str(rng.randint(1950, 2030))]

    def period(self) -> list[str]:
        """What follows "in": a month, a month and year, or a year."""
        rng = self.rng
        form = rng.random()
        year = str(rng.randint(1950, 2030))
        if form < 0.35:
            return [rng.choice(MONTHS)]
        if form < 0.65:
            return [rng.choice(MONTHS), year]
        return [year]

    def misc(self) -> list[str]:
        return _pick(self.rng, self.names("nationality"))

    def event(self) -> list[str]:
        return (
            [*_pick(self.rng, self.names("nationality")), *_pick(self.rng, self.names("event"))]
            if (self.rng.random() < 0.3)
            else _pick(self.rng, self.names("event"))
        )

    def language(self) -> list[str]:
        return _pick(self.rng, self.names("language"))


def _fill(template: str, factory: EntityFactory, rng: random.Random) -> tuple[list[str], list[str]]:
    """Expand one template into tokens and IOB2 tags."""
    makers = {
        "PER": ("PER", factory.person),
        "LOC": ("LOC", factory.place),
        "ORG": ("ORG", factory.company),
        "DATE": ("DATE", factory.day),
        "PERIOD": ("DATE", factory.period),
        "MISC": ("MISC", factory.misc),
        "EVENT": ("MISC", factory.event),
        "LANG": ("MISC", factory.language),
        "SURNAME": ("PER", factory.surname),
    }
    tokens: list[str] = []
    tags: list[str] = []
    for part in re.findall(r"\{[^}]*\}|\S+", template):
        if part.startswith("{") and part.endswith("}"):
            inner = part[1:-1]
            if inner in makers:
                kind, make = makers[inner]
                words = make()
                tokens += words
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
                continue
            if inner == "NUM":
                tokens.append(str(rng.choice([rng.randint(2, 99), rng.randint(100, 3000)])))
                tags.append("O")
                continue
            if inner == "TITLE":
                tokens.append(rng.choice(TITLES))
                tags.append("O")
                continue
            words = rng.choice(inner.split("|")).split()
        else:
            words = [part]
        tokens += words
        tags += ["O"] * len(words)
    return tokens, tags


def generate_sentence(factory: EntityFactory, rng: random.Random) -> TaggedSentence:
    templates = [rng.choice(TEMPLATES)]
    if rng.random() < 0.25:
        templates.append(rng.choice(TEMPLATES))
    tokens: list[str] = []
    tags: list[str] = []
    for i, template in enumerate(templates):
        if i:
            joiner = rng.choice([", while", ", and", ";", ", but"]).split()
            tokens += joiner
            tags += ["O"] * len(joiner)
        clause_tokens, clause_tags = _fill(template, factory, rng)
        tokens += clause_tokens
        tags += clause_tags
    tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
    tokens.append(".")
    tags.append("O")
    casing = rng.random()
    if casing < 0.06:  # headline style, as in CoNLL-2003: capitalisation carries no information
        tokens = [t.upper() for t in tokens]
    elif casing < 0.09:
        tokens = [t.lower() for t in tokens]
    return TaggedSentence(tokens, tags)


def generate_splits(
    sizes: dict[str, int], seed: int = 0, holdout: float = 0.2
) -> dict[str, list[TaggedSentence]]:
    """``{split: sentences}``; training sentences draw only on the names not held out."""
    rng = random.Random(seed)
    factory = EntityFactory(rng, holdout)
    splits = {}
    for split, size in sizes.items():
        factory.unseen = split != "train"
        splits[split] = [generate_sentence(factory, rng) for _ in range(size)]
    return splits


class GeneratedNerCorpus:
    """The embedded default: generated once into ``directory`` as CoNLL files, then read back."""

    def __init__(
        self,
        directory: str,
        train_size: Positive = 6000,
        val_size: Positive = 1000,
        test_size: Positive = 1000,
        holdout: Dropout = 0.2,
        seed: Seed = 0,
    ) -> None:
        self.directory = Path(directory)
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.holdout, self.seed = holdout, seed

    def files(self) -> dict[str, Path]:
        sizes = "-".join(str(n) for n in self.sizes.values())
        tag = f"v{GENERATOR_VERSION}-seed{self.seed}-holdout{self.holdout}-{sizes}"
        return {split: self.directory / tag / f"{split}.txt" for split in self.sizes}

    def prepare(self) -> None:
        """Generate the files unless present (``prepare_data()``; safe in several processes at once)."""
        files = self.files()
        publish_directory(next(iter(files.values())).parent, self._write, files.values())

    def _write(self, folder: Path) -> None:
        for split, sentences in generate_splits(self.sizes, self.seed, self.holdout).items():
            body = format_conll([[t, g] for t, g in zip(s.tokens, s.tags, strict=True)] for s in sentences)
            write_text_atomically(folder / f"{split}.txt", "-DOCSTART- O\n\n" + body)

    def identity(self) -> dict[str, Any]:
        return files_identity("ner", self.files())

    def records(self, split: str) -> Iterator[TaggedSentence]:
        self.prepare()  # reads only, once prepare_data() has run
        return stream_conll(self.files()[split], f"data.corpus.{split}")

    def load(self) -> dict[str, list[TaggedSentence]]:
        return {split: list(self.records(split)) for split in self.files()}
