"""Compound V2 (cTokens, Comptroller, JumpRateModelV2) and Compound III (Comet): exact math and adapters."""
