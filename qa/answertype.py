"""What kind of answer a question asks for, and whether a sentence has one.

A question that asks "how many", "by what factor", "what year" or "which city" is answered only by
a sentence that holds a number, a multiplier, a date or a place. Dense similarity cannot see that:
"We plan to implant devices in 20-30 patients" is close to "By what factor could an implant boost
output?", though only "increase output capacity by 1,000 times" answers it. Checking the type is
the classic question-classification step of extractive QA, done with rules: cheap, explainable,
no model. A match earns a bonus; for the types checked strictly, a sentence without one is no
answer at all, which is what lets the service refuse "How many watts does the chip draw?" when
the transcripts never give a wattage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|trillions|"
    "dozen|dozens|half|twice|double|doubled|triple|tripled|quadruple|a couple|none|zero"
)
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b|\w+fold\b", re.IGNORECASE)
_MULTIPLIER = re.compile(
    r"\b\d[\d,.]*\s*(?:x|×)(?!\w)|\btimes\b|\w+fold\b|\b(?:twice|double[sd]?|triple[sd]?|"
    r"quadruple[sd]?|halve[sd]?|orders? of magnitude)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    r"%|\bper ?cent\b|\bpercentage points?\b|\b(?:half|a third|a quarter)\b", re.I
)
_MONEY = re.compile(
    r"[$€£¥₹]|\b(?:dollars?|euros?|pounds? sterling|yen|yuan|renminbi|rupees?|won|bucks|usd|eur)\b"
    r"|\b\d[\d,.]*\s*(?:million|billion|trillion|k|m|bn)\b",
    re.IGNORECASE,
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
)
_DATE = re.compile(
    rf"\b\d{{3,4}}s?\b|\b(?:bc|bce|ad|ce|bp)\b|\b(?:{_MONTHS})\b\.?|\b(?:monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|yesterday|today|tomorrow|tonight)\b|\b(?:last|next|this|past|"
    r"coming) (?:year|month|week|decade|century|spring|summer|fall|autumn|winter|quarter)\b|"
    r"\b(?:ago|century|decade|era)\b|\b(?:q[1-4]|h[12])\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|"
    r"lifetime|forever|since|until|till)\b",
    re.IGNORECASE,
)

# Units a "how many <unit>" question can ask for, by what a sentence must then mention.
_UNITS: dict[str, str] = {}
for _family, _words in {
    r"watts?|kilowatts?|megawatts?|gigawatts?|\d\s*[kmg]?w\b": "watt watts kilowatt kilowatts "
    "megawatt megawatts gigawatt gigawatts",
    r"volts?|kilovolts?|\d\s*k?v\b": "volt volts",
    r"miles?|kilometers?|kilometres?|meters?|metres?|feet|foot|inch(?:es)?|yards?|km\b|\d\s*m\b": "mile miles kilometer kilometers kilometre kilometres meter meters metre metres feet inches "
    "yards",
    r"(?:kilo)?grams?|kg\b|pounds?|lbs?\b|tons?|tonnes?|ounces?": "gram grams kilogram kilograms "
    "kilo kilos pound pounds ton tons tonne tonnes ounce ounces",
    r"mph|km/h|kph|miles per hour|kilometers per hour|knots?": "mph knots",
    r"degrees?|°": "degree degrees celsius fahrenheit",
    r"(?:kilo|mega|giga|tera|peta)?bytes?|[kmgtp]b\b|(?:kilo|mega|giga|tera)?bits?": "byte bytes "
    "kilobyte kilobytes megabyte megabytes gigabyte gigabytes terabyte terabytes bit bits",
    r"acres?|hectares?|square (?:feet|meters|miles|kilometers)": "acre acres hectare hectares",
    r"liters?|litres?|gallons?|barrels?": "liter liters litre litres gallon gallons barrel barrels",
    r"calories|kcal": "calorie calories",
}.items():
    for _word in _words.split():
        _UNITS[_word] = _family

# What a "which <noun>" question names, by the kind of place that answers it.
_PLACE_KINDS = {
    "city": "city",
    "town": "city",
    "capital": "city",
    "country": "country",
    "nation": "country",
}


@dataclass(frozen=True, slots=True)
class AnswerType:
    """What the question asks for; `strict` types reject sentences that lack it."""

    name: str
    strict: bool
    unit: str = ""  # regex of the unit family ("how many <unit>"), or the kind of place

    def matches(self, sentence: str) -> bool:
        if self.name == "place":
            return has_place(sentence, self.unit)
        if self.unit:
            return bool(_NUMBER.search(sentence)) and bool(
                re.search(rf"(?<!\w)(?:{self.unit})", sentence, re.IGNORECASE)
            )
        return bool(_DETECTORS[self.name].search(sentence))


_DETECTORS = {
    "number": _NUMBER,
    "multiplier": _MULTIPLIER,
    "percent": _PERCENT,
    "money": _MONEY,
    "date": _DATE,
    "duration": _DURATION,
}

_COMPARATIVE = (
    r"(?:more|less|fewer|[a-z]{3,}er|bigger|better|worse|greater|higher|lower|larger|smaller|"
    r"stronger|cheaper|safer|faster|slower)"
)
_RULES: list[tuple[re.Pattern[str], str, bool]] = [
    (
        re.compile(
            r"\bby (?:what|which|how (?:big|large) an?) (?:factor|multiple)\b|\bhow many "
            rf"times\b|\bhow much {_COMPARATIVE}\b|\bwhat multiple\b"
        ),
        "multiplier",
        False,
    ),
    (
        re.compile(r"\bwhat (?:percent(?:age)?|share|proportion|fraction)\b|\bhow many percent\b"),
        "percent",
        True,
    ),
    (re.compile(r"\bwhat (?:\w+ )?rate\b"), "percent", False),  # or "3.4 percent", "a record low"
    (
        re.compile(
            r"\bhow much (?:money|cash|funding|capital)\b|\bhow many dollars\b|\bhow much "
            r"(?:\w+ ){0,6}(?:cost|costs|pay|paid|spend|spent|invest|invested|raise|raised|"
            r"earn|earned|worth|charge|charged|owe|owed|lose|lost)\b|\bwhat (?:was |is )?"
            r"(?:the )?(?:price|valuation|cost|budget|salary)\b"
            # "What was it worth?", not "Was it worth it?"
            r"|^(?:what|how much)\b.*\b(?:worth|valued? at)\b"
        ),
        "money",
        True,
    ),
    (
        re.compile(
            r"\b(?:in |by )?(?:what|which) (?:year|month|date|day|decade|century)\b|\bwhen "
            r"(?:was|were|did|will|is|does|do)\b.*\b(?:born|founded|launched|released|"
            r"start|started|begin|began|established|created|announced)\b"
        ),
        "date",
        True,
    ),
    (re.compile(r"\bhow long\b"), "duration", False),
    # "Where was it held?" may be answered by a venue ("Carnegie Mellon"), not a city: no check.
    (re.compile(r"^where\b"), "place", False),
    (re.compile(r"\bhow many\b|\bwhat (?:is|was) the number of\b"), "number", True),
    (re.compile(r"\bhow much\b"), "number", False),  # also "how much does she care"
    (re.compile(r"^(?:since |until |by )?when\b"), "date", False),  # not "… feel when he …"
]
# "which Mexican city", not "what is the country known for"
_WHICH_PLACE = re.compile(
    r"\b(?:what|which) (?:(?!(?:is|was|are|were|does|did|do|has|had|the|a|an|this|that)\b)[a-z]+ )"
    r"{0,2}?(city|town|capital|country|nation)\b"
)
_HOW_MANY_UNIT = re.compile(r"\bhow (?:many|much) ([a-z]+)\b|\bin ([a-z]+)\b")


def expected(question: str) -> AnswerType | None:
    """The answer type a question asks for, or None when it is open (why, who, what about)."""
    q = " ".join(question.casefold().split())
    place = _WHICH_PLACE.search(q)
    if place:
        return AnswerType("place", strict=True, unit=_PLACE_KINDS[place.group(1)])
    for m in _HOW_MANY_UNIT.finditer(q):
        unit = _UNITS.get(m.group(1) or m.group(2) or "")
        if unit and (m.group(1) or q.startswith(("how many", "how much", "what"))):
            return AnswerType("unit", strict=True, unit=unit)
    for pattern, name, strict in _RULES:
        if pattern.search(q):
            return AnswerType(name, strict=strict)
    return None


@lru_cache(maxsize=1)
def _places() -> dict[str, frozenset[str]]:
    """name → the kinds of place it is (city, country, region)."""
    text = resources.files("qa.data").joinpath("places.txt").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line)
    return {name: frozenset(kinds.split(",")) for name, kinds in rows}


_CAPITALISED = re.compile(r"\b[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,6}")


def has_place(sentence: str, kind: str = "") -> bool:
    """A place (of `kind`: city, country) named with a capital (GeoNames, ≥100k people).

    The whole capitalised run must be the place: "the Iron Man" is no mention of Man (Côte
    d'Ivoire).
    """
    places = _places()
    for m in _CAPITALISED.finditer(sentence):
        name = m.group(0).rstrip(".,'’")
        if name.startswith("The "):
            name = name[4:]
        kinds = places.get(name)
        # A country may start a sentence ("Greenland signed…"); a one-word city there may be
        # an ordinary word ("Reading is…").
        first_ok = m.start() > 0 or " " in name or bool(kinds and "country" in kinds)
        if kinds and (not kind or kind in kinds) and first_ok:
            return True
    return False
