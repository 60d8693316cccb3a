"""Townhall: a self-hosted workbench for the people who run a brand's social presence and community."""

__version__ = "0.1.0"
