"""The password policy, after NIST SP 800-63B (5.1.1.2): a length range, a
list of common and breached passwords, context words, and no composition
rules (no "one digit and one symbol": they make passwords harder to remember,
not to guess).

The list is zxcvbn's `passwords` frequency list (MIT licence; 30,000 of the
most common passwords of the Xato corpus of 10 million leaked ones), shipped
inside the `zxcvbn` package: no network at start or at check. Comparisons are
case-insensitive, after Unicode NFKC normalisation (as 800-63B asks), so
`Password1` is as refused as `password1`.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from itertools import pairwise

from controller.errors import BadRequest

MIN_PASSWORD_LENGTH = 8
# NIST asks for at least 64; the bound is the request body's business beyond.
MAX_PASSWORD_LENGTH = 1024
# Words of this service that make a password easy to guess here.
CONTEXT_WORDS = frozenset({"workflow", "drycc", "controller", "wfcontroller"})
# The longest run of consecutive characters (abcd..., 1234..., or down) that
# may be the whole password.
_SEQUENCE_STEP = (1, -1)


@cache
def common_passwords() -> frozenset[str]:
    # Imported on first use: the list is a 790 KB module (about 45 ms to load).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def normalised(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, username: str) -> None:
    """BadRequest saying why, when `password` is not acceptable for `username`."""
    text = normalised(password)
    if len(text) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(text) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    folded = text.casefold()
    if folded == username.casefold():
        raise BadRequest("password must not be the username")
    if folded in common_passwords() or folded in CONTEXT_WORDS:
        raise BadRequest("password is too common (it is on a list of leaked passwords)")
    if len(set(folded)) == 1:
        raise BadRequest("password must not be one character repeated")
    if _is_sequence(folded):
        raise BadRequest("password must not be a sequence such as abcdefgh or 87654321")


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return len(steps) == 1 and steps <= set(_SEQUENCE_STEP)
