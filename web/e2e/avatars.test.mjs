// Profile pictures in Chromium: Ann uploads a real PNG (drawn on a canvas by the browser) from
// her profile; her preview loads from our own origin, and Bob, in the same workspace, sees it
// next to her messages and in the member list without a reload. A text file named .png is
// refused with the server's reason, and "Remove picture" brings the initial back on both sides.
//
// Run: `npm run e2e` in web/ after `cargo xtask build` (it starts its own host, unless
// OCOMMS_E2E_URL names a running one). Screenshots go to target/e2e-artifacts/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startHost } from './host.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = process.env.OCOMMS_E2E_ARTIFACTS ?? join(ROOT, 'target', 'e2e-artifacts');
const CHROMIUM = process.env.OCOMMS_CHROMIUM ?? '/usr/bin/chromium';
const WAIT = 20_000;
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PASSWORD = 'correct horse battery';

let host;
let browser;
const logs = [];
const people = {};

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `avatars-${name}.png`) });

async function person(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    logs.push(`[${name}] ${m.type()}: ${m.text()}`);
    // The host's Content-Security-Policy must block nothing the client does.
    if (m.text().includes('Content Security Policy')) errors.push(m.text());
  });
  const p = { name, email: `${name.toLowerCase()}-${RUN}@example.com`, ctx, page, errors };
  people[name] = p;
  return p;
}

async function signUp(p, path = '/') {
  const { page } = p;
  await page.goto(host.url + path);
  await page.locator('#auth-email').waitFor({ timeout: WAIT });
  if (!(await page.locator('#auth-name').count())) await page.locator('button.link', { hasText: 'Sign up' }).click();
  await page.locator('#auth-name').fill(p.name);
  await page.locator('#auth-email').fill(p.email);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('form button[type=submit]').click();
  await page.locator('[data-testid=me]', { hasText: p.name }).waitFor({ timeout: WAIT });
}

const waitConnected = (page) => page.locator('[data-testid=conn]', { hasText: 'Connected' }).waitFor({ timeout: WAIT });

async function send(page, text) {
  const box = page.locator('#composer-input');
  await box.click();
  await box.fill(text);
  await box.press('Enter');
}

const shown = (page, text) => page.locator('main ol.messages[role=log] li.msg', { hasText: text }).first();

/** A 48x48 PNG drawn and encoded by the browser itself. */
async function drawnPng(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 48;
    c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#1565c0';
    g.fillRect(0, 0, 48, 48);
    g.fillStyle = '#ffca28';
    g.beginPath();
    g.arc(24, 24, 14, 0, Math.PI * 2);
    g.fill();
    return c.toDataURL('image/png').split(',')[1];
  });
  const buffer = Buffer.from(b64, 'base64');
  assert.equal(buffer.subarray(1, 4).toString(), 'PNG');
  return buffer;
}

/** Waits until `locator` (an <img>) has loaded a picture. */
async function loaded(locator) {
  await locator.waitFor({ timeout: WAIT });
  await locator.evaluate(
    (img) =>
      new Promise((ok, fail) => {
        const check = () => (img.complete && img.naturalWidth > 0 ? ok() : img.complete ? fail(new Error(`not loaded: ${img.src}`)) : null);
        img.addEventListener('load', check);
        img.addEventListener('error', () => fail(new Error(`failed: ${img.src}`)));
        check();
      }),
  );
  return locator.evaluate((img) => ({ src: img.getAttribute('src'), width: img.naturalWidth }));
}

async function openProfile(page) {
  await page.locator('#profile-btn').click();
  await page.locator('[data-testid=avatar-picker]').waitFor({ timeout: WAIT });
}

async function closeProfile(page) {
  await page.keyboard.press('Escape');
  await page.locator('[data-testid=avatar-picker]').waitFor({ state: 'detached', timeout: WAIT });
}

