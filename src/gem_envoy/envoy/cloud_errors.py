"""What can go wrong when asking Enphase's cloud for a token, one class per thing to do.

The messages say what happened and what the person should do, in the words of the product's
README. They never quote the e-mail address or the password: those are the person's secrets,
and the host would mask them anyway.
"""

from __future__ import annotations

from gem_envoy.envoy.errors import EnvoyError

ENTREZ_PAGE = "https://entrez.enphaseenergy.com"


class CloudError(EnvoyError):
    """Root of every error of the cloud client."""


class WrongCredentials(CloudError):
    """Enlighten refused the e-mail address and password (401)."""

    def __init__(self) -> None:
        super().__init__(
            "Enlighten sign-in refused: wrong email or password (use those of "
            "enlighten.enphaseenergy.com)"
        )


class MfaRequired(CloudError):
    """The account signs in with a one-time code: automatic renewal cannot work for it."""

    def __init__(self) -> None:
        super().__init__(
            "the Enlighten account uses multi-factor sign-in, so tokens cannot be renewed "
            f"automatically: mint a token by hand at {ENTREZ_PAGE} (Generate Token for this "
            "gateway's serial) and set it as the device's token"
        )


class TooManySessions(CloudError):
    """Enlighten limits the sessions an account may have open; this sign-in was one too many."""

    def __init__(self) -> None:
        super().__init__(
            "Enlighten refused the sign-in: too many active sessions on this account; sign out "
            "of the Enphase app or website elsewhere, or wait for old sessions to lapse"
        )


class SerialNotOnAccount(CloudError):
    """The account signed in, but Enphase will not mint a token for this gateway serial."""

    def __init__(self, serial: str) -> None:
        super().__init__(
            f"gateway {serial} is not on this Enlighten account: check the serial (printed on "
            "the unit; Enlighten: System > Devices > Gateway) or use the account that owns "
            "the system"
        )
        self.serial = serial


class CloudUnreachable(CloudError):
    """The cloud could not be reached, did not answer in time, or answered 5xx."""


class CloudRefused(CloudError):
    """Any other refusal or unusable answer; the message quotes what the cloud said."""


class SessionExpired(CloudError):
    """The Enlighten session used to fetch a token is no longer valid: sign in again."""

    def __init__(self) -> None:
        super().__init__("the Enlighten session expired; a new sign-in is needed")
