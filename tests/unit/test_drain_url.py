"""Drain URL parsing, validation and redaction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logger.drains.errors import InvalidDrainUrl
from logger.drains.url import HttpFormat, parse_drain_url, redact_url


@pytest.mark.parametrize(
    ("text", "scheme", "transport", "host", "port"),
    [
        ("syslog://logs.example.com", "syslog", "tcp", "logs.example.com", 514),
        ("syslog+tcp://logs.example.com:601", "syslog+tcp", "tcp", "logs.example.com", 601),
        ("syslog+tls://logs.example.com", "syslog+tls", "tls", "logs.example.com", 6514),
        ("SYSLOG+TLS://Logs.Example.com:7000/", "syslog+tls", "tls", "logs.example.com", 7000),
        ("syslog+udp://10.0.0.7", "syslog+udp", "udp", "10.0.0.7", 514),
        ("syslog+tcp://[::1]:5140", "syslog+tcp", "tcp", "::1", 5140),
        ("https://sink.example.com/in", "https", "http", "sink.example.com", 443),
        ("http://sink.example.com:8080/in", "http", "http", "sink.example.com", 8080),
    ],
)
def test_valid_urls_parse_with_default_ports(
    text: str, scheme: str, transport: str, host: str, port: int
) -> None:
    url = parse_drain_url(text)
    assert (url.scheme, url.transport, url.host, url.port) == (scheme, transport, host, port)
    assert url.original == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a drain URL is required"),
        ("logs.example.com:514", "unsupported drain URL scheme; use one of syslog://, "
         "syslog+tcp://, syslog+tls://, syslog+udp://, https://, http://"),
        ("ftp://logs.example.com", "unsupported drain URL scheme 'ftp'; use one of syslog://, "
         "syslog+tcp://, syslog+tls://, syslog+udp://, https://, http://"),
        ("syslog://", "the syslog:// drain URL needs a valid host name"),
        ("syslog://bad_host!:514", "the syslog:// drain URL needs a valid host name"),
        ("syslog+tls://h.io:99999", "the syslog+tls:// drain URL has an invalid host or port"),
        ("syslog://h.io:0", "the syslog:// drain URL for h.io has port 0"),
        ("syslog://h.io/path", "syslog drain URLs have no path or query (h.io)"),
        ("syslog://user:pw@h.io", "syslog drain URLs cannot carry credentials (h.io)"),
        ("https://h.io/x#frag", "the drain URL for h.io must not have a #fragment"),
        ("https://h.io/?format=x", "format= in the drain URL for h.io must be logplex or ndjson"),
        ("https://h.io/a b", "the drain URL contains spaces or control characters"),
        ("https://h.io/" + "a" * 2048, "the drain URL is longer than 2048 characters"),
    ],
)  # fmt: skip
def test_invalid_urls_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(InvalidDrainUrl) as caught:
        parse_drain_url(text)
    assert str(caught.value) == message


def test_credentials_are_split_out_and_redacted() -> None:
    url = parse_drain_url("https://us%40er:p%3Ass@sink.example.com/logs?token=abc&tag=web")
    assert (url.username, url.password) == ("us@er", "p:ss")
    assert url.request_url() == "https://sink.example.com/logs?token=abc&tag=web"
    assert url.redacted() == "https://***@sink.example.com/logs?token=***&tag=***"
    assert str(url) == url.redacted()
    assert repr(url) == "DrainUrl('https://***@sink.example.com/logs?token=***&tag=***')"


def test_format_selects_ndjson_and_is_not_sent() -> None:
    url = parse_drain_url("http://sink.example.com:8080/in?format=ndjson&key=k1")
    assert url.http_format is HttpFormat.NDJSON
    assert url.request_url() == "http://sink.example.com:8080/in?key=k1"
    assert url.redacted() == "http://sink.example.com:8080/in?key=***&format=ndjson"
    assert parse_drain_url("https://h.example.com").http_format is HttpFormat.LOGPLEX


def test_same_destination_has_the_same_key_whatever_the_spelling() -> None:
    def key(text: str) -> tuple[str, ...]:
        return parse_drain_url(text).key

    assert key("syslog+tls://LOGS.example.com") == key("syslog+tls://logs.example.com:6514")
    assert key("syslog://h.example.com") == key("syslog+tcp://h.example.com:514")
    assert key("syslog://h.example.com") != key("syslog+udp://h.example.com")
    assert key("https://h.example.com/x") != key("http://h.example.com:443/x")
    assert key("https://a:b@h.example.com/x") != key("https://a:c@h.example.com/x")


def test_redact_url_of_invalid_text_reveals_nothing() -> None:
    assert redact_url("https://user:hunter2@/nohost") == "<invalid drain URL>"
    assert redact_url("syslog+tls://logs.example.com:6514") == "syslog+tls://logs.example.com:6514"


# The prefix keeps a secret from being, by chance, a word of the message.
secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", max_size=30).map(
    lambda text: "Zq9" + text
)


@given(password=secret, token=secret)
def test_no_secret_survives_in_any_shown_form(password: str, token: str) -> None:
    text = f"https://drainuser:{password}@sink.example.com/logs?api-key={token}"
    url = parse_drain_url(text)
    for shown in (url.redacted(), str(url), repr(url), redact_url(text)):
        assert password not in shown
        assert token not in shown
    assert url.password == password


@given(password=secret)
def test_error_messages_never_repeat_credentials(password: str) -> None:
    for text in (
        f"syslog://user:{password}@logs.example.com",
        f"https://user:{password}@sink.example.com:70000/",
        f"https://user:{password}@sink.example.com/x?format=bogus",
        f"https://user:{password}@sink.example.com/x#{password}",
    ):
        with pytest.raises(InvalidDrainUrl) as caught:
            parse_drain_url(text)
        assert password not in str(caught.value)
