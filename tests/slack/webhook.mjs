// Slack's Node SDK (@slack/webhook), unmodified, posting to an OComms incoming webhook
// given as the first argument. Exits non-zero on any surprise.

import assert from 'node:assert/strict';
import { IncomingWebhook } from '@slack/webhook';

const hook = new IncomingWebhook(process.argv[2], { username: 'Node CI', icon_emoji: ':rocket:' });

const sent = await hook.send({ text: '_node_ says *hello*' });
assert.equal(sent.text, 'ok');

// A refusal rejects the promise with the HTTP error: Slack's status and code.
await assert.rejects(hook.send({ text: '' }), (e) => {
  assert.equal(e.code, 'slack_webhook_http_error');
  assert.equal(e.statusCode, 400);
  assert.equal(e.body, 'no_text');
  return true;
});
console.log('ok');
