from django.core.management.base import BaseCommand, CommandError

from loanops.core.exceptions import ApplicationError
from loanops.org.services.api_clients import api_client_create


class Command(BaseCommand):
    help = "Create (or re-key) a core-banking API client; prints its token as the last word."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--branch", action="append", default=[], help="Limit the client to this branch (repeat).")
        parser.add_argument(
            "--days", type=int, default=None, help="Token lifetime in days (default API_TOKEN_TTL_DAYS)."
        )

    def handle(self, *args, name, branch, days, **options):
        try:
            client, token, expiry = api_client_create(name=name, branch_codes=branch, ttl_days=days)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.extra}") from exc
        scope = ", ".join(branch) if branch else "all branches"
        self.stdout.write(f"API client {client.username} ({scope}), expires {expiry:%Y-%m-%d}. Token: {token}")
