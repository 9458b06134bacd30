// Accounts end to end in Chromium against a host that verifies addresses and has an install
// admin: sign-up by mailed link, the session kept in an HttpOnly cookie across reloads and
// tabs (no token within reach of scripts), a forgotten password, sign-in links bound to the
// asking browser, an invitee signing up by link, the sessions list ending another device,
// and the admins' mail outbox.
// With no mail server configured the host logs every mail: the links are read from its log.
//
// Run: `npm run e2e` in web/ after `cargo xtask build` (it starts its own host, so it is
// skipped when OCOMMS_E2E_URL names a running one). Screenshots go to target/e2e-artifacts/.

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
const emailOf = (name) => `${name.toLowerCase()}-${RUN}@example.com`;
const ADMIN = 'Ada';

let host;
let browser;
const logs = [];

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `accounts-${name}.png`) });

/** A browser of its own (a context: its own cookies and storage) with one page. */
async function person(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => logs.push(`[${name}] ${m.type()}: ${m.text()}`));
  return { name, email: emailOf(name), ctx, page, errors };
}

/** The last link of `kind` mailed to `to`, from the host's log (waits for it). */
async function mailedLink(to, kind) {
  const mail = /mail \(no mail server configured\):\n([\s\S]*?)\n to=(\S+) subject=/g;
  const link = new RegExp(`https?://\\S+/${kind}#token=[A-Za-z0-9_%-]+`);
  const started = Date.now();
  for (;;) {
    const found = [...host.log().matchAll(mail)].filter((m) => m[2] === to).map((m) => link.exec(m[1])?.[0]).filter(Boolean);
    if (found.length) return found.at(-1);
    if (Date.now() - started > WAIT) throw new Error(`no ${kind} link mailed to ${to}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const signedIn = (p) => p.page.locator('[data-testid=me]', { hasText: p.name }).waitFor({ timeout: WAIT });
const signInScreen = (page) => page.locator('#auth-email').waitFor({ timeout: WAIT });

async function checkEmail(p) {
  const card = p.page.locator('[data-testid=check-email]');
  await card.waitFor({ timeout: WAIT });
  assert.match(await card.innerText(), new RegExp(`We sent a link to ${p.email.replace(/[.]/g, '\\.')}`));
}

/** Signs up through the sign-up form and the mailed link. */
async function signUp(p) {
  await p.page.goto(host.url + '/');
  await p.page.locator('button.link', { hasText: 'Sign up' }).click();
  await p.page.locator('#auth-name').fill(p.name);
  await p.page.locator('#auth-email').fill(p.email);
  await p.page.locator('#auth-password').fill(PASSWORD);
  await p.page.locator('form button[type=submit]').click();
  await checkEmail(p);
  await p.page.goto(await mailedLink(p.email, 'verify-email'));
  await signedIn(p);
}

async function logIn(page, email, password = PASSWORD) {
  await signInScreen(page);
  await page.locator('#auth-email').fill(email);
  await page.locator('#auth-password').fill(password);
  await page.locator('form button[type=submit]').click();
}

async function logOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await signInScreen(page);
}

/** What scripts of the page can see: storage and cookies. */
const reachable = (page) =>
  page.evaluate(() => ({
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
  }));

async function assertNoTokenInReach(p) {
  const seen = await reachable(p.page);
  assert.doesNotMatch(seen.storage, /eyJ|access_token|refresh_token|ocomms\.session/, 'no token in storage');
  assert.doesNotMatch(seen.cookie, /ocomms_refresh/, 'the refresh cookie is HttpOnly');
  const jar = await p.ctx.cookies();
  const refresh = jar.find((c) => c.name === 'ocomms_refresh');
  assert.ok(refresh, 'the browser holds the refresh cookie');
  assert.equal(refresh.httpOnly, true);
  assert.equal(refresh.sameSite, 'Strict');
  assert.equal(refresh.path, '/api/v1/auth/refresh');
}

async function openProfile(page) {
  await page.locator('#profile-btn').click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor({ timeout: WAIT });
}

describe('accounts', { concurrency: false, skip: process.env.OCOMMS_E2E_URL ? 'needs a host of its own' : false }, () => {
  const people = {};

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    host = await startHost({
      env: { SPIN_VARIABLE_EMAIL_VERIFICATION: 'required', SPIN_VARIABLE_INSTALL_ADMINS: emailOf(ADMIN) },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    writeFileSync(join(ARTIFACTS, 'accounts-console.log'), logs.join('\n') + '\n');
    if (host?.log) writeFileSync(join(ARTIFACTS, 'accounts-host.log'), host.log());
    await browser?.close();
    await host?.stop();
    for (const p of Object.values(people)) assert.deepEqual(p.errors, [], `${p.name}: page errors`);
  });

  it('signs up through the mailed link; reloads and tabs keep the session with no token in reach of scripts', async () => {
    const ada = (people.Ada = await person('Ada'));
    await ada.page.goto(host.url + '/');
    await ada.page.locator('button.link', { hasText: 'Sign up' }).click();
    await ada.page.locator('#auth-name').fill('Ada');
    await ada.page.locator('#auth-email').fill(ada.email);
    await ada.page.locator('#auth-password').fill(PASSWORD);
    await ada.page.locator('form button[type=submit]').click();
    await checkEmail(ada);
    await shot(ada.page, '01-check-email');

    const link = await mailedLink(ada.email, 'verify-email');
    assert.ok(link.startsWith(`${host.url}/verify-email#token=`), link);
    await ada.page.goto(link);
    await signedIn(ada);
    assert.equal(new URL(ada.page.url()).hash, '', 'the token left the address bar');
    await assertNoTokenInReach(ada);

    // A token stored by an older version is removed; the cookie restores the session.
    await ada.page.evaluate(() => localStorage.setItem('ocomms.session', '{"access_token":"old"}'));
    await ada.page.reload();
    await signedIn(ada);
    await assertNoTokenInReach(ada);

    // Tabs of one browser share the cookie, and refresh in turn: loading two at once, again
    // and again, never replays a spent refresh token (which would end the session).
    const tab = await ada.ctx.newPage();
    tab.on('pageerror', (e) => ada.errors.push(String(e)));
    for (let i = 0; i < 3; i++) {
      await Promise.all([ada.page.reload(), tab.goto(host.url + '/')]);
      await Promise.all([signedIn(ada), tab.locator('[data-testid=me]', { hasText: 'Ada' }).waitFor({ timeout: WAIT })]);
    }
    await tab.close();
    await ada.page.reload();
    await signedIn(ada);

    // The link is spent.
    const again = await person('Stranger');
    await again.page.goto(link);
    await again.page.getByRole('heading', { name: 'This link did not work' }).waitFor({ timeout: WAIT });
    await again.ctx.close();
  });

  it('resets a forgotten password through the mailed link, which signs in', async () => {
    const bo = (people.Bo = await person('Bo'));
    await signUp(bo);
    // Logged out (cookie mode): a reload does not bring the session back.
    await logOut(bo.page);
    await bo.page.reload();
    await signInScreen(bo.page);

    await bo.page.getByRole('button', { name: 'Forgot password?' }).click();
    await bo.page.locator('#ask-link-email').fill(bo.email);
    await bo.page.getByRole('button', { name: 'Send link' }).click();
    await checkEmail(bo);
    await bo.page.goto(await mailedLink(bo.email, 'reset-password'));
    await bo.page.getByRole('heading', { name: 'Choose a new password' }).waitFor({ timeout: WAIT });
    assert.equal(new URL(bo.page.url()).hash, '', 'the token left the address bar');
    await bo.page.locator('#new-password').fill('short');
    await bo.page.getByRole('button', { name: 'Set password and sign in' }).click();
    await bo.page.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor({ timeout: WAIT });
    await bo.page.locator('#new-password').fill('a brand new password');
    await shot(bo.page, '02-new-password');
    await bo.page.getByRole('button', { name: 'Set password and sign in' }).click();
    await signedIn(bo);

    // The new password is the one that works.
    await logOut(bo.page);
    await logIn(bo.page, bo.email, PASSWORD);
    await bo.page.getByRole('alert').filter({ hasText: /./ }).waitFor({ timeout: WAIT });
    await logIn(bo.page, bo.email, 'a brand new password');
    await signedIn(bo);
  });

  it('signs in with an emailed link in the browser that asked, and not in another', async () => {
    const cy = (people.Cy = await person('Cy'));
    await signUp(cy);
    await logOut(cy.page);
    await cy.page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await cy.page.locator('#ask-link-email').fill(cy.email);
    await cy.page.getByRole('button', { name: 'Send link' }).click();
    await checkEmail(cy);
    const link = await mailedLink(cy.email, 'magic-link');

    // Another browser: the server says why, and the way back is offered.
    const other = await person('Other');
    await other.page.goto(link);
    await other.page.getByRole('heading', { name: 'This link did not work' }).waitFor({ timeout: WAIT });
    assert.match(await other.page.getByRole('alert').innerText(), /browser/);
    await shot(other.page, '03-magic-link-elsewhere');
    await other.page.getByRole('button', { name: 'Back to log in' }).click();
    await signInScreen(other.page);
    assert.equal(new URL(other.page.url()).pathname, '/');
    await other.ctx.close();

    // The browser that asked.
    await cy.page.goto(link);
    await signedIn(cy);
    assert.equal(new URL(cy.page.url()).pathname, '/');
  });

  it('takes an invitee who signs up by mailed link on to the invite', async () => {
    const ada = people.Ada;
    await ada.page.locator('#welcome-ws-name').fill('Lab');
    await ada.page.getByRole('button', { name: 'Create workspace' }).click();
    await ada.page.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await ada.page.getByRole('button', { name: 'Invite people' }).click();
    const input = ada.page.locator('#invite-url');
    await ada.page.waitForFunction(() => document.querySelector('#invite-url')?.value.includes('/invite/'), null, { timeout: WAIT });
    const inviteUrl = await input.inputValue();
    await ada.page.keyboard.press('Escape');
    await input.waitFor({ state: 'detached', timeout: WAIT });

    const dee = (people.Dee = await person('Dee'));
    await dee.page.goto(inviteUrl);
    await dee.page.getByText('You have been invited to a workspace').waitFor({ timeout: WAIT });
    await dee.page.locator('#auth-name').fill('Dee');
    await dee.page.locator('#auth-email').fill(dee.email);
    await dee.page.locator('#auth-password').fill(PASSWORD);
    await dee.page.locator('form button[type=submit]').click();
    await checkEmail(dee);
    // The mail's link opens in another tab of the same browser.
    const tab = await dee.ctx.newPage();
    await tab.goto(await mailedLink(dee.email, 'verify-email'));
    await tab.getByRole('button', { name: 'Accept invite' }).click();
    await tab.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await tab.close();
  });

  it('lists the sessions, and signing out another device sends it back to the sign-in screen', async () => {
    const ada = people.Ada;
    const laptop = await person('Ada-laptop');
    await laptop.page.goto(host.url + '/');
    await logIn(laptop.page, ada.email);
    await laptop.page.locator('[data-testid=me]', { hasText: 'Ada' }).waitFor({ timeout: WAIT });

    await openProfile(ada.page);
    const sessions = ada.page.getByRole('list', { name: 'Signed-in devices' }).locator('li.session');
    await ada.page.waitForFunction(() => document.querySelectorAll('li.session').length === 2, null, { timeout: WAIT });
    const here = sessions.filter({ hasText: 'This device' });
    assert.equal(await here.count(), 1);
    assert.match(await here.innerText(), /Chrome on Linux[\s\S]*127\.0\.0\.1[\s\S]*last active just now/);
    await shot(ada.page, '04-sessions');

    await ada.page.locator('li.session:not([data-current]) button', { hasText: 'Sign out' }).click();
    await ada.page.getByRole('status').filter({ hasText: 'Signed out Chrome on Linux.' }).waitFor({ timeout: WAIT });
    await ada.page.waitForFunction(() => document.querySelectorAll('li.session').length === 1, null, { timeout: WAIT });
    // The laptop's socket is closed and it is back at the sign-in screen; a reload keeps it there.
    await signInScreen(laptop.page);
    await laptop.page.getByRole('status').filter({ hasText: 'Your session has ended' }).waitFor({ timeout: WAIT });
    await laptop.page.reload();
    await signInScreen(laptop.page);

    // Signed in again, then every other session at once.
    await logIn(laptop.page, ada.email);
    await laptop.page.locator('[data-testid=me]', { hasText: 'Ada' }).waitFor({ timeout: WAIT });
    await ada.page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await openProfile(ada.page);
    await ada.page.getByRole('button', { name: 'Sign out of all other sessions' }).click();
    await ada.page.getByRole('status').filter({ hasText: 'Signed out 1 other session.' }).waitFor({ timeout: WAIT });
    await signInScreen(laptop.page);
    await signedIn(ada);
    assert.deepEqual(laptop.errors, []);
    await laptop.ctx.close();
  });

  it('shows the install admin the mail outbox, page by page; others have no entry', async () => {
    const ada = people.Ada;
    // Over a page of mail: reset links asked for Bo.
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${host.url}/api/v1/auth/password-reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: people.Bo.email }),
      });
      assert.equal(r.status, 202);
    }
    await ada.page.reload();
    await signedIn(ada);
    await openProfile(ada.page);
    await ada.page.getByRole('button', { name: 'Mail outbox' }).click();
    const dialog = ada.page.getByRole('dialog', { name: 'Mail outbox' });
    await dialog.waitFor({ timeout: WAIT });
    const mails = dialog.getByRole('list', { name: 'Mails' }).locator('li.outbox-mail');
    await ada.page.waitForFunction(() => document.querySelectorAll('li.outbox-mail').length === 50, null, { timeout: WAIT });
    await dialog.getByRole('button', { name: 'Older' }).click();
    await ada.page.waitForFunction(() => document.querySelectorAll('li.outbox-mail').length > 50, null, { timeout: WAIT });
    assert.equal(await dialog.getByRole('button', { name: 'Older' }).count(), 0, 'the last page');

    // Ada's own sign-up mail, the oldest: its text opens with the link clickable.
    const own = mails.filter({ hasText: `to ${ada.email}` }).filter({ hasText: 'Confirm your email address' });
    assert.equal(await own.count(), 1);
    assert.match(await own.innerText(), /logged \(no mail server\)/);
    await own.locator('summary').click();
    const href = await own.locator('a[href*="/verify-email#token="]').getAttribute('href');
    assert.equal(href, await mailedLink(ada.email, 'verify-email'));
    await shot(ada.page, '05-outbox');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // Bo is no install admin: no entry.
    const bo = people.Bo;
    await openProfile(bo.page);
    await bo.page.waitForTimeout(500);
    assert.equal(await bo.page.getByRole('button', { name: 'Mail outbox' }).count(), 0);
  });
});
