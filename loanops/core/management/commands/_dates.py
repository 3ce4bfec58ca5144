import argparse
from datetime import date

from loanops.core.time import yesterday


def _iso_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date in YYYY-MM-DD form") from exc


def as_of_argument(parser) -> None:
    parser.add_argument("--as-of", dest="as_of", type=_iso_date, help="Business date (YYYY-MM-DD); default yesterday.")


def as_of_option(options) -> date:
    return options["as_of"] or yesterday()
