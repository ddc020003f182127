"""Aave V3: exact rate math (`rates`), the TVL adapter (`adapter`), account positions (`positions`)."""
