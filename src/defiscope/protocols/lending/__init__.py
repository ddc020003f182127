"""Shared pieces of lending and CDP protocols: fixed-point rate helpers (`rates`) and liquidation risk (`risk`)."""
