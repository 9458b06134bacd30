"""Slack's Python SDK (slack-sdk's WebClient), unmodified but for its base URL, driving the
OComms Web API subset with a bot token. Arguments: base URL (`http://host/api/`), a token
with every scope, a token with only `chat:write`, the channel to post in. Prints what it
saw as JSON; exits non-zero on any surprise."""

import json
import sys

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

base, token, narrow, channel = sys.argv[1:5]
client = WebClient(token=token, base_url=base)

me = client.auth_test()
assert me["ok"] and me["user_id"] and me["team_id"], me.data

posted = client.chat_postMessage(channel=channel, text="*python* says <https://example.com|hello>")
assert posted["ok"] and posted["channel"] == channel, posted.data
ts = posted["ts"]
assert posted["message"]["text"] == "*python* says <https://example.com|hello>", posted.data

reply = client.chat_postMessage(channel=channel, text="a reply", thread_ts=ts)
assert reply["message"]["thread_ts"] == ts, reply.data

for i in range(3):
    client.chat_postMessage(channel=channel, text=f"page filler {i}")

# Cursor pagination as Slack does it: follow next_cursor until it is empty.
seen = []
cursor = None
while True:
    page = client.conversations_history(channel=channel, limit=2, cursor=cursor)
    seen.extend(m["text"] for m in page["messages"])
    cursor = page["response_metadata"]["next_cursor"]
    if not cursor:
        break
assert seen[:4] == ["page filler 2", "page filler 1", "page filler 0", "*python* says <https://example.com|hello>"], seen

chans = client.conversations_list(types="public_channel,private_channel", limit=1)
names = [c["name"] for c in chans["channels"]]
while chans["response_metadata"]["next_cursor"]:
    chans = client.conversations_list(types="public_channel,private_channel", limit=1,
                                      cursor=chans["response_metadata"]["next_cursor"])
    names += [c["name"] for c in chans["channels"]]

info = client.conversations_info(channel=channel)
assert info["channel"]["id"] == channel and info["channel"]["is_channel"], info.data

user = client.users_info(user=me["user_id"])
assert user["user"]["is_bot"] is True, user.data
people = client.users_list()
assert any(m["id"] == me["user_id"] for m in people["members"]), people.data

errors = {}
for name, call in [
    ("unknown channel", lambda: client.chat_postMessage(channel="00000000-0000-4000-8000-000000000000", text="x")),
    ("no text", lambda: client.chat_postMessage(channel=channel, text="")),
    ("missing scope", lambda: WebClient(token=narrow, base_url=base).conversations_history(channel=channel)),
    ("bad token", lambda: WebClient(token="xoxb-nope", base_url=base).auth_test()),
]:
    try:
        call()
        raise AssertionError(f"{name}: no error")
    except SlackApiError as e:
        errors[name] = e.response["error"]

print(json.dumps({"ts": ts, "channels": sorted(names), "errors": errors}))
