from __future__ import annotations

import pytest

from logger.config import LoggerSettings
from logger.errors import SettingsError


def test_defaults() -> None:
    settings = LoggerSettings.from_env({})
    assert settings.forward.port == 24224
    assert settings.api.port == 8088
    assert settings.api.host == "127.0.0.1"  # no auth of its own: loopback unless told
    assert settings.store.lines_per_app == 1000
    assert settings.max_line_bytes == 16384
    assert settings.forward.handshake is None


def test_sizes_and_overrides() -> None:
    settings = LoggerSettings.from_env(
        {
            "WF_LOGGER_MAX_BUFFER_BYTES": "64MiB",
            "WF_FORWARD_MAX_FRAME_BYTES": "1m",
            "WF_LOGGER_LINES_PER_APP": "50",
            "WF_FORWARD_SHARED_KEY": "s3cret",
            "WF_FORWARD_USERS": "alice:pw1,bob:pw2",
        }
    )
    assert settings.store.max_bytes == 64 << 20
    assert settings.forward.max_frame_bytes == 1 << 20
    assert settings.store.lines_per_app == 50
    assert settings.forward.handshake is not None
    assert settings.forward.handshake.users == {b"alice": b"pw1", b"bob": b"pw2"}
    assert "s3cret" not in repr(settings)
    assert "pw1" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WF_FORWARD_PORT", "http"),
        ("WF_FORWARD_PORT", "70000"),
        ("WF_LOGGER_LINES_PER_APP", "0"),
        ("WF_LOGGER_MAX_BUFFER_BYTES", "lots"),
        ("WF_FORWARD_IDLE_TIMEOUT", "-1"),
        ("WF_FORWARD_USERS", "nopassword"),
        ("WF_FORWARD_TLS_CERT", "/nonexistent/cert.pem"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str) -> None:
    environ = {variable: value}
    if variable == "WF_FORWARD_USERS":
        environ["WF_FORWARD_SHARED_KEY"] = "k"
    with pytest.raises(SettingsError, match=variable):
        LoggerSettings.from_env(environ)
