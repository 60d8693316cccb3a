"""Shared plumbing: configuration, storage dialect, access checks, audit, errors."""
