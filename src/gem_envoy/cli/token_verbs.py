"""`gem-envoy token mint` and `gem-envoy token show`: a gateway token without the Entrez page.

`mint` signs in to Enlighten (the password from a file, never from argv) and writes the token
to a file only its owner can read; `show` reads a token file and prints what the token says
about itself. Neither ever prints the token.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

from gem_envoy.cli.output import print_json
from gem_envoy.cli.parsing import UsageError, read_secret_file
from gem_envoy.envoy.cloud import EnlightenSession
from gem_envoy.envoy.cloud_endpoints import CloudEndpoints
from gem_envoy.envoy.token import TokenClaims, read_claims
from gem_envoy.host.redact import LOG_SCRUBBER, secret_texts


def described(claims: TokenClaims) -> dict[str, object]:
    """The claims as a person reads them: role, gateway, when issued and until when."""
    now = datetime.now(UTC)
    expires = claims.expires_at
    return {
        "type": claims.user_type,
        "serial": claims.audience,
        "issued_at": claims.issued_at.isoformat() if claims.issued_at else None,
        "expires_at": expires.isoformat() if expires else None,
        "days_left": round((expires - now).total_seconds() / 86_400, 1) if expires else None,
        "expired": claims.expired(now),
    }


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only (0600) from the first byte, replacing a file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # an existing file keeps its mode otherwise
        file.write(text + "\n")


def cmd_mint(args: argparse.Namespace) -> int:
    serial = args.serial.strip()
    if not serial.isalnum():
        raise UsageError(f"--serial must be the gateway's serial number, not {args.serial!r}")
    password = read_secret_file(args.password_file, "password")
    LOG_SCRUBBER.add(secret_texts(password))
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out: the directory {out.parent} does not exist")
    session = EnlightenSession(args.email, password, CloudEndpoints.from_env())
    minted = asyncio.run(session.mint(serial))
    LOG_SCRUBBER.add(secret_texts(minted.token))
    write_private(out, minted.token)
    print_json({"written": str(out), **described(minted.claims)})
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    token = read_secret_file(args.token_file, "token")
    LOG_SCRUBBER.add(secret_texts(token))
    print_json(described(read_claims(token)))
    return 0


def add_token_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = verbs.add_parser("token", help="mint a gateway token from Enlighten, or show one")
    actions = token.add_subparsers(dest="token_action", required=True, metavar="ACTION")

    mint = actions.add_parser(
        "mint", help="sign in to Enlighten and write a token for a gateway to a file (0600)"
    )
    mint.add_argument("--serial", required=True, help="the gateway's serial number")
    mint.add_argument("--email", required=True, help="the Enlighten account's e-mail address")
    mint.add_argument(
        "--password-file", required=True, help="file holding the password (never in argv)"
    )
    mint.add_argument("--out", required=True, help="file to write the token to (mode 0600)")
    mint.set_defaults(handler=cmd_mint)

    show = actions.add_parser("show", help="what a token says: type, gateway, expiry")
    show.add_argument("--token-file", required=True, help="file holding the token")
    show.set_defaults(handler=cmd_show)
