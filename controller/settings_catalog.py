"""Every settings class of the services `wf serve` runs, by component.

The one list the `wf serve` flags and docs/settings.md are derived from: a
setting declared in one of these classes gets its row in the docs (and its
flag, if declared with one) without being written down anywhere else.
"""

from __future__ import annotations

from typing import Any

from collectors.kubernetes.settings import WatcherSettings
from controller.cli.workers import WorkerSettings
from controller.settings import ControllerSettings
from foundation.settings import Setting, declarations
from foundation.settings_docs import render
from logger.config import ApiSettings, LoggerSettings
from logger.drains.settings import DrainSettings
from logger.forward.settings import ForwardSettings
from logger.history.settings import HistorySettings
from logger.store.memory import StoreSettings
from logger.store.redis_settings import RedisSettings
from metrics.settings import MetricsSettings

# (component, settings class), in the order of the docs and of `wf serve --help`.
CATALOG: tuple[tuple[str, type[Any]], ...] = (
    ("logger.forward", ForwardSettings),
    ("logger.store", StoreSettings),
    ("logger.store.redis", RedisSettings),
    ("logger.api", ApiSettings),
    ("logger", LoggerSettings),
    ("wf serve", WorkerSettings),
    ("logger.drains", DrainSettings),
    ("logger.history", HistorySettings),
    ("controller", ControllerSettings),
    ("collectors.kubernetes", WatcherSettings),
    ("metrics", MetricsSettings),
)


def all_settings() -> list[tuple[Setting[Any], list[str]]]:
    """Each declaration once, with the components that read it."""
    found: dict[int, tuple[Setting[Any], list[str]]] = {}
    for component, cls in CATALOG:
        for _, setting in declarations(cls):
            entry = found.setdefault(id(setting), (setting, []))
            if component not in entry[1]:
                entry[1].append(component)
    return list(found.values())


def flagged_settings() -> list[tuple[str, Setting[Any]]]:
    """(flag, setting) of each setting `wf serve` takes as a flag, in catalog order."""
    return [(setting.flag, setting) for setting, _ in all_settings() if setting.flag is not None]


def settings_doc() -> str:
    """docs/settings.md as the declarations have it."""
    return render(all_settings())


if __name__ == "__main__":  # `make settings-docs`
    print(settings_doc(), end="")
