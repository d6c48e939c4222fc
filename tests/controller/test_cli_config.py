"""Where `wf` finds the controller, the token and the app."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from controller.cli.client import connect, resolve_app
from controller.cli.config import (
    ClientConfig,
    app_for_directory,
    config_path,
    load_config,
    remember_app,
    save_config,
)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_flag_then_saved_then_default(config_home: Path) -> None:
    assert connect(None, None).url == "http://127.0.0.1:8000"
    assert connect(None, None).token is None
    path = save_config(ClientConfig(controller="http://saved:8000/", token="wf_saved"))
    assert path == config_home / "wf" / "config.json" == config_path()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (connect(None, None).url, connect(None, None).token) == ("http://saved:8000", "wf_saved")
    flagged = connect("http://flag:1", "wf_flag")
    assert (flagged.url, flagged.token) == ("http://flag:1", "wf_flag")
    assert load_config() == ClientConfig("http://saved:8000/", "wf_saved", None)


def test_a_broken_config_file_is_a_clear_error(config_home: Path) -> None:
    (config_home / "wf").mkdir(parents=True)
    (config_home / "wf" / "config.json").write_text("[1]")
    with pytest.raises(click.ClickException, match="is not a JSON object"):
        load_config()


def test_app_of_the_directory_or_a_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    assert app_for_directory(nested) is None
    remember_app("shop", project)
    assert app_for_directory(nested) == "shop"
    monkeypatch.chdir(nested)
    assert resolve_app(None) == "shop"
    assert resolve_app("other") == "other"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(click.ClickException, match="no app given"):
        resolve_app(None)
