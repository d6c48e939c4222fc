"""`python -m logger`: the logger alone, configured from the environment."""

from __future__ import annotations

import logging
import os

from aiohttp import web

from logger.app import create_app
from logger.config import LoggerSettings
from logger.gc_tuning import tune_garbage_collector


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = LoggerSettings.from_env(os.environ)
    app = create_app(settings)
    tune_garbage_collector()
    web.run_app(app, host=settings.api.host, port=settings.api.port)


if __name__ == "__main__":
    main()
