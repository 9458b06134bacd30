#!/usr/bin/env node
// A real OpenID Provider for the tests: panva's `oidc-provider` (unmodified, pinned in
// package-lock.json) on a loopback port, with one confidential client, a plain HTML login
// form and test-only endpoints. The e2e suite (tests/e2e/tests/common/oidc.rs) and the
// browser suite start it; `node provider.mjs PORT=0 CLIENT_ID=... CLIENT_SECRET=...`.
//
// Configuration, as `KEY=VALUE` arguments, else environment variables `OIDC_<KEY>`:
//   PORT                      0 (the default) picks a free port; the issuer is
//                             `http://127.0.0.1:PORT` (no trailing slash)
//   CLIENT_ID, CLIENT_SECRET  the one registered client (defaults: ocomms / ocomms-secret)
//   REDIRECT_URI              comma-separated; a `*` port (`http://127.0.0.1:*/path`) accepts
//                             that path on any loopback port (see below)
//   POST_LOGOUT_REDIRECT_URI  comma-separated, the same rules
//   EXIT_ON_STDIN_EOF         1: exit when stdin closes (the parent test process died)
//
// When it listens it prints exactly one line to stdout, `ready http://127.0.0.1:PORT`;
// everything else goes to stderr. SIGTERM and SIGINT stop it with status 0.
//
// Redirect URIs on any port: a test host's port is known only after the host started, and
// the host needs the issuer to start. A `*` port registers the client with
// `application_type: native`, for which oidc-provider applies RFC 8252 section 7.3: an
// `http` loopback redirect URI matches on any port. Exact URIs keep `web` and exact matching.
//
// The client: registered with token_endpoint_auth_method client_secret_basic; this version of
// oidc-provider accepts client_secret_post from it as well (both are secret-based methods).
// Authorization code flow only (response_type `code`), PKCE with S256 required,
// scopes `openid email profile`, ID tokens signed RS256 and carrying email, email_verified
// and name themselves (conformIdTokenClaims: false). Consent is granted automatically.
//
// Accounts: any login name with any password signs in. sub is stable per login (a hash of
// the lowercased login), email is the lowercased login, email_verified is false for logins
// starting with "unverified" and true otherwise, name is the login's local part.
//
// Pages, for a browser or a form parser: /interaction/UID shows the login form (POST to
// /interaction/UID/login with `login` and `password`, button "Sign in") and a second form
// with a "Cancel" button (POST /interaction/UID/abort: access_denied to the redirect URI).
// The end-session page's form (id `op.logoutForm`, hidden `xsrf` and `logout=yes`, button
// "Sign out") confirms an RP-initiated logout. The authorization response carries `iss`.
//
// From Node: `import { startProvider } from '.../tests/oidc/provider.mjs'` starts one in the
// calling process (see startProvider below); running the file is the same thing.
//
// Test endpoints (loopback only, outside the OpenID routes):
//   POST /test/rotate[?retire=1]  a new RS256 key signs from now on; JWKS publishes it and,
//                                 unless retire=1, the previous keys. Answers {kid, kids}.
//   GET  /test/accounts?login=L   the claims L signs in with.
//   POST /test/accounts           JSON {login, sub?, email?, email_verified?, name?}: the
//                                 claims L signs in with from now on; answers them.
//
// Rotation builds a new Provider with the new key set and hands it the same server, cookie
// keys and in-memory storage, so sessions, interactions, codes and tokens survive it: to the
// outside it is a live rotation (same issuer and port, a new kid in the JWKS).

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

import Provider, { interactionPolicy } from 'oidc-provider';

const SCOPES = ['openid', 'email', 'profile'];

