"""Adapters: one file per backend, each meeting docs/backend-interface.md."""
