"""Lido on Ethereum: stETH share accounting, oracle-report rebases, staking APR and the TVL adapter."""