function html(s) {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${html(title)}</title></head>
<body>
<h1>${html(title)}</h1>
${body}
</body>
</html>
`;
}

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `k-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

// Splits comma-separated URIs; `http://127.0.0.1:*/x` becomes `http://127.0.0.1/x` and
// marks the list as needing loopback-any-port matching.
function uriList(value) {
  const list = String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let anyPort = false;
  const uris = list.map((u) => {
    const m = /^(http:\/\/(?:127\.0\.0\.1|\[::1\])):\*(\/.*)?$/.exec(u);
    if (!m) return u;
    anyPort = true;
    return `${m[1]}${m[2] ?? '/'}`;
  });
  return { uris, anyPort };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024) {
        reject(new Error('body too large'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`);
}

// oidc-provider's storage (sessions, interactions, grants, codes, tokens) in this process,
// kept by the adapter class, not by a Provider instance: key rotation replaces the instance.
function sharedMemoryAdapter() {
  const store = new Map();
  const get = (key) => {
    const entry = store.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry?.value;
  };
  const set = (key, value, expiresIn) => {
    store.set(key, { value, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : 0 });
  };
  return class SharedMemoryAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      if (this.model === 'Session') set(`sessionUid:${payload.uid}`, id, expiresIn);
      if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
      if (payload.grantId) {
        const members = get(`grant:${payload.grantId}`) ?? new Set();
        members.add(key);
        set(`grant:${payload.grantId}`, members);
      }
      set(key, payload, expiresIn);
    }

    async find(id) {
      return get(this.key(id));
    }

    async findByUid(uid) {
      const id = get(`sessionUid:${uid}`);
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode(userCode) {
      const id = get(`userCode:${userCode}`);
      return id === undefined ? undefined : this.find(id);
    }

    async consume(id) {
      const payload = get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      store.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const key of get(`grant:${grantId}`) ?? []) store.delete(key);
      store.delete(`grant:${grantId}`);
    }
  };
}

/**
 * Starts the provider. Options: port (0: any), clientId, clientSecret, redirectUris,
 * postLogoutRedirectUris (arrays or comma-separated strings).
 * Resolves to { issuer, port, rotateKeys(retire), setAccount(claims), account(login), close() }.
 */
export async function startProvider(options = {}) {
  const clientId = options.clientId ?? 'ocomms';
  const clientSecret = options.clientSecret ?? 'ocomms-secret';
  const join = (v) => (Array.isArray(v) ? v.join(',') : v);
  const redirects = uriList(join(options.redirectUris ?? 'http://127.0.0.1:*/api/v1/auth/oidc/callback'));
  const logouts = uriList(join(options.postLogoutRedirectUris ?? 'http://127.0.0.1:*/'));
  if (redirects.uris.length === 0) throw new Error('REDIRECT_URI names no URI');

  // Claims per login: derived, unless a test set them.
  const overrides = new Map();
  const bySub = new Map();
  function account(login) {
    const key = String(login).trim().toLowerCase();
    const local = key.split('@')[0] || key;
    const derived = {
      sub: `u-${createHash('sha256').update(`ocomms-oidc-test\0${key}`).digest('hex').slice(0, 24)}`,
      email: key,
      email_verified: !key.startsWith('unverified'),
      name: local.charAt(0).toUpperCase() + local.slice(1),
    };
    const claims = { ...derived, ...(overrides.get(key) ?? {}) };
    bySub.set(claims.sub, claims);
    return claims;
  }

  const cookieKeys = [randomBytes(32).toString('hex')];
  const adapter = sharedMemoryAdapter();
  let keys = [newKey()];
  let provider;

  function configuration() {
    return {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          application_type: redirects.anyPort || logouts.anyPort ? 'native' : 'web',
          redirect_uris: redirects.uris,
          post_logout_redirect_uris: logouts.uris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
        },
      ],
      adapter,
      jwks: { keys },
      cookies: { keys: cookieKeys },
      scopes: SCOPES,
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      responseTypes: ['code'],
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          async logoutSource(ctx, form) {
            // The provider's form carries the xsrf secret; `logout=yes` confirms.
            const confirm = form.replace(
              '</form>',
              '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>',
            );
            ctx.type = 'html';
            ctx.body = page('Sign out', confirm);
          },
          async postLogoutSuccessSource(ctx) {
            ctx.type = 'html';
            ctx.body = page('Signed out', '<p>You are signed out.</p>');
          },
        },
      },
      interactions: {
        // Native clients (a `*` port) would ask for consent on every authorization; these
        // tests want a web client's behaviour, where a granted client signs in silently.
        policy: (() => {
          const policy = interactionPolicy.base();
          policy.get('consent').checks.remove('native_client_prompt');
          return policy;
        })(),
        url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      },
      // Consent is granted at once: every signed-in user gets the scopes the client asks for.
      async loadExistingGrant(ctx) {
        const { session, client } = ctx.oidc;
        if (!session.accountId) return undefined;
        const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
        let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        if (!grant) {
          grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
        }
        grant.addOIDCScope(SCOPES.join(' '));
        await grant.save();
        return grant;
      },
      async findAccount(_ctx, sub) {
        const claims = bySub.get(sub);
        if (!claims) return undefined;
        return { accountId: sub, claims: async () => ({ ...claims }) };
      },
      async renderError(ctx, out) {
        ctx.type = 'html';
        ctx.body = page('Sign-in error', `<pre id="error">${html(JSON.stringify(out, null, 2))}</pre>`);
      },
    };
  }

  function build(issuer) {
    const p = new Provider(issuer, configuration());
    for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error']) {
      p.on(event, (...args) => {
        const err = args.find((a) => a instanceof Error);
        console.error(`oidc: ${event}: ${err?.name ?? ''} ${err?.message ?? ''} ${err?.error_description ?? ''} ${err?.error_detail ?? ''}`.trimEnd());
      });
    }
    return p;
  }

  async function interaction(req, res, uid, action) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) {
      return send(res, 400, 'text/html', page('Sign-in error', '<p>This sign-in is not the current one.</p>'));
    }
    const form = (error) =>
      page(
        'Sign in',
        `${error ? `<p id="error">${html(error)}</p>` : ''}
<form method="post" action="/interaction/${html(uid)}/login">
<label>Login <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${html(uid)}/abort">
<button type="submit">Cancel</button>
</form>`,
      );
    if (action === undefined && req.method === 'GET') {
      if (details.prompt.name === 'login') return send(res, 200, 'text/html; charset=utf-8', form());
      // Consent (asked for with prompt=consent): granted at once, as loadExistingGrant does.
      if (details.prompt.name === 'consent') {
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ clientId: details.params.client_id, accountId: details.session.accountId });
        grant.addOIDCScope(SCOPES.join(' '));
        const grantId = await grant.save();
        return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: `unexpected prompt ${details.prompt.name}` },
        { mergeWithLastSubmission: false },
      );
    }
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed\n');
    const body = new URLSearchParams(await readBody(req));
    if (action === 'abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
        { mergeWithLastSubmission: false },
      );
    }
    if (action !== 'login') return send(res, 404, 'text/plain', 'not found\n');
    const login = (body.get('login') ?? '').trim();
    if (!login) return send(res, 400, 'text/html; charset=utf-8', form('Enter a login.'));
    const { sub } = account(login);
    return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  }

  function rotateKeys(retire = false) {
    const key = newKey();
    keys = retire ? [key] : [key, ...keys];
    // The first key of an algorithm signs; the HTTP server stays, the handler changes.
    provider = build(provider.issuer);
    return { kid: key.kid, kids: keys.map((k) => k.kid) };
  }

  async function test(req, res, url) {
    if (url.pathname === '/test/rotate' && req.method === 'POST') {
      return sendJson(res, 200, rotateKeys(url.searchParams.get('retire') === '1'));
    }
    if (url.pathname === '/test/accounts' && req.method === 'GET') {
      const login = url.searchParams.get('login');
      if (!login) return sendJson(res, 400, { error: 'login is required' });
      return sendJson(res, 200, account(login));
    }
    if (url.pathname === '/test/accounts' && req.method === 'POST') {
      let set;
      try {
        set = JSON.parse(await readBody(req));
      } catch {
        return sendJson(res, 400, { error: 'a JSON body is required' });
      }
      if (!set || typeof set.login !== 'string' || !set.login.trim()) {
        return sendJson(res, 400, { error: 'login is required' });
      }
      const key = set.login.trim().toLowerCase();
      const claims = {};
      for (const name of ['sub', 'email', 'email_verified', 'name']) {
        if (set[name] !== undefined) claims[name] = set[name];
      }
      overrides.set(key, claims);
      return sendJson(res, 200, account(key));
    }
    return sendJson(res, 404, { error: 'not found' });
  }

  let issuer;
  const server = createServer(async (req, res) => {
    try {
      if (!provider) return send(res, 503, 'text/plain', 'starting\n');
      const url = new URL(req.url, issuer);
      if (url.pathname.startsWith('/test/')) return await test(req, res, url);
      const m = /^\/interaction\/([^/]+)(?:\/([a-z]+))?$/.exec(url.pathname);
      if (m) return await interaction(req, res, m[1], m[2]);
      return provider.callback()(req, res);
    } catch (err) {
      console.error(`oidc: ${req.method} ${req.url}: ${err?.name ?? ''} ${err?.message ?? err}`);
      if (!res.headersSent) {
        send(res, err?.statusCode ?? 500, 'text/html; charset=utf-8', page('Sign-in error', `<pre id="error">${html(err?.message ?? err)}</pre>`));
      } else {
        res.end();
      }
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(options.port ?? 0), '127.0.0.1', resolve);
  });
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  provider = build(issuer);

  return {
    issuer,
    port,
    rotateKeys,
    account,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function setting(args, name) {
  const arg = args.find((a) => a.startsWith(`${name}=`));
  return arg !== undefined ? arg.slice(name.length + 1) : process.env[`OIDC_${name}`];
}

async function main() {
  const args = process.argv.slice(2);
  const known = ['PORT', 'CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URI', 'POST_LOGOUT_REDIRECT_URI', 'EXIT_ON_STDIN_EOF'];
  for (const a of args) {
    if (!known.includes(a.split('=')[0])) throw new Error(`unknown argument ${a}; known: ${known.join(', ')} (KEY=VALUE)`);
  }
  const running = await startProvider({
    port: setting(args, 'PORT') ?? 0,
    clientId: setting(args, 'CLIENT_ID'),
    clientSecret: setting(args, 'CLIENT_SECRET'),
    redirectUris: setting(args, 'REDIRECT_URI'),
    postLogoutRedirectUris: setting(args, 'POST_LOGOUT_REDIRECT_URI'),
  });
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (setting(args, 'EXIT_ON_STDIN_EOF') === '1') {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
  process.stdout.write(`ready ${running.issuer}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`oidc: ${err?.stack ?? err}`);
    process.exit(1);
  });
}
