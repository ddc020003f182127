"""The HTTP API: FastAPI app with /v1, DefiLlama- and CoinGecko-compatible routes, keys and rate limits.

from defiscope.api import ApiSettings, create_app
app = create_app(ApiSettings.from_env(anonymous=False))
"""

from defiscope.api.app import create_app
from defiscope.api.context import Live
from defiscope.api.settings import ApiSettings

__all__ = ["ApiSettings", "Live", "create_app"]
