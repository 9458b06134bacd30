// Single sign-on in Chromium against a real OpenID provider (tests/oidc/provider.mjs: panva's
// oidc-provider on a loopback port) and a host configured for it: the sign-in screen's
// "Sign in with Test IdP", the provider's login page, back in the app signed in (kept across a
// reload); an address the provider did not verify and a cancelled login coming back with the
// reason shown; logging out of an SSO session going on to the provider's sign-out, while a
// password session's logout stays here; an invitee signing in with SSO back on the invite.
//
// Run: `npm run e2e` in web/ after `cargo xtask build` (it starts its own host and provider,
// so it is skipped when OCOMMS_E2E_URL names a running host). `npm ci` runs in tests/oidc
// when its node_modules is missing. Screenshots go to target/e2e-artifacts/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startHost } from './host.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OIDC_DIR = join(ROOT, 'tests', 'oidc');
const ARTIFACTS = process.env.OCOMMS_E2E_ARTIFACTS ?? join(ROOT, 'target', 'e2e-artifacts');
const CHROMIUM = process.env.OCOMMS_CHROMIUM ?? '/usr/bin/chromium';
const WAIT = 20_000;
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const CLIENT_ID = 'ocomms-web-e2e';
const CLIENT_SECRET = `secret-${RUN}`;

let host;
let provider;
let browser;
const logs = [];
const people = [];

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `sso-${name}.png`) });

