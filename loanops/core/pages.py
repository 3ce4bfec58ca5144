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


def countless_page(queryset, *, number: int, size: int) -> CountlessPage:
    """Rows of page NUMBER of an ordered QUERYSET: LIMIT size + 1 at an OFFSET, never a COUNT."""
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return CountlessPage(rows=rows[:size], number=number, has_next=len(rows) > size)
