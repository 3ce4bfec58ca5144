from django.core.management.base import BaseCommand

from loanops.core.demo import API_CLIENT_NAME, DEMO_PASSWORD, demo_logins
from loanops.org.models import Role


class Command(BaseCommand):
    help = "Print the URL and one demo login per role (every demo user has the same documented password)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the site answers.")

    def handle(self, *args, url: str, **options):
        rows = demo_logins()
        if not rows:
            self.stdout.write(f"LoanOps at {url}: no demo users yet; run `python manage.py seed_demo` first.")
            return
        header = ("Role", "Username", "Password", "Name", "Sees")
        table = [
            (
                str(role.label),
                user.username,
                "(API token, see below)" if role == Role.API_CLIENT else DEMO_PASSWORD,
                user.get_full_name() or "—",
                "all branches"
                if user.sees_all_branches
                else ", ".join(b.code for b in user.branches.all()) or "all branches",
            )
            for role, user in rows
        ]
        widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]

        def line(cells) -> str:
            return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write(f"LoanOps demo: {url}")
        self.stdout.write(f"Every demo user's password: {DEMO_PASSWORD}")
        self.stdout.write("")
        self.stdout.write(line(header))
        self.stdout.write(line("-" * width for width in widths))
        for row in table:
            self.stdout.write(line(row))
        self.stdout.write("")
        self.stdout.write(
            f"API: `python manage.py create_api_client {API_CLIENT_NAME}` prints a token "
            "(and revokes the previous one); send it as `Authorization: Token <key>`."
        )
