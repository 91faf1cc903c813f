"""Small transcripts in every shape qa reads, written for these tests (none copied from anywhere).

The .docx is made with python-docx and the .pdf with fpdf2 when the tests run, so no binary
fixture is committed. Each file has one sentence nobody else says, a question that finds it, its
speaker and (where the file has times) its start time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Expect:
    name: str
    sentence: str  # said once, in this file only
    question: str
    speaker: str
    time: float | None = None  # seconds: the quote's time_start
    page: int | None = None
    page_lines: tuple[int, int] | None = None


OTTER = """Interview: lighthouse archives
Recorded 12 May, edited for clarity.

Dr. Ana Ruiz-Peña  0:09
The lighthouse keepers of Galicia kept handwritten logs of every storm since 1890. Nobody has read them all.

Speaker 1  1:02
How many volumes are there?

Dr. Ana Ruiz-Peña  1:05:12
Around four hundred, most of them water-damaged.
"""

REV = """Søren Ås (00:00:07):
Our bakery in Aarhus switched to rye sourdough because wheat prices doubled.

J. P. Morgan-Smith (00:12):
Did the customers notice?

Søren Ås (01:02:30):
They noticed the smell first, then the price.
"""

DESCRIPT = """[00:00:03] Maya Chen: Welcome back to the show.
[00:01:23] Tomás Ortega: The beekeepers lost forty hives to the cold snap in March.
Most of them were in the northern valley.
[00:02:10] Maya Chen: That is a hard spring.
"""

TRINT = """Lena Vogt [00:00:00]
Tell me about the workshop.

Paolo Ricci [00:00:05]
The violin workshop uses spruce from trees felled in winter, when the sap is low.

Lena Vogt [00:01:40]
And the varnish?
"""

WHISPER = """{"text": " Thanks for coming. The ferry to the island now runs on batteries charged overnight. Since when?",
 "segments": [
  {"id": 0, "start": 0.0, "end": 2.1, "text": " Thanks for coming.", "speaker": "SPEAKER_01"},
  {"id": 1, "start": 2.1, "end": 7.84, "text": " The ferry to the island now runs on batteries charged overnight.", "speaker": "SPEAKER_00",
   "words": [{"word": "The", "start": 2.1, "end": 2.3}]},
  {"id": 2, "start": 7.84, "end": 9.0, "text": " Since when?", "speaker": "SPEAKER_01"}
 ],
 "language": "en"}
"""
WHISPER_META = '{"speakers": {"SPEAKER_00": "Jane Roe"}}'

YOUTUBE = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.350 align:start position:0%
 
the<00:00:00.480><c> glaciers</c><00:00:00.960><c> in</c><00:00:01.200><c> the</c><00:00:01.500><c> alps</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
the glaciers in the alps
 

00:00:02.360 --> 00:00:05.000 align:start position:0%
the glaciers in the alps
retreat<00:00:02.800><c> further</c><00:00:03.300><c> every</c><00:00:03.900><c> summer</c>

00:00:05.000 --> 00:00:05.010 align:start position:0%
retreat further every summer
 

00:00:05.010 --> 00:00:07.500 align:start position:0%
retreat further every summer
and<00:00:05.600><c> the</c><00:00:06.000><c> meltwater</c><00:00:06.700><c> floods</c><00:00:07.000><c> villages</c>
"""

ZOOM = """WEBVTT

1
00:00:01.000 --> 00:00:04.500
Marcus Lee: The chess club meets every Thursday in the old library.

2
00:00:04.500 --> 00:00:06.000
Rita Gomez: Since when?

3
00:00:06.000 --> 00:00:09.000
Marcus Lee: Since the school closed its hall.
"""

TEAMS = """WEBVTT

00:00:00.000 --> 00:00:03.000
<v Priya Nair>The tram line extension opens to passengers next spring.</v>

00:00:03.000 --> 00:00:05.000
<v Omar Haddad>Which stations first?</v>
"""

