"""Answered, related or not found: does a candidate quote state what was asked, and how sure.

Dense similarity finds the topic; it cannot tell that the quote about a budget is about the
wrong agency's budget. Two checks, each stated for a class of questions:

- **Focal terms.** A question naming an entity or a quantity ("the budget for the IRS", "the
  2019 release") is answered only by a quote whose speaker turn mentions it. The focal terms are
  the question's capitalised words that are neither its first word, a question word, a title nor
  a speaker's name (whose words are wanted, not what they are about), and its numbers.
- **Answer type.** A question asking for a count, a year, a day, a time, a name or a city
  (`qa.answertype`, the types checked strictly) is answered only by a quote that holds one the
  question does not already give, and that scores near the closest sentence on the topic: a
  date three sentences off the topic is a date of something else.

A question whose closest quotes are on topic (above the abstention threshold) but fail a check is
`related`: the passages are shown, labelled as related reading, never as the answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable

from qa.settings import CalibrationSettings
from qa.sparse import tokenize

_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’.-]*")
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,.]*\d|(?<![\w.,])\d(?![\w])")
# Capitalised in a question without naming anything in particular: question and function words,
# titles and roles, and words that are capitalised by convention (days, "I").
_NOT_NAMING_WORDS = """
    a an the and or but of in on at to for from by with about as is are was were be been do does
    did has have had will would can could should may might must shall what which who whom whose
    when where why how whether if according after before during since until while so then than
    i i'm i've i'd you he she we they it this that these those there here his her their our its
    my your mr mrs ms dr sir madam president vice secretary minister prime senator governor mayor
    ambassador general chairman chair ceo press speaker director deputy administrator leader
    spokesperson host guest interviewer reporter journalist moderator q a.m p.m okay yes no
    monday tuesday wednesday thursday friday saturday sunday
"""
NOT_NAMING = frozenset(_NOT_NAMING_WORDS.split())


def focal_terms(question: str, named: Iterable[str] = ()) -> frozenset[str]:
    """The question's focal words (see the module doc) and numbers, as BM25 tokens (stems)."""
    skip = {n.casefold() for n in named}
    out: set[str] = set()
    for m in _CAPITALISED.finditer(question):
        if m.start() == len(question) - len(question.lstrip()):
            continue  # the first word is capitalised because it is first
        word = m.group(0).rstrip(".'’-")
        folded = word.casefold().removesuffix("'s").removesuffix("’s")
        if folded in NOT_NAMING or folded in skip or len(folded) < 2:
            continue
        out.update(t for t in tokenize(word) if t not in NOT_NAMING and t not in skip)
    for m in _NUMBER.finditer(question):
        out.update(tokenize(m.group(0)))
    return frozenset(out)


def mentions(tokens: Collection[str], terms: frozenset[str]) -> bool:
    """Some focal term is among `tokens` (`qa.sparse.tokenize` of a text)."""
    return not terms or any(t in tokens for t in terms)


def support(
    question: str, passages: Iterable[Collection[str]], df: Callable[[str], int], size: int
) -> float:
    """The share of the question's words, weighted by BM25's idf, that some passage holds.

    `passages` are the retrieved passages' tokens, `df(token)` the number of the `size` chunks
    that hold it. A word no chunk holds weighs the most: a question whose rare words the
    transcripts never use, or use only away from what was retrieved, is about something else.
    """
    terms = set(tokenize(question))
    if not terms or size <= 0:
        return 1.0
    weight = {t: math.log(1 + (size - df(t) + 0.5) / (df(t) + 0.5)) for t in terms}
    found: set[str] = set()
    for tokens in passages:
        found.update(t for t in terms if t in tokens)
    return sum(weight[t] for t in found) / sum(weight.values())


def confidence(cal: CalibrationSettings, top: float, second: float, *, failed: bool) -> float:
    """The chance that the first quote answers the question (a logistic fit on the dev sets)."""
    z = cal.bias + cal.score * top + cal.margin * (top - second) + cal.failed * failed
    return 1.0 / (1.0 + math.exp(-z))
