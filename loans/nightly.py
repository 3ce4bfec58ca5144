"""Nightly steps of the loans app."""
