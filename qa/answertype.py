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

from qa.coverage import NOT_NAMING

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|trillions|"
    "dozen|dozens|half|twice|double|doubled|triple|tripled|quadruple|a couple|none|zero"
)
# Every pattern here runs on sentences of any length (an upload may hold a 10k-character "word"):
# no unanchored `\w+` or `\d[\d,.]*` that the engine would retry from every position.
_FOLD = r"\b\w+fold\b"
_AMOUNT = r"(?<![\d,.])\d[\d,.]*"
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b|{_FOLD}", re.IGNORECASE)
_MULTIPLIER = re.compile(
    rf"{_AMOUNT}\s*(?:x|×)(?!\w)|\btimes\b|{_FOLD}|\b(?:twice|double[sd]?|triple[sd]?|"
    r"quadruple[sd]?|halve[sd]?|orders? of magnitude)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    r"%|\bper ?cent\b|\bpercentage points?\b|\b(?:half|a third|a quarter|majority|minority|"
    r"\w+-(?:thirds|quarters|fifths|tenths)|one in \w+|\w+ out of \w+)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"[$€£¥₹]|\b(?:dollars?|euros?|pounds? sterling|yen|yuan|renminbi|rupees?|bucks|usd|eur|grand)\b"
    rf"|(?:{_AMOUNT}|\b(?:{_NUMBER_WORDS}))\s*(?:million|billion|trillion|k|m|bn)\b",
    re.IGNORECASE,
)
# Month names only capitalised: "It may be" is no date, "in May" is.
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
)
_DATE = re.compile(
    rf"\b\d{{3,4}}s?\b|\b(?-i:BC|BCE|AD|CE|BP)\b|\b(?-i:{_MONTHS})\b\.?|\b(?:monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow|tonight)\b|\b(?:last|"
    r"next|this|past|coming) (?:year|month|week|decade|century|spring|summer|fall|autumn|winter|"
    r"quarter)\b|\b(?:ago|century|decade|era)\b|\b(?:q[1-4]|h[12])\b|\bwhen (?:i|we|he|she|"
    r"they) (?:was|were)\b|\b(?:age|aged) \d",
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
    r"degrees?|°[CF]?": "degree degrees celsius fahrenheit",
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


MAX_CHECKED = 2000  # characters of a sentence looked at: an answer is not buried deeper


@dataclass(frozen=True, slots=True)
class AnswerType:
    """What the question asks for; `strict` types reject sentences that lack it."""

    name: str
    strict: bool
    unit: str = ""  # regex of the unit family ("how many <unit>"), or the kind of place
    # The question's own values (its numbers, its capitalised words, folded): the asker knows
    # them already, so a sentence that only repeats them holds no answer of this type.
    given: frozenset[str] = frozenset()

    def matches(self, sentence: str) -> bool:
        sentence = sentence[:MAX_CHECKED]
        if self.name == "place":
            return has_place(sentence, self.unit)
        if self.name == "name":
            return has_name(sentence, self.given)
        if self.name in _COUNTED:
            sentence = _not_counts(sentence, self.given)
        if self.unit:
            return bool(_NUMBER.search(sentence)) and bool(
                re.search(rf"(?<!\w)(?:{self.unit})(?!\w)", sentence, re.IGNORECASE)
            )
        return bool(_DETECTORS[self.name].search(sentence[:MAX_CHECKED]))


# A specific day: a month or weekday named, a day of the month or a year, "tomorrow". Not "this
# year" or "in the coming weeks": those are what a "when" may get, not what "what date" asks.
_DAY = re.compile(
    rf"\b(?-i:{_MONTHS})\b\.?|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|today|tomorrow|tonight)\b|\b\d{1,2}(?:st|nd|rd|th)\b|\b\d{4}\b|\b\d{1,2}/\d{1,2}\b",
    re.IGNORECASE,
)
# A time of day: a clock time, or a part of the day.
_CLOCK = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\b\d{1,2}:\d{2}\b|\bo[’']clock\b|"
    r"\b(?:noon|midnight|morning|afternoon|evening|tonight|overnight|dawn|dusk)\b|"
    r"\b(?:hour|minutes?) (?:ago|later|after|before)\b",
    re.IGNORECASE,
)

_DETECTORS = {
    "number": _NUMBER,
    "day": _DAY,
    "time": _CLOCK,
    "multiplier": _MULTIPLIER,
    "percent": _PERCENT,
    "money": _MONEY,
    "date": _DATE,
    "duration": _DURATION,
}

_COMPARATIVE = (
    r"(?:more|less|fewer|bigger|better|worse|greater|higher|lower|larger|smaller|stronger|weaker|"
    r"cheaper|safer|faster|slower|richer|poorer|longer|shorter|heavier|lighter|older|younger|"
    r"efficient|powerful|likely|expensive)"
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
            r"(?!time|effort|energy|attention|sleep|weight|ground|support|pressure)"
            r"(?:\w+ ){0,6}(?:cost|costs|pay|paid|spend|spent|invest|invested|raise|raised|"
            r"earn|earned|worth|charge|charged|owe|owed)\b"
            # "What was it worth?", not "Was it worth it?"
            r"|^(?:what|how much)\b(?:\W+\w+){0,10}?\W+(?:worth|valued? at)\b"
        ),
        "money",
        True,
    ),
    # "What was the price…" may be "the price she paid for speaking out": a bonus, no check.
    (
        re.compile(r"\bwhat (?:was |is )?(?:the )?(?:price|valuation|cost|budget|salary)\b"),
        "money",
        False,
    ),
    # A year is what "what year" wants; "which day did he regret most" is no date question.
    (re.compile(r"\b(?:what|which) (?:year|decade|century)\b"), "date", True),
    # "When did she found the company?": a date, or "when I was twelve" (both count, _DATE).
    (
        re.compile(
            r"^(?:roughly |about |approximately )?when (?:was|were|did|will|is|does|do)\b"
            r"(?:\W+\w+){0,6}?\W+(?:born|founded|launched|released|start|started|begin|began|"
            r"established|created|announced)\b"
        ),
        "date",
        True,
    ),
    # "On what date…", "what day": a day, named or numbered; "what month" may get "last month".
    (re.compile(r"\b(?:what|which) (?:date|day)\b(?! (?:of the week|and time)\b)"), "day", True),
    (re.compile(r"\b(?:what|which) month\b"), "date", False),
    # "At what time did the plane land?": a clock time or a part of the day.
    (
        re.compile(r"\bat what time\b|\bwhat time (?:did|does|do|will|is|was|were|would)\b"),
        "time",
        True,
    ),
    (re.compile(r"\bhow long\b"), "duration", False),
    # "Where was it held?" may be answered by a venue (a university, a hall), not a city: no check.
    (re.compile(r"^where\b"), "place", False),
    # "How many of them agreed?" may be answered by "All of them."
    (re.compile(r"\bhow many of\b"), "number", False),
    (re.compile(r"\bhow many\b|\bwhat (?:is|was) the number of\b"), "number", True),
    (re.compile(r"\bhow much\b"), "number", False),  # also "how much does she care"
    # Not "… feel when he …", nor "When asked about X, what did she say?"
    (
        re.compile(
            r"^(?:since |until |by |roughly |about )?when\b(?! (?:asked|questioned|pressed))"
        ),
        "date",
        False,
    ),
]
# "which coastal city", not "what is the country known for", "what kind of city", "which city
# council member" or "what country music".
_WHICH_PLACE = re.compile(
    r"\b(?:what|which) (?:(?!(?:is|was|are|were|does|did|do|has|had|the|a|an|this|that|kind|sort|"
    r"type|kinds|sorts|types)\b)[a-z]+ ){0,2}?(city|town|capital|country|nation)\b"
    r"(?!['’]s\b| (?:music|council|halls?|manager|officials?|limits|life|cent(?:er|re)|budget|"
    r"police|club|team|leaders?|gains|markets?|folks|problems|issues|mayor|singer|star)\b)"
)
_HOW_MANY_UNIT = re.compile(r"\bhow (?:many|much) ([a-z]+)\b|\bin ([a-z]+)\b")


