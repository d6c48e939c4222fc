"""`python -m logger`: the logger alone, configured from the environment."""

from __future__ import annotations

import logging
import os

from aiohttp import web

from logger.app import create_app
from logger.config import LoggerSettings


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = LoggerSettings.from_env(os.environ)
    web.run_app(create_app(settings), host=settings.api.host, port=settings.api.port)


if __name__ == "__main__":
    main()
