"""Protocol risk: curated facts (audits, incidents, insurance, bounties), governance health, oracle and economic
exposure, and the transparent score over six pillars with its change log (docs/risk.md)."""
