"""Where `wf` finds the controller and its token.

In order: a flag (`--controller`, `--token`), the environment
(WF_CONTROLLER_URL, WF_TOKEN), then the config file `config.json` in the
user's config directory (`~/.config/wf/` on Linux, as click.get_app_dir
says), which `wf login` writes with mode 0600 and `wf logout` clears.

The app of a command is `-a APP`, else the one recorded for the current
directory or a parent in a `.wf-app` file (`wf apps create --here`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import click

DEFAULT_CONTROLLER = "http://127.0.0.1:8000"
APP_FILE = ".wf-app"


@dataclass
class ClientConfig:
    controller: str | None = None
    token: str | None = None
    username: str | None = None


def config_path() -> Path:
    return Path(click.get_app_dir("wf")) / "config.json"


def load_config() -> ClientConfig:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return ClientConfig()
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} is not a JSON object; delete it and `wf login`")
    return ClientConfig(
        controller=_text(data.get("controller")),
        token=_text(data.get("token")),
        username=_text(data.get("username")),
    )


def save_config(config: ClientConfig) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    # Created 0600 from the start: the file holds a token.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(config), handle, indent=2)
    os.replace(temporary, path)
    return path


def app_for_directory(start: Path | None = None) -> str | None:
    directory = (start or Path.cwd()).resolve()
    for candidate in (directory, *directory.parents):
        marker = candidate / APP_FILE
        if marker.is_file():
            return marker.read_text().strip() or None
    return None


def remember_app(app: str, directory: Path | None = None) -> Path:
    path = (directory or Path.cwd()) / APP_FILE
    path.write_text(app + "\n")
    return path


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
