// Slack's Node SDK (@slack/web-api), unmodified but for its API URL, posting and reading
// with a bot token. Arguments: API URL (`http://host/api/`), token, channel. Exits non-zero
// on any surprise.

import assert from 'node:assert/strict';
import { WebClient } from '@slack/web-api';

const [url, token, channel] = process.argv.slice(2);
const web = new WebClient(token, { slackApiUrl: url, retryConfig: { retries: 0 } });

const posted = await web.chat.postMessage({
  channel,
  text: 'node fallback',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '_node_ says *hello*' } }],
});
assert.equal(posted.ok, true);
const history = await web.conversations.history({ channel, limit: 1 });
assert.equal(history.messages[0].ts, posted.ts);
assert.equal(history.messages[0].blocks[0].text.text, '_node_ says *hello*');
await assert.rejects(web.conversations.info({ channel: 'not-a-channel' }), (e) => {
  assert.equal(e.data.error, 'channel_not_found');
  return true;
});
console.log('ok');
