#!/usr/bin/env python3
"""Runs Schemathesis (every check) against a running OComms host.

    python3 tests/openapi-fuzz/run.py --url http://127.0.0.1:8080 [--max-examples N] [--seed S]

`cargo xtask test` runs it against a fresh host (xtask/src/openapi_fuzz.rs), from a virtual
environment holding the pinned Schemathesis. It

1. builds a fixture through the API itself: an owner (whose session the run uses), two
   members, a workspace, a public channel, a direct message, a pinned message with a
   reaction and a threaded reply, and an unused invite;
2. writes the run's configuration: schemathesis.toml (next to this file) plus the fixture's
   ids as dictionaries, so generated requests name real resources most of the time (and
   random ones the rest, which must be 404);
3. runs `schemathesis run` on the document the host serves, with hooks.py keeping the
   owner's session alive;
4. prints `openapi fuzz: N passed, M failed, K skipped` (one per operation and stateful
   scenario, from the JUnit report) and exits non-zero if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"

    def call(self, method: str, path: str, body: object = None, token: str | None = None) -> dict:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                text = reply.read()
        except urllib.error.HTTPError as e:
            raise SystemExit(f"fixture: {method} {path} answered {e.code}: {e.read().decode(errors='replace')}")
        return json.loads(text) if text else {}

    def signup(self, name: str) -> tuple[dict, str, str]:
        email = f"{name.lower().replace(' ', '.')}-{secrets.token_hex(4)}@fuzz.example.com"
        password = secrets.token_urlsafe(18)
        r = self.call("POST", "/auth/signup", {"email": email, "password": password, "display_name": name})
        return r["user"], r["tokens"]["access_token"], password


def build_fixture(api: Api) -> dict:
    owner, owner_token, owner_password = api.signup("Owner")
    members = [api.signup(name)[:2] for name in ("Member One", "Member Two")]
    ws = api.call("POST", "/workspaces", {"name": "Fuzzing"}, owner_token)
    ws_id, general = ws["workspace"]["id"], ws["default_channel_id"]
    join = api.call("POST", f"/workspaces/{ws_id}/invites", {"max_uses": 10}, owner_token)
    for _, token in members:
        api.call("POST", f"/invites/{join['invite']['code']}/accept", None, token)
    spare = api.call("POST", f"/workspaces/{ws_id}/invites", {"role": "guest"}, owner_token)
    channel = api.call("POST", f"/workspaces/{ws_id}/channels", {"name": "fuzz", "topic": "t"}, owner_token)
    ch = channel["channel"]["id"]
    api.call("POST", f"/channels/{ch}/join", None, members[0][1])
    root = api.call("POST", f"/channels/{ch}/messages", {"text": "root"}, owner_token)["message"]
    reply = api.call(
        "POST", f"/channels/{ch}/messages", {"text": "reply", "thread_root_id": root["id"]}, members[0][1]
    )["message"]
    api.call("POST", f"/messages/{root['id']}/reactions", {"emoji": ":thumbsup:"}, owner_token)
    api.call("POST", f"/messages/{root['id']}/pin", None, owner_token)
    dm = api.call("POST", f"/workspaces/{ws_id}/dms", {"user_ids": [members[0][0]["id"]]}, owner_token)
    user_ids = [owner["id"]] + [user["id"] for user, _ in members]
    return {
        "owner": {"email": owner["email"], "password": owner_password},
        "dictionaries": {
            "workspaces": [ws_id],
            "channels": [ch, general, dm["channel"]["id"]],
            "messages": [root["id"], reply["id"]],
            "users": user_ids,
            "invites": [spare["invite"]["code"]],
            "emoji": [":thumbsup:"],
        },
    }


# Which dictionary feeds which parameter, and how often (the rest is generated).
BINDINGS = {
    "path.workspace_id": "workspaces",
    "path.channel_id": "channels",
    "path.message_id": "messages",
    "path.user_id": "users",
    "path.code": "invites",
    "path.emoji": "emoji",
    "query.after": "users",
    "body.user_ids[*]": "users",
    "body.thread_root_id": "messages",
}
PROBABILITY = 0.8


def toml_string(s: str) -> str:
    return json.dumps(s)  # a JSON string of these characters is a valid TOML basic string


def write_config(workdir: Path, fixture: dict) -> Path:
    lines = [(HERE / "schemathesis.toml").read_text(), "", "# Generated by run.py from the fixture."]
    for name, values in fixture["dictionaries"].items():
        lines.append(f"[dictionaries.{name}]")
        lines.append("values = [" + ", ".join(toml_string(v) for v in values) + "]")
    lines.append("[parameters]")
    for key, name in BINDINGS.items():
        lines.append(f'{toml_string(key)} = {{ dictionary = "{name}", probability = {PROBABILITY} }}')
    path = workdir / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def summarise(junit: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed += 1
            # One line per failure, which the caller repeats at the end of a long run (where
            # a CI log's tail shows it): the operation, then what went wrong, on one line.
            detail = " ".join(((problem.get("message") or "") + " " + (problem.text or "")).split())
            print(f"openapi fuzz: failed: {case.get('name')}: {detail[:600]}", flush=True)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="the host's base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--max-examples", type=int, default=int(os.environ.get("OCOMMS_OPENAPI_FUZZ_EXAMPLES", "60")))
    p.add_argument("--seed", default=os.environ.get("OCOMMS_OPENAPI_FUZZ_SEED"), help="reproduce a run")
    p.add_argument("--workdir", help="where the configuration and reports go (default: a temporary directory)")
    p.add_argument("--schema", help="a document to test instead of the one the host serves")
    args, extra = p.parse_known_args()

    api = Api(args.url)
    fixture = build_fixture(api)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ocomms-openapi-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, fixture)
    junit = workdir / "junit.xml"
    env = dict(os.environ)
    env.update(
        {
            "OCOMMS_FUZZ_API": api.base,
            "OCOMMS_FUZZ_EMAIL": fixture["owner"]["email"],
            "OCOMMS_FUZZ_PASSWORD": fixture["owner"]["password"],
            "SCHEMATHESIS_HOOKS": "hooks",
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ in the source tree
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")])),
        }
    )
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        args.schema or f"{api.base}/openapi.json",
        "--url", api.base,
        "--checks", "all",
        "--max-examples", str(args.max_examples),
        "--report", "junit", "--report-junit-path", str(junit),
        "--no-color",
    ]  # fmt: skip
    if args.seed:
        cmd += ["--seed", str(args.seed)]
    cmd += extra
    print("openapi fuzz:", " ".join(cmd), flush=True)
    code = subprocess.run(cmd, env=env, cwd=workdir).returncode
    if not junit.exists():
        print(f"openapi fuzz: Schemathesis exited with {code} and wrote no report", flush=True)
        return code or 1
    passed, failed, skipped = summarise(junit)
    if code != 0 and failed == 0:
        failed = 1  # it failed outside any operation (a crashed run, an unusable document)
    print(f"openapi fuzz: {passed} passed, {failed} failed, {skipped} skipped (reports in {workdir})", flush=True)
    return 1 if failed or code else 0


if __name__ == "__main__":
    sys.exit(main())