/** The provider in a child process (it exits when our stdin to it closes): its issuer URL. */
async function startProvider() {
  if (!existsSync(join(OIDC_DIR, 'node_modules', 'oidc-provider'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: OIDC_DIR, stdio: 'inherit' });
  }
  const child = spawn(
    process.execPath,
    [
      'provider.mjs',
      'PORT=0',
      `CLIENT_ID=${CLIENT_ID}`,
      `CLIENT_SECRET=${CLIENT_SECRET}`,
      'REDIRECT_URI=http://127.0.0.1:*/api/v1/auth/oidc/callback',
      'POST_LOGOUT_REDIRECT_URI=http://127.0.0.1:*/',
      'EXIT_ON_STDIN_EOF=1',
    ],
    { cwd: OIDC_DIR, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const issuer = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the provider did not start:\n${err}`)), WAIT);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^ready (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`the provider exited (${code}):\n${err}`)));
  });
  return {
    issuer,
    log: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** A browser of its own (its own cookies, at the provider too) with one page. */
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
  const p = { name, ctx, page, errors };
  people.push(p);
  return p;
}

const ssoButton = (page) => page.getByRole('button', { name: 'Sign in with Test IdP' });
const signInScreen = (page) => page.locator('#auth-email').waitFor({ timeout: WAIT });
const signedIn = (page, name) => page.locator('[data-testid=me]', { hasText: name }).waitFor({ timeout: WAIT });
const atProvider = (page, path) => page.waitForURL((u) => u.href.startsWith(provider.issuer + path), { timeout: WAIT });
const backHome = (page) => page.waitForURL(host.url + '/', { timeout: WAIT });

/** From the sign-in screen to the provider's login form. */
async function toProvider(page) {
  await page.goto(host.url + '/');
  await ssoButton(page).click();
  await atProvider(page, '/interaction/');
  await page.locator('input[name=login]').waitFor({ timeout: WAIT });
}

async function providerLogin(page, login) {
  await toProvider(page);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('anything at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await backHome(page);
}

async function ssoError(page) {
  const e = page.locator('[data-testid=sso-error]');
  await e.waitFor({ timeout: WAIT });
  const text = await e.innerText();
  assert.equal(await page.evaluate(() => location.hash), '', 'the reason left the address bar');
  return text;
}

describe('single sign-on', { concurrency: false, skip: process.env.OCOMMS_E2E_URL ? 'needs a host of its own' : false }, () => {
  let ann;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    provider = await startProvider();
    host = await startHost({
      env: {
        SPIN_VARIABLE_OIDC_ISSUER: provider.issuer,
        SPIN_VARIABLE_OIDC_CLIENT_ID: CLIENT_ID,
        SPIN_VARIABLE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
        SPIN_VARIABLE_OIDC_NAME: 'Test IdP',
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    writeFileSync(join(ARTIFACTS, 'sso-console.log'), logs.join('\n') + '\n');
    if (host?.log) writeFileSync(join(ARTIFACTS, 'sso-host.log'), host.log());
    if (provider) writeFileSync(join(ARTIFACTS, 'sso-provider.log'), provider.log());
    await browser?.close();
    await host?.stop();
    await provider?.stop();
    for (const p of people) assert.deepEqual(p.errors, [], `${p.name}: page errors`);
  });

  it('signs in at the provider and comes back signed in; a reload keeps the session', async () => {
    ann = await person('Ann');
    await ann.page.goto(host.url + '/');
    const button = ssoButton(ann.page);
    await button.waitFor({ timeout: WAIT });
    // Above the password form, with an "or" between them.
    const above = await ann.page.evaluate(() => {
      const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Sign in with Test IdP');
      const email = document.getElementById('auth-email');
      return !!b && !!email && (b.compareDocumentPosition(email) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
    });
    assert.ok(above, 'the SSO button comes before the email field');
    assert.equal(await ann.page.locator('.or-separator').innerText(), 'or');
    await shot(ann.page, '01-sign-in-screen');

    await button.click();
    await atProvider(ann.page, '/interaction/');
    await shot(ann.page, '02-provider-login');
    await ann.page.locator('input[name=login]').fill('ann@sso.test');
    await ann.page.locator('input[name=password]').fill('whatever');
    await ann.page.getByRole('button', { name: 'Sign in' }).click();
    await backHome(ann.page);
    await signedIn(ann.page, 'Ann');
    // A new account: the welcome screen of someone in no workspace yet.
    await ann.page.getByRole('heading', { name: 'Welcome to OComms' }).waitFor({ timeout: WAIT });
    await shot(ann.page, '03-signed-in');

    await ann.page.reload();
    await signedIn(ann.page, 'Ann');
    const jar = await ann.ctx.cookies();
    assert.ok(jar.some((c) => c.name === 'ocomms_refresh' && c.httpOnly), 'the session is in the HttpOnly cookie');
  });

  it('an owner signed in through the provider makes the workspace require it', async () => {
    await ann.page.locator('#welcome-ws-name').fill('Locked');
    await ann.page.getByRole('button', { name: 'Create workspace' }).click();
    await ann.page.locator('.ws-name', { hasText: 'Locked' }).waitFor({ timeout: WAIT });
    await ann.page.locator('#admin-btn').click();
    const box = ann.page.getByLabel(/Members sign in with Test IdP only/);
    await box.check();
    await ann.page.getByRole('button', { name: 'Save settings' }).click();
    await ann.page.getByText('Saved.').waitFor({ timeout: WAIT });
    // Ann's own session began at the provider: it goes on.
    await ann.page.reload();
    await signedIn(ann.page, 'Ann');
    await ann.page.locator('#admin-btn').click();
    assert.ok(await ann.page.getByLabel(/Members sign in with Test IdP only/).isChecked());
  });

  it('an address the provider did not verify comes back with the reason on the sign-in screen', async () => {
    const bob = await person('Bob');
    await providerLogin(bob.page, `unverified-bob-${RUN}@sso.test`);
    const text = await ssoError(bob.page);
    assert.match(text, /^Single sign-on failed: .*email address/);
    await signInScreen(bob.page);
    await shot(bob.page, '04-unverified');
    assert.equal(await bob.page.locator('[data-testid=me]').count(), 0);
  });

  it('cancelling at the provider comes back with the reason', async () => {
    const cy = await person('Cy');
    await toProvider(cy.page);
    await cy.page.getByRole('button', { name: 'Cancel' }).click();
    await backHome(cy.page);
    const text = await ssoError(cy.page);
    assert.match(text, /access_denied/);
    await signInScreen(cy.page);
    // The button is still there to try again.
    await ssoButton(cy.page).waitFor({ timeout: WAIT });
  });

  it('logging out of an SSO session signs out at the provider too, and comes back to the sign-in screen', async () => {
    await ann.page.getByRole('button', { name: 'Log out' }).click();
    await atProvider(ann.page, '/');
    const signOut = ann.page.getByRole('button', { name: 'Sign out' });
    await signOut.waitFor({ timeout: WAIT });
    await shot(ann.page, '05-provider-sign-out');
    await signOut.click();
    await backHome(ann.page);
    await signInScreen(ann.page);
    await ann.page.reload();
    await signInScreen(ann.page);
    assert.equal(await ann.page.locator('[data-testid=me]').count(), 0, 'no session left here');
    // Signed out at the provider as well: it asks for the login again.
    await toProvider(ann.page);
    await shot(ann.page, '06-provider-asks-again');
  });

  it('a password session logs out here only', async () => {
    const dee = await person('Dee');
    await dee.page.goto(host.url + '/');
    await dee.page.locator('button.link', { hasText: 'Sign up' }).click();
    await dee.page.locator('#auth-name').fill('Dee');
    await dee.page.locator('#auth-email').fill(`dee-${RUN}@example.com`);
    await dee.page.locator('#auth-password').fill('correct horse battery');
    await dee.page.locator('form button[type=submit]').click();
    await signedIn(dee.page, 'Dee');
    await dee.page.getByRole('button', { name: 'Log out' }).click();
    await signInScreen(dee.page);
    assert.ok(dee.page.url().startsWith(host.url), `still here: ${dee.page.url()}`);
  });

  it('an invitee who signs in with SSO from the invite link comes back to the invite', async () => {
    const eve = await person('Eve');
    await eve.page.goto(host.url + '/');
    await eve.page.locator('button.link', { hasText: 'Sign up' }).click();
    await eve.page.locator('#auth-name').fill('Eve');
    await eve.page.locator('#auth-email').fill(`eve-${RUN}@example.com`);
    await eve.page.locator('#auth-password').fill('correct horse battery');
    await eve.page.locator('form button[type=submit]').click();
    await signedIn(eve.page, 'Eve');
    await eve.page.locator('#welcome-ws-name').fill(`Eve's ${RUN}`);
    await eve.page.getByRole('button', { name: 'Create workspace' }).click();
    await eve.page.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await eve.page.getByRole('button', { name: 'Invite people' }).click();
    await eve.page.waitForFunction(() => document.querySelector('#invite-url')?.value.includes('/invite/'), null, { timeout: WAIT });
    const invite = await eve.page.locator('#invite-url').inputValue();

    const fay = await person('Fay');
    await fay.page.goto(invite);
    await fay.page.getByText('You have been invited to a workspace').first().waitFor({ timeout: WAIT });
    await ssoButton(fay.page).click();
    await atProvider(fay.page, '/interaction/');
    await fay.page.locator('input[name=login]').fill(`fay-${RUN}@sso.test`);
    await fay.page.locator('input[name=password]').fill('anything');
    await fay.page.getByRole('button', { name: 'Sign in' }).click();
    await fay.page.waitForURL(invite, { timeout: WAIT });
    await signedIn(fay.page, 'Fay');
    await fay.page.getByRole('button', { name: 'Accept invite' }).click();
    await fay.page.locator('#channel-title', { hasText: '#general' }).waitFor({ timeout: WAIT });
    await shot(fay.page, '07-invitee-joined');
  });
});
