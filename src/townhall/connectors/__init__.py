"""Channels: the connected sources and accounts items come from and go out through."""
