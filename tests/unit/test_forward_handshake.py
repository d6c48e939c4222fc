"""The shared-key handshake: HELO, PING, PONG, checked against hashlib directly."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import msgpack
import pytest

from logger.errors import HandshakeFailed
from logger.forward.client import check_pong
from logger.forward.handshake import HandshakeSettings, ServerHandshake, client_ping

if TYPE_CHECKING:
    from collections.abc import Callable

SHARED_KEY = b"shared-key-0123"
NONCE = b"\x00\x01nonce\xff\xfe-bytes!"
AUTH_SALT = b"auth-salt-\x80\x81"
KEY_SALT = b"client-key-salt"
SERVER = "logger-0.logger.drycc"
CLIENT = "fluent-bit-node-1"


def sha512_hex(*parts: bytes) -> str:
    return hashlib.sha512(b"".join(parts)).hexdigest()


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def decoded_helo(handshake: ServerHandshake) -> object:
    return msgpack.unpackb(handshake.helo(), raw=False)


def server(
    users: dict[bytes, bytes] | None = None, auth_salt: bytes | None = None
) -> ServerHandshake:
    settings = HandshakeSettings(shared_key=SHARED_KEY, server_hostname=SERVER, users=users or {})
    return ServerHandshake(settings, nonce=NONCE, auth_salt=auth_salt)


def pong_of(pong: bytes) -> list[object]:
    decoded = msgpack.unpackb(pong, raw=False)
    assert isinstance(decoded, list)
    return decoded


def accepted_pong(key_salt: bytes) -> list[object]:
    return ["PONG", True, "", SERVER, sha512_hex(key_salt, SERVER.encode(), NONCE, SHARED_KEY)]


# --- HELO -------------------------------------------------------------------------------


def test_helo_without_users() -> None:
    helo = server().helo()
    assert msgpack.unpackb(helo, raw=False) == [
        "HELO",
        {"nonce": NONCE, "auth": b"", "keepalive": True},
    ]
    assert helo == pack(["HELO", {"nonce": NONCE, "auth": b"", "keepalive": True}])


def test_helo_with_users_has_an_auth_salt() -> None:
    helo = msgpack.unpackb(server({b"alice": b"pw"}, auth_salt=AUTH_SALT).helo(), raw=False)
    assert helo == ["HELO", {"nonce": NONCE, "auth": AUTH_SALT, "keepalive": True}]


def test_helo_generates_fresh_nonce_and_salt() -> None:
    settings = HandshakeSettings(shared_key=SHARED_KEY, users={b"alice": b"pw"})
    first = msgpack.unpackb(ServerHandshake(settings).helo(), raw=False)[1]
    second = msgpack.unpackb(ServerHandshake(settings).helo(), raw=False)[1]
    assert len(first["nonce"]) == 16
    assert len(first["auth"]) == 16
    assert first["nonce"] != second["nonce"]
    assert first["auth"] != second["auth"]
    assert first["keepalive"] is True
    no_users = msgpack.unpackb(
        ServerHandshake(HandshakeSettings(shared_key=SHARED_KEY)).helo(), raw=False
    )[1]
    assert no_users["auth"] == b""
    assert len(no_users["nonce"]) == 16


# --- PING and PONG ----------------------------------------------------------------------


def test_client_ping_is_accepted() -> None:
    handshake = server()
    sent = client_ping(decoded_helo(handshake), SHARED_KEY, CLIENT, key_salt=KEY_SALT)
    ping, salt = sent.frame, sent.key_salt
    assert salt == KEY_SALT
    assert msgpack.unpackb(ping, raw=False) == [
        "PING",
        CLIENT,
        KEY_SALT,
        sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY),
        b"",
        "",
    ]
    outcome = handshake.check_ping(ping)
    assert outcome.authenticated is True
    assert outcome.reason == ""
    assert pong_of(outcome.pong) == accepted_pong(KEY_SALT)


def test_client_ping_with_a_random_salt() -> None:
    handshake = server()
    sent = client_ping(decoded_helo(handshake), SHARED_KEY, CLIENT)
    ping, salt = sent.frame, sent.key_salt
    assert len(salt) == 16
    outcome = handshake.check_ping(ping)
    assert outcome.authenticated is True
    assert pong_of(outcome.pong) == accepted_pong(salt)


def test_hand_built_ping_is_accepted() -> None:
    # The PING built from the protocol's formula alone, not from client_ping.
    digest = sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY)
    outcome = server().check_ping(pack(["PING", CLIENT, KEY_SALT, digest, "", ""]))
    assert outcome.authenticated is True
    assert pong_of(outcome.pong) == accepted_pong(KEY_SALT)


def test_uppercase_digest_is_accepted() -> None:
    digest = sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY).upper()
    outcome = server().check_ping(pack(["PING", CLIENT, KEY_SALT, digest, "", ""]))
    assert outcome.authenticated is True


def test_wrong_shared_key_is_refused() -> None:
    handshake = server()
    ping = client_ping(decoded_helo(handshake), b"not-the-key", CLIENT, key_salt=KEY_SALT).frame
    outcome = handshake.check_ping(ping)
    assert outcome.authenticated is False
    assert outcome.reason == "shared_key mismatch"
    assert pong_of(outcome.pong) == ["PONG", False, "shared_key mismatch", SERVER, ""]


def test_digest_for_another_nonce_is_refused() -> None:
    digest = sha512_hex(KEY_SALT, CLIENT.encode(), b"other nonce", SHARED_KEY)
    outcome = server().check_ping(pack(["PING", CLIENT, KEY_SALT, digest, "", ""]))
    assert (outcome.authenticated, outcome.reason) == (False, "shared_key mismatch")


def test_digest_for_another_hostname_is_refused() -> None:
    digest = sha512_hex(KEY_SALT, b"other-host", NONCE, SHARED_KEY)
    outcome = server().check_ping(pack(["PING", CLIENT, KEY_SALT, digest, "", ""]))
    assert (outcome.authenticated, outcome.reason) == (False, "shared_key mismatch")


USERS = {b"alice": b"correct horse", b"bob": b"battery staple"}


def users_server() -> ServerHandshake:
    return server(USERS, auth_salt=AUTH_SALT)


def test_user_with_right_password_is_accepted() -> None:
    handshake = users_server()
    ping = client_ping(
        decoded_helo(handshake),
        SHARED_KEY,
        CLIENT,
        username=b"bob",
        password=b"battery staple",
        key_salt=KEY_SALT,
    ).frame
    assert msgpack.unpackb(ping, raw=False)[4:] == [
        b"bob",
        sha512_hex(AUTH_SALT, b"bob", b"battery staple"),
    ]
    outcome = handshake.check_ping(ping)
    assert (outcome.authenticated, outcome.reason) == (True, "")
    assert pong_of(outcome.pong) == accepted_pong(KEY_SALT)


def test_hand_built_user_ping_is_accepted() -> None:
    key_digest = sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY)
    password_digest = sha512_hex(AUTH_SALT, b"alice", b"correct horse")
    ping = pack(["PING", CLIENT, KEY_SALT, key_digest, "alice", password_digest])
    outcome = users_server().check_ping(ping)
    assert outcome.authenticated is True
    assert pong_of(outcome.pong) == accepted_pong(KEY_SALT)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (b"alice", b"battery staple"),  # bob's password
        (b"alice", b""),
        (b"alice", b"correct horse "),
        (b"carol", b"correct horse"),  # unknown user
        (b"", b""),
        (b"ALICE", b"correct horse"),
    ],
)
def test_wrong_user_or_password_is_refused(username: bytes, password: bytes) -> None:
    handshake = users_server()
    ping = client_ping(
        decoded_helo(handshake),
        SHARED_KEY,
        CLIENT,
        username=username,
        password=password,
        key_salt=KEY_SALT,
    ).frame
    outcome = handshake.check_ping(ping)
    assert outcome.authenticated is False
    assert outcome.reason == "username/password mismatch"
    assert pong_of(outcome.pong) == ["PONG", False, "username/password mismatch", SERVER, ""]


def test_password_digest_for_another_auth_salt_is_refused() -> None:
    key_digest = sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY)
    password_digest = sha512_hex(b"other salt", b"alice", b"correct horse")
    ping = pack(["PING", CLIENT, KEY_SALT, key_digest, "alice", password_digest])
    outcome = users_server().check_ping(ping)
    assert (outcome.authenticated, outcome.reason) == (False, "username/password mismatch")


def test_wrong_key_is_reported_before_the_user() -> None:
    handshake = users_server()
    ping = client_ping(
        decoded_helo(handshake),
        b"wrong",
        CLIENT,
        username=b"alice",
        password=b"correct horse",
        key_salt=KEY_SALT,
    ).frame
    outcome = handshake.check_ping(ping)
    assert (outcome.authenticated, outcome.reason) == (False, "shared_key mismatch")


def test_user_fields_are_ignored_without_users() -> None:
    key_digest = sha512_hex(KEY_SALT, CLIENT.encode(), NONCE, SHARED_KEY)
    ping = pack(["PING", CLIENT, KEY_SALT, key_digest, "mallory", "not a digest"])
    assert server().check_ping(ping).authenticated is True


def _raw_str(data: bytes) -> bytes:
    """A msgpack str holding bytes that need not be UTF-8."""
    if len(data) < 32:
        return bytes([0xA0 | len(data)]) + data
    assert len(data) < 256
    return bytes([0xD9, len(data)]) + data


@pytest.mark.parametrize("encode", [_raw_str, pack], ids=["str", "bin"])
def test_ping_fields_that_are_not_utf8_are_bytes(encode: Callable[[bytes], bytes]) -> None:
    hostname = b"\xff\xfe"
    key_salt = b"\xc3\x28salt"
    username = b"\xffuser"
    password = b"\xfe\xfd pw"
    handshake = server({username: password}, auth_salt=AUTH_SALT)
    key_digest = sha512_hex(key_salt, hostname, NONCE, SHARED_KEY).encode()
    password_digest = sha512_hex(AUTH_SALT, username, password).encode()
    ping = b"\x96" + b"".join(
        encode(part)
        for part in (b"PING", hostname, key_salt, key_digest, username, password_digest)
    )
    outcome = handshake.check_ping(ping)
    assert (outcome.authenticated, outcome.reason) == (True, "")
    assert pong_of(outcome.pong) == accepted_pong(key_salt)
    wrong = b"\x96" + b"".join(
        encode(part)
        for part in (b"PING", hostname, key_salt, key_digest, b"\xfeuser", password_digest)
    )
    assert handshake.check_ping(wrong).reason == "username/password mismatch"


@pytest.mark.parametrize(
    "frame",
    [
        pack(["HELO", {"nonce": b"n", "auth": b"", "keepalive": True}]),
        pack(["PONG", True, "", "h", "d"]),
        pack(["PING", CLIENT, "salt", "digest", ""]),  # 5 elements
        pack(["PING", CLIENT, "salt", "digest", "", "", ""]),  # 7 elements
        pack(["ping", CLIENT, "salt", "digest", "", ""]),
        pack(["PING", 1, "salt", "digest", "", ""]),
        pack(["PING", CLIENT, None, "digest", "", ""]),
        pack(["PING", CLIENT, "salt", ["digest"], "", ""]),
        pack({"PING": [CLIENT, "salt", "digest", "", ""]}),
        pack("PING"),
        pack(None),
        pack(6),
        pack(["PING", CLIENT, "salt", "digest", "", ""])[:-1],  # truncated
        pack(["PING", CLIENT, "salt", "digest", "", ""]) + b"\xc0",  # trailing bytes
        b"",
        b"\xc1",
        b"\x81\x91\x01\x01",  # {[1]: 1}: a map key that cannot be hashed
        b"\x81\x81\x01\x01\x01",  # {{1: 1}: 1}
        b"\x91" * 2000,
    ],
    ids=[
        "helo",
        "pong",
        "five",
        "seven",
        "lowercase",
        "int-hostname",
        "nil-salt",
        "array-digest",
        "map",
        "str",
        "nil",
        "int",
        "truncated",
        "trailing",
        "empty",
        "c1",
        "array-key",
        "map-key",
        "deep",
    ],
)
def test_non_ping_frame_raises(frame: bytes) -> None:
    with pytest.raises(HandshakeFailed):
        server().check_ping(frame)


@pytest.mark.parametrize(
    "helo",
    [None, "HELO", ["HELO"], ["HELO", "options"], ["HELO", {"nonce": 1}], ["HELO", {}, {}]],
    ids=repr,
)
def test_client_ping_refuses_a_non_helo(helo: object) -> None:
    with pytest.raises(HandshakeFailed):
        client_ping(helo, SHARED_KEY, CLIENT)


def test_client_ping_accepts_a_str_nonce() -> None:
    nonce_text = "nonce\udcff"  # as decoded with unicode_errors="surrogateescape"
    sent = client_ping(
        ["HELO", {"nonce": nonce_text, "auth": ""}], SHARED_KEY, CLIENT, key_salt=KEY_SALT
    )
    ping, salt = sent.frame, sent.key_salt
    assert msgpack.unpackb(ping, raw=False)[3] == sha512_hex(
        KEY_SALT, CLIENT.encode(), b"nonce\xff", SHARED_KEY
    )
    assert salt == KEY_SALT


# --- settings ---------------------------------------------------------------------------


def test_settings_repr_hides_secrets() -> None:
    settings = HandshakeSettings(
        shared_key=b"TOP-SECRET-KEY",
        server_hostname="logger-1",
        users={b"alice": b"hunter2-password", b"bob": b"s3cret-pass"},
    )
    for text in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for secret in ("TOP-SECRET-KEY", "hunter2-password", "s3cret-pass"):
            assert secret not in text
    assert repr(settings) == "HandshakeSettings(server_hostname='logger-1', users=2)"


def test_settings_defaults() -> None:
    settings = HandshakeSettings(shared_key=b"k")
    assert settings.server_hostname == "workflow-logger"
    assert settings.users == {}
    assert repr(settings) == "HandshakeSettings(server_hostname='workflow-logger', users=0)"


def test_check_pong_accepts_the_servers_digest_and_refuses_another() -> None:
    handshake = server()
    sent = client_ping(decoded_helo(handshake), SHARED_KEY, CLIENT, key_salt=KEY_SALT)
    pong = msgpack.unpackb(handshake.check_ping(sent.frame).pong, raw=False)
    assert pong[4] == sha512_hex(KEY_SALT, SERVER.encode(), NONCE, SHARED_KEY)
    check_pong(pong, sent)
    check_pong([*pong[:4], pong[4].upper()], sent)  # hex digits in either case
    forged = sha512_hex(KEY_SALT, SERVER.encode(), NONCE, b"another key")
    for bad in (
        [*pong[:4], forged],
        [*pong[:4], ""],
        [pong[0], pong[1], pong[2], "another-host", pong[4]],
        [*pong[:4], None],
    ):
        with pytest.raises(HandshakeFailed) as raised:
            check_pong(bad, sent)
        assert SHARED_KEY.decode() not in str(raised.value)
    assert SHARED_KEY.decode() not in repr(sent)
