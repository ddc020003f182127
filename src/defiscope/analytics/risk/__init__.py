"""Protocol risk: curated facts (audits, incidents, insurance, bounties) now; the transparent score next."""
