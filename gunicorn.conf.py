"""Gunicorn settings, read from the working directory (`make run`, `make bench`, deployments
started from the project folder). Command-line flags still win."""

import gc


def post_worker_init(worker) -> None:
    """The application is loaded: take its long-lived objects (modules, URL patterns, models)
    out of the garbage collector's sweeps, and sweep the youngest objects less often. A bulk
    payment post creates hundreds of thousands of short-lived objects; with the default
    threshold the collector ran hundreds of times per request, rescanning everything alive."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
