"""Slack's Python SDK (slack-sdk's WebhookClient), unmodified, posting to an OComms
incoming webhook given as the first argument. Exits non-zero on any surprise."""

import sys

from slack_sdk.webhook import WebhookClient

client = WebhookClient(sys.argv[1])

r = client.send(text="*python* says <https://example.com|hello>")
assert (r.status_code, r.body) == (200, "ok"), (r.status_code, r.body)

r = client.send(
    text="a section from Python",
    blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "a *section* from Python"}}],
)
assert (r.status_code, r.body) == (200, "ok"), (r.status_code, r.body)

# Slack's refusals come back as the SDK reports them: the status and the plain-text code.
r = client.send(text="")
assert (r.status_code, r.body) == (400, "no_text"), (r.status_code, r.body)
r = client.send(text="x", blocks=[{"type": "video"}])
assert (r.status_code, r.body) == (400, "invalid_blocks"), (r.status_code, r.body)

print("ok")
