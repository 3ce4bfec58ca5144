"""Writes on the branch tree."""

from django.db import transaction
from django.db.models import F, Func, Value
from django.utils.translation import gettext as _

from loanops.core.exceptions import ValidationFailed
from loanops.org.models import Branch


@transaction.atomic
def branch_upsert(*, code: str, name: str, parent_code: str | None, acting_user=None) -> tuple[Branch, bool]:
    """Create or update the branch CODE under PARENT_CODE; re-paths its subtree when it moves."""
    parent = None
    if parent_code:
        parent = Branch.objects.select_for_update().filter(code=parent_code).first()
        if parent is None:
            raise ValidationFailed(_("Unknown parent."), extra={"parent": [f"No branch with code {parent_code!r}."]})
    branch = Branch.objects.select_for_update().filter(code=code).first()
    created = branch is None
    if parent is not None and not created and (parent.id == branch.id or parent.path.startswith(branch.path)):
        raise ValidationFailed(
            "Cycle.", extra={"parent": [_("A branch cannot be placed under itself or its descendants.")]}
        )
    path = f"{parent.path if parent else ''}{code}/"
    depth = parent.depth + 1 if parent else 0
    if created:
        branch = Branch(code=code)
    old_path = branch.path
    branch.name, branch.parent, branch.path, branch.depth = name, parent, path, depth
    branch.full_clean()
    branch.save()
    if not created and old_path != path:
        # Move the whole subtree: replace the old prefix in every descendant's path.
        descendants = Branch.objects.filter(path__startswith=old_path).exclude(id=branch.id)
        descendants.update(
            path=Func(Value(path), Func(F("path"), len(old_path) + 1, function="substr"), function="concat"),
            depth=F("depth") + (depth - old_path.count("/") + 1),
        )
    return branch, created