EXPECT = (
    Expect(
        "otter.txt",
        "The lighthouse keepers of Galicia kept handwritten logs of every storm since 1890.",
        "What did the lighthouse keepers of Galicia keep logs of?",
        "Dr. Ana Ruiz-Peña",
        9.0,
    ),
    Expect(
        "rev.txt",
        "Our bakery in Aarhus switched to rye sourdough because wheat prices doubled.",
        "Why did the bakery in Aarhus switch to rye sourdough?",
        "Søren Ås",
        7.0,
    ),
    Expect(
        "descript.txt",
        "The beekeepers lost forty hives to the cold snap in March.",
        "How many hives did the beekeepers lose to the cold snap?",
        "Tomás Ortega",
        83.0,
    ),
    Expect(
        "trint.txt",
        "The violin workshop uses spruce from trees felled in winter, when the sap is low.",
        "Which wood does the violin workshop use?",
        "Paolo Ricci",
        5.0,
    ),
    Expect(
        "whisper.json",
        "The ferry to the island now runs on batteries charged overnight.",
        "What does the ferry to the island run on?",
        "Jane Roe",
        2.1,
    ),
    Expect(
        "youtube.vtt",
        "the glaciers in the alps retreat further every summer",
        "Are the glaciers in the alps retreating?",
        None,  # type: ignore[arg-type]  # automatic captions name no speaker
        0.0,
    ),
    Expect(
        "zoom.vtt",
        "The chess club meets every Thursday in the old library.",
        "When does the chess club meet?",
        "Marcus Lee",
        1.0,
    ),
    Expect(
        "teams.vtt",
        "The tram line extension opens to passengers next spring.",
        "When does the tram line extension open?",
        "Priya Nair",
        0.0,
    ),
    Expect(
        "interview.docx",
        "Cocoa farmers in Ghana are replanting with shade trees.",
        "What are cocoa farmers in Ghana replanting with?",
        "Helen Okafor",
        5.0,
    ),
    Expect(
        "briefing.html",
        "The harbour dredging finishes in October, two months early.",
        "When does the harbour dredging finish?",
        "MAYOR OKONJO",
    ),
    Expect(
        "hearing.pdf",
        "The county spent twelve million dollars repairing the flood levees.",
        "How much did the county spend repairing the flood levees?",
        "MS. DOE",
        None,
        12,
        (3, 4),
    ),
)

# A briefing page saved from the web: menus and footer around the words, a bold label.
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Briefing on the harbour | City Hall</title></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><h1>Briefing on the harbour</h1>
<p><strong>MAYOR OKONJO:</strong> Good morning.  The harbour dredging finishes in
October, two months early.</p>
<p>Q &nbsp; Who pays for it?</p>
<p><strong>MAYOR OKONJO:</strong> The port authority pays, not the city.</p>
</main><footer><p>Share this page</p></footer></body></html>
"""

PDF_PAGES = (
    (
        "THE CHAIR: The hearing will come to order.",
        "We welcome our witness today.",
        "MS. DOE: Thank you, Chair. The county spent",
        "twelve million dollars repairing the flood levees.",
        "THE CHAIR: How long did the work take?",
    ),
    (
        "MS. DOE: Eighteen months, from the first",
        "survey to the last inspection.",
        "THE CHAIR: Thank you. We stand adjourned.",
    ),
)
PDF_HEADER = "HEARING BEFORE THE COMMITTEE ON PUBLIC WORKS"


def docx_bytes(path: Path) -> Path:
    """A Word interview: a heading, a preamble, bold Otter-style headers, a second heading."""
    import docx

    d = docx.Document()
    d.add_heading("Cocoa in Ghana: interview notes", level=1)
    d.add_paragraph("Recorded in Kumasi. Edited for length.")
    for header, said in (
        ("Helen Okafor  0:05", "Cocoa farmers in Ghana are replanting with shade trees."),
        ("Kwame Mensah  0:41", "Shade trees cut the yield at first, then the soil recovers."),
    ):
        d.add_paragraph().add_run(header).bold = True
        d.add_paragraph(said)
    d.add_heading("Part two", level=2)
    d.add_paragraph().add_run("Helen Okafor  2:10").bold = True
    d.add_paragraph("Prices at the farm gate rose last year.")
    d.save(str(path))
    return path


def pdf_file(path: Path, pages: tuple[tuple[str, ...], ...] = PDF_PAGES, first: int = 12) -> Path:
    """A hearing transcript: running header, printed line numbers, page number in the footer."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(False)
    for n, lines in enumerate(pages, start=first):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.set_xy(20, 12)
        pdf.cell(0, 6, PDF_HEADER)
        for i, line in enumerate(lines, start=1):
            pdf.set_xy(12, 30 + i * 9)
            pdf.cell(8, 6, str(i))
            pdf.set_xy(25, 30 + i * 9)
            pdf.cell(0, 6, line)
        pdf.set_xy(100, 260)
        pdf.cell(10, 6, str(n))
    pdf.output(str(path))
    return path


def blank_pdf(path: Path) -> Path:
    """A PDF with a page and no text layer (as a scan without OCR is)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 50, 50)
    pdf.output(str(path))
    return path


def write_all(folder: Path, broken: bool = True) -> Path:
    """One file of each format (and, with `broken`, a bad JSON and a binary .txt) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("otter.txt", OTTER),
        ("rev.txt", REV),
        ("descript.txt", DESCRIPT),
        ("trint.txt", TRINT),
        ("whisper.json", WHISPER),
        ("whisper.meta.json", WHISPER_META),
        ("youtube.vtt", YOUTUBE),
        ("zoom.vtt", ZOOM),
        ("teams.vtt", TEAMS),
        ("briefing.html", PAGE),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    docx_bytes(folder / "interview.docx")
    pdf_file(folder / "hearing.pdf")
    if broken:
        (folder / "broken.json").write_text('[{"speaker": "A", "text": "unterminated', "utf-8")
        (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    return folder


BROKEN = ("binary.txt", "broken.json")