# A question asking for someone's or something's name: "What is the name of…", "What was her
# name", "Who is the commander who…" (an identity, not "Who said…", whose answer is a quote).
_NAME = re.compile(
    r"^(?:and |so )?what (?:is|was|are|were) (?:the )?names? of\b|\bwhat (?:is|was) (?:his|her|"
    r"their|its|the \w+['’]s) name\b|^(?:and |so )?who (?:is|was|are|were) (?:the|this|that)\b"
    r"(?! (?:one|ones|person|people) (?:who|that)\b)"
)


def expected(question: str) -> AnswerType | None:
    """The answer type a question asks for, or None when it is open (why, who, what about)."""
    q = " ".join(question.casefold().split())
    given = _given(question)
    place = _WHICH_PLACE.search(q)
    if place:
        return AnswerType("place", strict=True, unit=_PLACE_KINDS[place.group(1)])
    for m in _HOW_MANY_UNIT.finditer(q):
        unit = _UNITS.get(m.group(1) or m.group(2) or "")
        if unit and (m.group(1) or q.startswith(("how many", "how much", "what"))):
            return AnswerType("unit", strict=True, unit=unit)
    if _NAME.search(q):
        return AnswerType("name", strict=True, given=given)
    for pattern, name, strict in _RULES:
        if pattern.search(q):
            return AnswerType(name, strict=strict, given=given if name in _COUNTED else frozenset())
    return None


# The types whose value may be a number the question already gives ("the 50-year low"), or an
# ordinal ("the 17th annual"), which ranks and does not count.
_COUNTED = frozenset(["number"])
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.IGNORECASE)
_VALUE = re.compile(r"\d[\d,.]*\d|\d|[A-Z][\w'’.-]*")


