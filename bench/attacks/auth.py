"""Controller and auth (cases 11-16): the first registrations, password
guessing, argon2 spent unauthenticated, timing, state files, password
policy. The controller limits per client address, so each attacker comes
from loopback addresses of its own (127.0.0.x), never the legitimate
client's."""

from __future__ import annotations

import stat
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.attacks.harness import STRONG_PASSWORD, Case, http_from, register
from bench.serve_process import Server


def post(server: Server, path: str, body: dict[str, Any], source: str) -> httpx.Response:
    with http_from(source) as client:
        return client.post(f"{server.controller_url}{path}", json=body)


def new_user(name: str, password: str = STRONG_PASSWORD) -> dict[str, str]:
    return {"username": name, "password": password, "email": f"{name}@example.com"}


def concurrent_registrations(server: Server, count: int = 5) -> list[httpx.Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(
            pool.map(
                lambda n: post(server, "/v2/auth/register", new_user(f"first{n}"), f"127.0.11.{n}"),
                range(1, count + 1),
            )
        )


def verdict_of_registrations(answers: list[httpx.Response]) -> str:
    registered = [answer for answer in answers if answer.status_code == 201]
    admins = sum(1 for answer in registered if answer.json().get("is_superuser"))
    refused = Counter(answer.status_code for answer in answers if answer.status_code != 201)
    return (
        f"{len(answers)} concurrent registrations on an empty database: {len(registered)}"
        f" registered, {admins} admin, refused {dict(refused)}"
    )


def bootstrap_race(server: Server) -> str:
    return verdict_of_registrations(concurrent_registrations(server))


def bootstrap_race_closed(server: Server) -> str:
    return "registration disabled; " + verdict_of_registrations(concurrent_registrations(server))


def parallel_wrong_passwords(server: Server) -> str:
    register(server, "victim12", "127.0.12.1")
    wrong = {"username": "victim12", "password": "not the password at all"}
    with ThreadPoolExecutor(40) as pool:
        answers = list(
            pool.map(lambda _: post(server, "/v2/auth/login", wrong, "127.0.12.66"), range(40))
        )
    statuses = Counter(answer.status_code for answer in answers)
    real = post(server, "/v2/auth/login", {"username": "victim12", "password": STRONG_PASSWORD},
                "127.0.12.1")  # fmt: skip
    return (
        f"40 parallel wrong passwords from one address: {dict(sorted(statuses.items()))};"
        f" the real user from their own address then: {real.status_code}"
    )


def timed_post(server: Server, path: str, body: dict[str, Any], source: str) -> tuple[int, float]:
    with http_from(source) as client:
        started = time.perf_counter()
        answer = client.post(f"{server.controller_url}{path}", json=body)
        return answer.status_code, (time.perf_counter() - started) * 1000


def register_while_closed(server: Server) -> str:
    """After the bootstrap (case 11's), registrations are refused: before
    any argon2, and past WF_REGISTER_ATTEMPTS an address is limited."""
    answers = [
        timed_post(server, "/v2/auth/register", new_user(f"late{n}"), "127.0.13.1")
        for n in range(15)
    ]
    forbidden = [ms for status, ms in answers if status == 403]
    limited = sum(1 for status, _ in answers if status == 429)
    login = [
        timed_post(server, "/v2/auth/login", {"username": "first1", "password": "wrong!wrong"},
                   f"127.0.13.{10 + n}")[1]
        for n in range(5)
    ]  # fmt: skip
    return (
        f"15 registrations from one address while closed: {len(forbidden)} refused 403"
        f" (p50 {statistics.median(forbidden or [0]):.1f} ms), {limited} limited 429;"
        f" a login's one argon2 verification takes p50 {statistics.median(login):.1f} ms here"
    )


def login_timing(server: Server) -> str:
    register(server, "known14", "127.0.14.1")
    known: list[float] = []
    unknown: list[float] = []
    for n in range(120):  # every attempt from its own address: no limiter in the way
        name = "known14" if n % 2 else f"nobody{n}"
        _, ms = timed_post(
            server, "/v2/auth/login", {"username": name, "password": "wrong password 14"},
            f"127.0.14.{10 + n}",
        )  # fmt: skip
        (known if n % 2 else unknown).append(ms)
    k, u = statistics.median(known), statistics.median(unknown)
    return (
        f"wrong passwords, known user p50 {k:.1f} ms, unknown user p50 {u:.1f} ms"
        f" (ratio {k / u:.2f})"
    )


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}" if path.exists() else "absent"


def state_file_modes(server: Server) -> str:
    state = server.directory / "state"
    files = [state / "controller.db", state / "controller.db-wal", state / "secret.key"]
    shown = ", ".join(f"{path.name} {mode(path)}" for path in files if path.exists())
    return f"state folder {mode(state)}: {shown}"


WEAK = [
    ("weak16a", "password"),
    ("weak16b", "12345678"),
    ("weak16c", " " * 8),
    ("mallory16", "mallory16"),
    ("short16", "abc123"),
]


def password_policy(server: Server) -> str:
    weak = [
        post(server, "/v2/auth/register", new_user(name, password), f"127.0.16.{n}").status_code
        for n, (name, password) in enumerate(WEAK, start=1)
    ]
    alice = post(server, "/v2/auth/register", new_user("Alice16"), "127.0.16.20").status_code
    lower = post(server, "/v2/auth/register", new_user("alice16"), "127.0.16.21").status_code
    return (
        f"{len(WEAK)} weak passwords (password, 12345678, 8 spaces, the username, 6 characters):"
        f" answered {weak}; Alice16 then alice16: {alice}, {lower}"
    )


CASES = [
    Case(11, "bootstrap_race", bootstrap_race, server="bootstrap"),
    Case(11, "bootstrap_race_closed", bootstrap_race_closed, server="closed"),
    Case(12, "parallel_wrong_passwords", parallel_wrong_passwords),
    Case(13, "register_while_closed", register_while_closed, server="closed"),
    Case(14, "login_timing", login_timing),
    Case(15, "state_file_modes", state_file_modes),
    Case(16, "password_policy", password_policy),
]
