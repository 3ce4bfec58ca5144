"""Sections of the collection case page contributed by the parts of the collections app
(contacts and promises, letters, enforcement tracks, dealer advances, write-off).

    from loan_collections.sections import register_case_section

    @register_case_section(order=30)
    def letters_section(request, case):
        return {"id": "letters", "title": _("Letters"), "template": "collections/includes/letters.html",
                "context": {"case": case, "letters": ...}}

A function returns None to add nothing. Sections render in `order` (then name), each with only
its own context (plus `request`, `user`, `csrf_token`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

SectionFunc = Callable[[HttpRequest, object], dict | None]


@dataclass(frozen=True)
class _Registered:
    order: int
    name: str
    func: SectionFunc


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    html: str


_sections: dict[str, _Registered] = {}


def register_case_section(*, order: int) -> Callable[[SectionFunc], SectionFunc]:
    def register(func: SectionFunc) -> SectionFunc:
        name = f"{func.__module__}.{func.__qualname__}"
        _sections[name] = _Registered(order=order, name=name, func=func)
        return func

    return register


def case_sections(request: HttpRequest, case) -> list[Section]:
    sections = []
    for registered in sorted(_sections.values(), key=lambda r: (r.order, r.name)):
        answer = registered.func(request, case)
        if answer is None:
            continue
        sections.append(
            Section(
                id=answer["id"],
                title=str(answer["title"]),
                html=render_to_string(answer["template"], answer.get("context") or {}, request=request),
            )
        )
    return sections
