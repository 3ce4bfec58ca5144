"""Service accounts for core banking: one user per client, one hashed, expiring token."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from knox.models import AuthToken

from loanops.core.exceptions import ValidationFailed
from loanops.org.models import Branch, Role, User


@transaction.atomic
def api_client_create(*, name: str, branch_codes: list[str], ttl_days: int | None = None) -> tuple[User, str, datetime]:
    """Create the client NAME (or re-key it: every older token is revoked). Returns (user, token, expiry)."""
    branches = list(Branch.objects.filter(code__in=branch_codes))
    missing = sorted(set(branch_codes) - {b.code for b in branches})
    if missing:
        raise ValidationFailed(
            "Unknown branch.", extra={"branch": [f"No branch with code {code!r}." for code in missing]}
        )
    user, created = User.objects.get_or_create(username=name, defaults={"role": Role.API_CLIENT})
    if not created and user.role != Role.API_CLIENT:
        raise ValidationFailed(_("Name taken."), extra={"name": [f"{name!r} is a staff user, not an API client."]})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.branches.set(branches)
    AuthToken.objects.filter(user=user).delete()
    ttl = timedelta(days=ttl_days or settings.API_TOKEN_TTL_DAYS)
    instance, token = AuthToken.objects.create(user=user, expiry=ttl)
    return user, token, instance.expiry
