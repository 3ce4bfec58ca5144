"""Environment readers: strict booleans and `X_FILE` secrets (healthchecks' envsecret)."""

from pathlib import Path

import environ

env = environ.Env()


def env_secret(name: str, *, default=environ.Env.NOTSET) -> str:
    """Read NAME, or the contents of the file named by NAME_FILE."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        return Path(file_name).read_text().strip()
    return env.str(name, default=default)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, *, default: bool) -> bool:
    """A strict boolean: anything but true/false/1/0/yes/no/on/off is a configuration error."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")
    return value in _TRUE
