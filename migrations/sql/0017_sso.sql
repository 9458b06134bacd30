-- Single sign-on (OpenID Connect): login attempts in flight, and which provider identity
-- is which account.

-- One authorization request waiting for its callback: single use, short-lived, bound to the
-- browser that started it (the hash of a nonce in its cookie), with the PKCE verifier and
-- the ID token's expected nonce.
CREATE TABLE oidc_logins (
    state_hash   text PRIMARY KEY,
    browser_hash text NOT NULL,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expiry_idx ON oidc_logins (expires_at);

-- A provider's subject is an account: found again by (issuer, subject), never by an email
-- address, which can change hands at the provider.
CREATE TABLE oidc_identities (
    issuer     text NOT NULL,
    subject    text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user_idx ON oidc_identities (user_id);

-- A workspace whose members must have signed in through single sign-on.
ALTER TABLE workspaces ADD COLUMN sso_only boolean NOT NULL DEFAULT false;
