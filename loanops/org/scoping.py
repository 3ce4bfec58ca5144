"""Branch scoping: the ONE entry point every page, API view, export, PDF and admin list uses.

    for_user(Loan.objects.all(), request.user)

A model says how it reaches its branch with `BRANCH_FIELD` ("branch", "loan__branch", …;
"" for Branch itself). A user sees the branches they belong to and every descendant;
head-office roles, superusers and API clients without branches see everything.
"""

from django.db import connection
from django.db.models import Model, Q, QuerySet

from loanops.org.models import Role

_UNSET = object()


def visible_paths(user) -> list[str] | None:
    """Path prefixes the user may see; None means every branch."""
    if not user or not user.is_authenticated or not user.is_active:
        return []
    if user.sees_all_branches:
        return None
    cached = getattr(user, "_visible_paths", _UNSET)
    if cached is _UNSET:
        cached = getattr(user, "_branch_paths", None)  # read with the API token (loanops.org.auth)
        if cached is None:
            cached = list(user.branches.values_list("path", flat=True))
        if not cached and user.role == Role.API_CLIENT:
            cached = None  # an API client created without --branch sees every branch
        user._visible_paths = cached
    return cached


def for_user(queryset: QuerySet | type[Model], user) -> QuerySet:
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    paths = visible_paths(user)
    if paths is None:
        return qs
    if not paths:
        return qs.none()
    field = getattr(qs.model, "BRANCH_FIELD", "branch")
    lookup = f"{field}__path__startswith" if field else "path__startswith"
    condition = Q()
    for path in paths:
        condition |= Q(**{lookup: path})
    return qs.filter(condition)


def path_patterns(user) -> list[str] | None:
    """What `for_user` filters on, for the few hot paths written in SQL: LIKE patterns of the
    branch paths the user may see (match one: `b.path LIKE ANY(%s)`); None means every branch,
    an empty list none."""
    paths = visible_paths(user)
    if paths is None:
        return None
    return [connection.ops.prep_for_like_query(path) + "%" for path in paths]


def can_see_branch(user, branch) -> bool:
    paths = visible_paths(user)
    return paths is None or any(branch.path.startswith(path) for path in paths)