describe('profile pictures', { concurrency: false }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    host = await startHost();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    writeFileSync(join(ARTIFACTS, 'avatars-console.log'), logs.join('\n') + '\n');
    if (host?.log) writeFileSync(join(ARTIFACTS, 'avatars-host.log'), host.log());
    await browser?.close();
    await host?.stop();
    for (const p of Object.values(people)) assert.deepEqual(p.errors, [], `${p.name}: page errors`);
  });

  it('two people share a workspace; without pictures they show initials', async () => {
    const ann = await person('Ann');
    await signUp(ann);
    await ann.page.locator('#welcome-ws-name').fill(`Pics ${RUN}`);
    await ann.page.getByRole('button', { name: 'Create workspace' }).click();
    await ann.page.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await ann.page.getByRole('button', { name: 'Invite people' }).click();
    await ann.page.waitForFunction(() => document.querySelector('#invite-url')?.value.includes('/invite/'), null, { timeout: WAIT });
    const invite = await ann.page.locator('#invite-url').inputValue();
    await ann.page.keyboard.press('Escape');

    const bob = await person('Bob');
    await signUp(bob, new URL(invite).pathname);
    await bob.page.getByRole('button', { name: 'Accept invite' }).click();
    await bob.page.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await waitConnected(bob.page);
    await waitConnected(ann.page);

    await send(ann.page, 'hello from ann');
    const line = shown(bob.page, 'hello from ann');
    await line.waitFor({ timeout: WAIT });
    assert.equal(await line.locator('.gutter .avatar').innerText(), 'A');
    assert.equal(await line.locator('img.avatar').count(), 0);
    // The profile offers a picture to upload, no URL field any more.
    await openProfile(ann.page);
    assert.equal(await ann.page.locator('#profile-avatar').count(), 0);
    await ann.page.getByLabel(/Upload a picture/).waitFor({ timeout: WAIT });
    await closeProfile(ann.page);
  });

  it('uploads a PNG: the profile shows it, and the other member sees it by her messages and in the member list', async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    await openProfile(ann);
    await ann.getByLabel(/Upload a picture/).setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await drawnPng(ann) });
    const preview = ann.locator('img[data-testid=avatar-preview]');
    const mine = await loaded(preview);
    assert.match(mine.src, /^\/api\/v1\/avatars\/[0-9a-f-]{36}$/, 'served from our own origin');
    assert.ok(mine.width > 0);
    assert.match(await ann.locator('[data-testid=avatar-status]').innerText(), /updated/);
    assert.equal(await ann.getByAltText('Your profile picture').count(), 1);
    await shot(ann, '01-profile-with-picture');
    // Her own messages follow at once.
    await closeProfile(ann);
    await loaded(shown(ann, 'hello from ann').locator('img.avatar'));

    // Bob's page refetches the members when told they changed: no reload.
    const byMessage = await loaded(shown(bob, 'hello from ann').locator('.gutter img.avatar'));
    assert.equal(byMessage.src, mine.src);
    await bob.locator('#admin-btn').click();
    const row = bob.locator('tr[data-user="Ann"]');
    await row.waitFor({ timeout: WAIT });
    assert.equal((await loaded(row.locator('img.avatar'))).src, mine.src);
    // Bob has none: his row keeps the initial.
    assert.equal(await bob.locator('tr[data-user="Bob"] img.avatar').count(), 0);
    await shot(bob, '02-member-list');
    await bob.getByRole('button', { name: 'Back to the channel' }).click();
  });

  it('a text file named .png is refused with the server’s reason; the picture stays', async () => {
    const ann = people.Ann.page;
    await openProfile(ann);
    const before = await ann.locator('img[data-testid=avatar-preview]').getAttribute('src');
    await ann.getByLabel(/Change picture/).setInputFiles({
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('these are my notes, not a picture\n'.repeat(20)),
    });
    const alert = ann.locator('[data-testid=avatar-picker] [role=alert]');
    await ann.waitForFunction(() => !!document.querySelector('[data-testid=avatar-picker] [role=alert]')?.textContent?.trim(), null, {
      timeout: WAIT,
    });
    const text = await alert.innerText();
    assert.match(text, /PNG|JPEG|WebP|picture|image/i, text);
    await shot(ann, '03-refused');
    assert.equal(await ann.locator('img[data-testid=avatar-preview]').getAttribute('src'), before);
    // Another type is refused before anything is sent.
    await ann.getByLabel(/Change picture/).setInputFiles({ name: 'a.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
    await ann.locator('[data-testid=avatar-picker] [role=alert]', { hasText: 'Choose a PNG, JPEG or WebP picture.' }).waitFor({ timeout: WAIT });
  });

  it('removes the picture; both sides show the initial again', async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    await ann.getByRole('button', { name: 'Remove picture' }).click();
    await ann.locator('img[data-testid=avatar-preview]').waitFor({ state: 'detached', timeout: WAIT });
    assert.match(await ann.locator('[data-testid=avatar-status]').innerText(), /removed/);
    await ann.getByLabel(/Upload a picture/).waitFor({ timeout: WAIT });
    await closeProfile(ann);
    const line = shown(bob, 'hello from ann');
    await line.locator('.gutter img.avatar').waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(await line.locator('.gutter .avatar').innerText(), 'A');
    await shot(bob, '04-removed');
  });
});
