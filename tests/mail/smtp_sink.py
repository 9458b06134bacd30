"""A real SMTP server for the account-mail tests (aiosmtpd, unmodified).

Usage: smtp_sink.py PORT USER PASSWORD [CERT KEY]

It requires authentication (AUTH PLAIN or LOGIN with USER and PASSWORD) before it takes
mail, and prints every message it accepts as one JSON line on stdout: envelope sender and
recipients, subject, the plain-text and HTML parts, and whether the session was encrypted.
With CERT and KEY (PEM) it requires STARTTLS before anything else, and AUTH only after it.
"ready" on a line of its own says it listens.
"""

import json
import signal
import ssl
import sys
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT, USER, PASSWORD = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
TLS = None
if len(sys.argv) > 5:
    TLS = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    TLS.load_cert_chain(sys.argv[4], sys.argv[5])


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
                    "tls": session.ssl is not None,
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
    # Without a certificate: loopback only, in a test, so the credentials cross no network.
    auth_require_tls=TLS is not None,
    tls_context=TLS,
    require_starttls=TLS is not None,
)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
