"""Developer machine: `make run`. Debug on, console e-mail, a throwaway secret."""

from loanops.settings.base import *  # noqa: F403
from loanops.settings.env import env_bool, env_secret

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env_secret("SECRET_KEY", default="local-only-insecure-key-change-me-in-production-0123456789")
