"""A real SMTP server for the account-mail tests (aiosmtpd, unmodified).

Usage: smtp_sink.py PORT USER PASSWORD

It requires authentication (AUTH PLAIN or LOGIN with USER and PASSWORD) before it takes
mail, and prints every message it accepts as one JSON line on stdout: envelope sender and
recipients, subject, the plain-text and HTML parts. "ready" on a line of its own says it
listens.
"""

import json
import signal
import sys
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT, USER, PASSWORD = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()


class Sink:
    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "subject": str(msg["subject"]),
                    "text": plain.get_content() if plain else None,
                    "html": html.get_content() if html else None,
                    "authenticated": bool(session.authenticated),
                }
            ),
            flush=True,
        )
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER and auth_data.password == PASSWORD
    return AuthResult(success=ok)


controller = Controller(
    Sink(),
    hostname="127.0.0.1",
    port=PORT,
    authenticator=authenticate,
    auth_required=True,
    # Loopback only, in a test: the credentials cross no network.
    auth_require_tls=False,
)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
