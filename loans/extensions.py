"""Hooks other apps fill without loans importing them: the open collection case's stage shown
in the API's delinquency block (registered by the collections app)."""

from collections.abc import Callable, Iterable

_stage_lookups: list[Callable[[list[int]], dict[int, str]]] = []


def register_collection_stage_lookup(func: Callable[[list[int]], dict[int, str]]) -> None:
    if func not in _stage_lookups:
        _stage_lookups.append(func)


def collection_stages(loan_ids: Iterable[int]) -> dict[int, str]:
    """The open case's stage by loan id (empty when no app provides cases)."""
    ids = list(loan_ids)
    stages: dict[int, str] = {}
    for lookup in _stage_lookups:
        stages.update(lookup(ids))
    return stages
