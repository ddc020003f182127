"""Curve: exact StableSwap math (`math`) and the pool adapter (`adapter`)."""
