"""Pagination for pages over large tables: no COUNT, one row more tells whether there is a next page."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CountlessPage:
    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1