def _given(question: str) -> frozenset[str]:
    """The question's numbers and capitalised words, folded (see AnswerType.given)."""
    words = (m.group(0).rstrip(".'’-").casefold() for m in _VALUE.finditer(question))
    return frozenset(w.removesuffix("'s").removesuffix("’s") for w in words)


def _not_counts(sentence: str, given: frozenset[str]) -> str:
    """The sentence less its ordinals and the numbers the question gives."""
    sentence = _ORDINAL.sub(" ", sentence)
    if not given:
        return sentence
    return re.sub(
        r"(?<![\d,.])\d[\d,.]*\d|(?<![\d,.])\d(?![\d])",
        lambda m: " " if m.group(0).rstrip(".,") in given else m.group(0),
        sentence,
    )


@lru_cache(maxsize=1)
def places() -> dict[str, frozenset[str]]:
    """name → the kinds of place it is (city, country, region)."""
    text = resources.files("qa.data").joinpath("places.txt").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line)
    return {name: frozenset(kinds.split(",")) for name, kinds in rows}


_CAPITALISED = re.compile(r"\b[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,6}")


# Capitalised because they start a sentence or a clause, not because they name a place.
_LEADING = frozenset(
    [
        "In",
        "At",
        "From",
        "To",
        "And",
        "But",
        "So",
        "Well",
        "I",
        "We",
        "He",
        "She",
        "They",
        "It",
        "The",
        "A",
        "An",
        "On",
        "For",
        "Of",
        "By",
        "Near",
        "Outside",
        "Inside",
        "Then",
        "Now",
        "Yes",
        "No",
        "Oh",
        "Both",
        "Even",
        "Only",
        "Also",
    ]
)
# Cities whose name is also a common word: at the start of a sentence they are most likely that.
_AMBIGUOUS = frozenset(
    [
        "Reading",
        "Nice",
        "Mobile",
        "Bath",
        "Split",
        "Man",
        "Orange",
        "Surprise",
        "Independence",
        "Providence",
        "Victoria",
        "Mandeville",
        "Bend",
        "Commerce",
        "Enterprise",
        "Florence",
        "Marion",
        "Temple",
        "Plano",
        "Bristol",
    ]
)


def has_place(sentence: str, kind: str = "") -> bool:
    """A place (of `kind`: city, country) named with a capital (GeoNames: ≥15k people).

    The capitalised run, less leading function words ("In Memphis"), must be the place: "the
    Iron Man" is no mention of Man (Côte d'Ivoire).
    """
    known = places()
    for m in _CAPITALISED.finditer(sentence):
        words = m.group(0).rstrip(".,'’").split()
        start = m.start()
        while len(words) > 1 and words[0] in _LEADING:
            start += 1  # not the sentence's first word any more
            words = words[1:]
        name = " ".join(words).rstrip(".,'’")
        kinds = known.get(name)
        if not kinds or (kind and kind not in kinds):
            continue
        if start == 0 and name in _AMBIGUOUS:
            continue  # "Reading is…"
        return True
    return False


_PROPER = re.compile(r"[A-Z][\w'’.-]*[\w]|[A-Z]")
# Capitalised without naming anyone: what is never focal in a question (qa.coverage), and
# words that open a spoken sentence.
_NOT_NAMES = NOT_NAMING | frozenset(["well", "now", "then", "oh", "ok", "also", "even", "only"])


def has_name(sentence: str, given: frozenset[str] = frozenset()) -> bool:
    """A proper name the question does not give: a capitalised word inside the sentence, or two
    at its start ("Danny Werfel is…"), that is no opener, pronoun or title; or a name given
    ("is called primality", "known as trial division")."""
    sentence = sentence[:MAX_CHECKED]
    if _NAMING.search(sentence):
        return True  # "is called primality": a name given in lower case
    for m in _PROPER.finditer(sentence):
        if not _naming(m.group(0), given):
            continue
        at = m.start()
        while at > 0 and sentence[at - 1].isspace():
            at -= 1
        if at > 0 and sentence[at - 1] not in _OPENS:
            return True  # capitalised inside the sentence
        nxt = _NEXT_CAPITALISED.match(sentence, m.end())
        if nxt and _naming(nxt.group(1), given):
            return True  # a run of two at its start
    return False


_NAMING = re.compile(
    r"\b(?:called|named|known as|dubbed|termed|nicknamed|titled|referred to as)\s+\S", re.I
)
_OPENS = '.!?:;"“('  # what a sentence or a quotation starts after
_NEXT_CAPITALISED = re.compile(r"\s+([A-Z][\w'’.-]*)")


def _naming(word: str, given: frozenset[str]) -> bool:
    folded = word.casefold().removesuffix("'s").removesuffix("’s")
    return len(folded) > 1 and folded not in _NOT_NAMES and folded not in given
