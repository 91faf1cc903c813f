"""Question → expected answer type, and sentence → whether it holds one (pure rules, no model)."""

from __future__ import annotations

import pytest

from qa.answertype import MAX_CHECKED, AnswerType, expected, has_place


@pytest.mark.parametrize(
    ("question", "name", "strict"),
    [
        ("How many actuators does the robot have?", "number", True),
        ("By what factor could output grow?", "multiplier", False),
        ("How much safer than people could it get?", "multiplier", False),
        ("What percentage of revenue came from ads?", "percent", True),
        ("How much did the company pay for the startup?", "money", True),
        ("How much time did they spend on it?", "number", False),
        ("How many of them agreed?", "number", False),
        ("What was the firm worth when he bought it?", "money", True),
        ("In what year will the US host the G20?", "date", True),
        ("When is the next version due?", "date", False),
        ("How long did the meetings last?", "duration", False),
        ("In which coastal city were they stopped?", "place", True),
        ("Which country signed the treaty?", "place", True),
        ("Where was the conference held?", "place", False),
        ("How many watts does the chip draw?", "unit", True),
        ("What is the name of the engineer who built it?", "name", True),
        ("Who is the commander who will hold the call?", "name", True),
        ("On what date did she visit the plant?", "day", True),
        ("What month did they launch?", "date", False),
        ("At what time did the plane land?", "time", True),
        ("What time did the plane land?", "time", True),
    ],
)
def test_expected_type(question: str, name: str, strict: bool) -> None:
    wanted = expected(question)
    assert wanted is not None
    assert (wanted.name, wanted.strict) == (name, strict)


@pytest.mark.parametrize(
    "question",
    [
        "Why did he buy the company?",
        "Who joked about strangers moving in?",
        "What is the country known for?",  # not "which country"
        "How did she feel when she found out?",  # "when" mid-question is no date question
        "Was the trip worth it, in his view?",  # yes or no, not a price
        "What kind of city does he want to build?",
        "Which city council member objected?",
        "What country music artists performed?",
        "When asked about China, what did she say?",
    ],
)
def test_open_questions_have_no_type(question: str) -> None:
    assert expected(question) is None


@pytest.mark.parametrize(
    ("question", "sentence", "ok"),
    [
        ("How many robots?", "We will build about 100 robots.", True),
        ("How many robots?", "We will build a few hundred robots.", True),
        ("How many robots?", "We will build robots.", False),
        ("By what factor?", "It could be 1,000 times higher.", True),
        ("By what factor?", "We implanted 20-30 patients.", False),
        ("How many watts does it draw?", "It draws 75 watts at peak.", True),
        ("How many watts does it draw?", "Its performance is 2 times that of rivals.", False),
        ("What was it worth?", "I thought it was about $42 billion.", True),
        ("In what year was it founded?", "Temüjin was born around 1162.", True),
        ("Which city hosts it?", "It is built in Memphis, Tennessee.", True),
        ("Which city hosts it?", "He is the Iron Man of Silicon Valley.", False),
        ("Which city hosts it?", "The President is going to go to Philly.", True),
        ("Which city hosts it?", "The meeting was in India.", False),  # a country, not a city
        ("Which country signed?", "Greenland signed a treaty in 1985.", True),
        ("Which city hosts it?", "In Memphis, we built it.", True),  # "In" is no part of the name
        ("Which city hosts it?", "Memphis is where we built it.", True),
        ("How much money did he make?", "He won.", False),
        ("When did you start playing guitar?", "When I was about twelve.", True),
        ("When did the company start?", "It may be true.", False),  # "may" is no month
        ("What was it worth?", "It was worth forty million.", True),
        # A name the question does not give: inside the sentence, or two capitalised words at
        # its start; not an opener, a title or the question's own words.
        ("What is the name of the engineer?", "Our lead engineer is Ada Byron.", True),
        ("What is the name of the engineer?", "Ada Byron led the work.", True),
        ("What is the name of the engineer?", "Well, our engineer led the work.", False),
        ("What is the name of the method?", "The slow method is known as trial division.", True),
        ("Who is the Tesla engineer on the team?", "The Tesla engineer joined us.", False),
        ("Who is the engineer on the team?", "And President, the engineer is here.", False),
        # An ordinal ranks, and a number the question gives is known: neither is a count.
        ("How many women attend the 17th ceremony?", "It is the 17th annual ceremony.", False),
        ("How many people marked the 50-year mark?", "It was the best in 50 years.", False),
        ("How many people marked the 50-year mark?", "About 30 people came.", True),
        # "What date" wants a day, not "this year".
        ("On what date did she visit?", "During my visit earlier this year, I saw it.", False),
        ("On what date did she visit?", "I visited on March 3.", True),
        ("At what time did the plane land?", "It landed at 6:40 a.m. local time.", True),
        ("At what time did the plane land?", "It landed safely.", False),
    ],
)
def test_sentence_matches(question: str, sentence: str, ok: bool) -> None:
    wanted = expected(question)
    assert isinstance(wanted, AnswerType)
    assert wanted.matches(sentence) is ok


def test_a_capitalised_first_word_is_not_a_city() -> None:
    assert not has_place("Reading is what he does at night.")
    assert has_place("We flew to New Delhi.")


def test_speaker_names_in_capitals_are_taken_out_of_questions() -> None:
    from qa.retrieve import speaker_names

    names = {
        "MR. SULLIVAN",
        "MR.",
        "SULLIVAN",
        "Theresa May",
        "Theresa",
        "May",
        "WILL HURD",
        "WILL",
    }
    assert speaker_names("How long did Sullivan meet them?", names) == (
        "How long did meet them?",
        frozenset({"sullivan"}),
    )
    # Case is ignored, but a name must be capitalised in the question: "may" is a verb.
    assert speaker_names("Why may it fail?", names) == ("Why may it fail?", frozenset())
    # Label words that are ordinary words are never names: "Will the tariffs stay?"
    assert speaker_names("Will the tariffs stay?", names) == ("Will the tariffs stay?", frozenset())


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [("Did it come up?", True), ("“Is it working?” ", True), ("It did not come up.", False)],
)
def test_a_sentence_that_asks(sentence: str, asks: bool) -> None:
    from qa.answer import _asks

    assert _asks(sentence) is asks


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("number", "about 12 robots"),
        ("multiplier", "a tenfold increase"),
        ("money", "$5 billion"),
        ("percent", "40 percent"),
        ("date", "in 2021"),
        ("day", "on March 3"),
        ("time", "at 6 p.m."),
        ("name", "and Ada Byron"),
    ],
)
def test_checks_read_only_the_head_of_huge_sentences(name: str, answer: str) -> None:
    # An uploaded file may hold a 30k-character "word": each check reads the first MAX_CHECKED
    # characters, so it costs the same whatever follows, and an answer buried past them is none.
    kind = AnswerType(name, strict=True)
    filler = "a" * 30_000
    assert kind.matches(f"{answer} {filler}")
    assert not kind.matches(f"{filler} {answer}")
    assert not kind.matches("x" * MAX_CHECKED + " " + answer)
