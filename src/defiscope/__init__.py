"""defiscope: DeFi analytics read straight from EVM chains."""

__version__ = "0.1.0"
