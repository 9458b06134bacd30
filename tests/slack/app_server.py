"""A Slack app, as its developer would write one with slack-sdk: every request it gets is
checked with the SDK's SignatureVerifier (unmodified), then answered as Slack apps answer.
Argument: the app's signing secret. Prints `listening on http://127.0.0.1:PORT` once ready.

Paths:
- POST /events: Events API. Answers the url_verification challenge; acknowledges events.
- POST /commands: slash commands. By the command's text:
  `in_channel X` answers in the channel; `later X` acknowledges, then answers through the
  response_url (once for the user, once in the channel); `spam` posts to the response_url
  six times (Slack allows five); `slow` answers after five seconds (too late); `huge`
  answers 2 MiB; anything else is answered to the user alone.
- POST /outgoing: outgoing webhooks, answered with `{"text": "pong: ..."}`.
- POST /wrong: answers 404 (a URL that is not an app).
- GET /log: what arrived, as JSON (test control, unsigned).
- POST /control: JSON `{"fail_events": N, "hold_events_ms": M}`: the next N event requests
  answer 500; every event request is held M ms before its answer.
"""

import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_sdk.signature import SignatureVerifier

verifier = SignatureVerifier(signing_secret=sys.argv[1])
lock = threading.Lock()
log = []
control = {"fail_events": 0, "hold_events_ms": 0}


def post_response_url(url, payload):
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/log":
            with lock:
                self.reply(200, list(log))
        else:
            self.reply(404, {"error": "no such path"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/control":
            with lock:
                control.update(json.loads(raw))
            return self.reply(200, {"ok": True})
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = verifier.is_valid_request(raw, headers)
        if headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw)
        else:
            body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        entry = {
            "path": self.path,
            "verified": verified,
            "retry_num": headers.get("x-slack-retry-num"),
            "retry_reason": headers.get("x-slack-retry-reason"),
            "body": body,
        }
        if not verified:
            entry["refused"] = {
                "timestamp": headers.get("x-slack-request-timestamp"),
                "signature": headers.get("x-slack-signature"),
                "now": int(time.time()),
            }
        with lock:
            log.append(entry)
        if not verified:
            return self.reply(401, {"error": "invalid signature"})
        if self.path == "/events":
            return self.handle_event(body)
        if self.path == "/commands":
            return self.slash_command(body, entry)
        if self.path == "/outgoing":
            return self.reply(200, {"text": "pong: " + body.get("text", "")})
        self.reply(404, {"error": "no such path"})

    def handle_event(self, body):
        if body.get("type") == "url_verification":
            return self.reply(200, {"challenge": body["challenge"]})
        with lock:
            hold = control["hold_events_ms"]
            fail = control["fail_events"] > 0
            if fail:
                control["fail_events"] -= 1
        time.sleep(hold / 1000)
        self.reply(500 if fail else 200, {"ok": not fail})

    def slash_command(self, body, entry):
        text = body.get("text", "")
        url = body["response_url"]
        if text.startswith("in_channel "):
            return self.reply(200, {"response_type": "in_channel", "text": "done: " + text[len("in_channel "):]})
        if text.startswith("later "):
            what = text[len("later "):]

            def later():
                time.sleep(0.2)
                a = post_response_url(url, {"text": "only you: " + what})
                b = post_response_url(url, {"response_type": "in_channel", "text": "everyone: " + what})
                with lock:
                    entry["response_url_answers"] = [a, b]

            threading.Thread(target=later).start()
            return self.reply(200)
        if text == "spam":

            def spam():
                answers = [post_response_url(url, {"text": f"spam {i}"}) for i in range(6)]
                with lock:
                    entry["response_url_answers"] = answers

            threading.Thread(target=spam).start()
            return self.reply(200)
        if text == "huge":
            return self.reply(200, {"text": "x" * (2 * 1024 * 1024)})
        if text == "slow":
            time.sleep(5)
            return self.reply(200, {"text": "too late"})
        self.reply(200, {"text": "you said " + text})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
