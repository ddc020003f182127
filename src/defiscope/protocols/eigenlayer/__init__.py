"""EigenLayer: restaked LSTs per strategy, natively restaked ETH, operators and their delegated shares."""
