"""Replays the attacks of the hardening issue (cases 1-18) against a running
`wf serve` on loopback, with a legitimate client sending beside each one.

    python -m bench.attacks [--case NAME ...]

Per case it prints the server's health latency (worst of a probe every
50 ms), the legitimate client's lines lost (must be 0) and ack latency
(median and worst), the server's RSS (peak during the case), and a line
saying what the server did. The server runs with a shared key and
`ulimit -n 1024` (soft and hard), as in the issue; cases that need another
setting (TLS, an empty database, closed registration, drains allowed to
reach loopback) get a server of their own. Every case is bounded in
connections, bytes and time; loopback only. One module per surface:
`forward` (1-7), `follows` (8-10), `auth` (11-16), `drains` (17-18).
"""

from __future__ import annotations

from bench.attacks.auth import CASES as AUTH_CASES
from bench.attacks.drains import CASES as DRAIN_CASES
from bench.attacks.follows import CASES as FOLLOW_CASES
from bench.attacks.forward import CASES as FORWARD_CASES
from bench.attacks.harness import Case

CASES: list[Case] = [*FORWARD_CASES, *FOLLOW_CASES, *AUTH_CASES, *DRAIN_CASES]
