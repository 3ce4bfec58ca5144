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
