"""Schemathesis hooks for the OComms API (loaded through SCHEMATHESIS_HOOKS by run.py).

Authentication: every generated request carries the access token of the fixture's owner
(run.py signs them up). The token comes from a real `POST /auth/login`, so the run tests the
session machinery too, and it stays usable for the whole run: when a request is answered
401 because the run ended its own session (`POST /auth/logout` with this very token),
Schemathesis asks this provider for a new token (a new login, a new session) and replays
the request, instead of sending the rest of the run unauthenticated.
"""

from __future__ import annotations

import json
import os
import urllib.request

import schemathesis

API = os.environ["OCOMMS_FUZZ_API"]
EMAIL = os.environ["OCOMMS_FUZZ_EMAIL"]
PASSWORD = os.environ["OCOMMS_FUZZ_PASSWORD"]


def login() -> str:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"{API}/auth/login", data=body, method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as reply:
        return json.load(reply)["tokens"]["access_token"]


# Access tokens live 15 minutes and a run takes a few, so the interval only bounds reuse;
# `retry_on=[401]` is what keeps the session alive after the run logs itself out.
@schemathesis.auth(refresh_interval=600, retry_on=[401])
class OwnerSession:
    def get(self, case, context):
        return login()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# 422s that depend on what the database holds, not on the request's shape, so no schema can
# rule them out: a generated (valid) request may still meet them. Each is accepted only for
# its operation and only with its own message; any other refusal of valid data still fails.
STATE_DEPENDENT_422 = {
    "POST /channels/{channel_id}/members": (
        "is not an active member of this workspace",
        "user_ids may name at most",  # distinct ids, and duplicates collapse: no maxItems
    ),
    "POST /workspaces/{workspace_id}/dms": (
        "is not an active member of this workspace",
        "a direct message has at most",  # distinct people, likewise
        "the members changed meanwhile",
    ),
    "DELETE /channels/{channel_id}/members/{user_id}": ("to remove yourself, leave the channel",),
    "POST /channels/{channel_id}/messages": ("replies to replies are not allowed",),
    "GET /messages/{message_id}/thread": ("this message is a reply",),
    "PUT /messages/{message_id}/follow": ("this message is a reply",),
    "DELETE /messages/{message_id}/follow": ("this message is a reply",),
    "POST /workspaces/{workspace_id}/apps/{app_id}/hooks": ("not a direct message",),
    # An app URL's address class is the deployment's business (its allow-list), and what is
    # at a URL decides whether it passes Slack's url_verification.
    "PUT /workspaces/{workspace_id}/apps/{app_id}/events": (
        "which apps may not use unless the operator allows it",
        "did not pass Slack's url_verification",
    ),
    "POST /workspaces/{workspace_id}/apps/{app_id}/commands": ("which apps may not use unless the operator allows it",),
    # Whether the install has an identity provider is the deployment's business.
    "PATCH /workspaces/{workspace_id}": ("sso_only needs single sign-on",),
    "POST /workspaces/{workspace_id}/apps/{app_id}/outgoing-hooks": (
        "which apps may not use unless the operator allows it",
        "outgoing webhooks listen to public channels only",
        "at most 10 trigger words",  # distinct words, and duplicates collapse: no maxItems
    ),
}


# 422s for search queries that are valid strings but not valid queries: the query language
# (operators, dates, at least one word) is more than a JSON Schema can say. Only these
# messages, only on search.
QUERY_SYNTAX_422 = {
    "GET /workspaces/{workspace_id}/search": (
        "the search query is empty",
        "add a word to look for or a filter",
        "unknown search operator",
        "unknown filter",
        "is not a date",
        "the date range is empty",
        "a prefix needs at least",
        "a search may hold at most",
        "cannot be negated",
        "needs a value",
    ),
}


# Mailed links' tokens: a well-formed token is still only good if we mailed it (and, for a
# magic link, to the browser that asked). `link_invalid` (400), only on these operations.
LINK_ROUTES = {
    "POST /auth/verify-email",
    "POST /auth/password-reset/confirm",
    "POST /auth/magic-link/redeem",
}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code not in (400, 422):
        return True
    try:
        error = json.loads(response.content)["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        return True
    if response.status_code == 400:
        return not (code == "link_invalid" and case.operation.label in LINK_ROUTES)
    accepted = STATE_DEPENDENT_422.get(case.operation.label, ()) + QUERY_SYNTAX_422.get(case.operation.label, ())
    return not any(m in message for m in accepted)
