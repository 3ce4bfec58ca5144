import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _manage(*args, **env):
    unwanted = ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG")
    environment = {k: v for k, v in os.environ.items() if k not in unwanted}
    environment.update(DJANGO_SETTINGS_MODULE="loanops.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def test_production_settings_pass_check_deploy_with_zero_warnings():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY="a-long-random-production-secret-" + "x7Qp9" * 10, ALLOWED_HOSTS="loanops.bank.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_has_no_default_secret():
    result = _manage("check", ALLOWED_HOSTS="loanops.bank.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-" + "k3yZ" * 12 + "\n")
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)",
        SECRET_KEY_FILE=str(secret), ALLOWED_HOSTS="x.example",
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == secret.read_text().strip()


def test_malformed_booleans_are_rejected():
    result = _manage("check", DEBUG="perhaps", SECRET_KEY="s" * 60, ALLOWED_HOSTS="x.example")
    assert result.returncode != 0
