// A real OpenID Connect provider (panva's oidc-provider) on loopback for tests/test_oauth.py.
//
//   node server.mjs CONFIG.json
//
// CONFIG: {"clients": [<oidc-provider client metadata>], "jwks": {"keys": [<private JWK>]},
//          "accounts": {"<id>": {<claims>}}, "defaultAccount": "<id>"}
// It listens on a free loopback port, then prints one JSON line {"issuer": "http://127.0.0.1:N"}.
//
// Sign-in needs no form: an interaction logs in the account named by the authorization
// request's login_hint (else defaultAccount) and grants what the client asked for. Everything
// else (discovery, PKCE, codes, tokens, JWKS, userinfo) is oidc-provider's own.
//
// Test-only endpoints (loopback, for the test process):
//   POST /__test/accounts     {"<id>": {claims}}      add or replace accounts
//   POST /__test/default      {"account": "<id>"}     account used without a login_hint
//   POST /__test/next-id-token {"id_token": "<jwt>"}  the NEXT token response carries this
//                             id_token instead of the provider's (a token the test forged)
//   GET  /__test/stats        {"tokenRequests": n}
import http from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = { ...(config.accounts ?? {}) };
let defaultAccount = config.defaultAccount ?? null;
let nextIdToken = null;
let tokenRequests = 0;

const readJson = (req) =>
  new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch (error) {
        reject(error);
      }
    });
  });

const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

let provider;

async function testEndpoint(req, res, path) {
  if (req.method === 'POST' && path === '/__test/accounts') {
    Object.assign(accounts, await readJson(req));
    return send(res, 200, { accounts: Object.keys(accounts) });
  }
  if (req.method === 'POST' && path === '/__test/default') {
    defaultAccount = (await readJson(req)).account;
    return send(res, 200, { account: defaultAccount });
  }
  if (req.method === 'POST' && path === '/__test/next-id-token') {
    nextIdToken = (await readJson(req)).id_token;
    return send(res, 200, {});
  }
  if (req.method === 'GET' && path === '/__test/stats') {
    return send(res, 200, { tokenRequests });
  }
  return send(res, 404, { error: 'unknown test endpoint' });
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint || defaultAccount;
    if (!accountId || !accounts[accountId]) {
      return send(res, 400, { error: `unknown account ${accountId}` });
    }
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    );
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(
    req,
    res,
    { consent: { grantId } },
    { mergeWithLastSubmission: true },
  );
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const done = (error) => {
    console.error(error);
    if (!res.headersSent) send(res, 500, { error: String(error) });
  };
  if (path.startsWith('/__test/')) return testEndpoint(req, res, path).catch(done);
  if (path.startsWith('/interaction/')) return interaction(req, res).catch(done);
  return provider.callback()(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: config.clients,
    jwks: config.jwks,
    cookies: { keys: ['darkroom-test-oidc'] },
    findAccount: async (ctx, id) =>
      accounts[id] && {
        accountId: id,
        claims: async () => ({ sub: id, ...accounts[id] }),
      },
    claims: {
      openid: ['sub', 'immich_role', 'immich_quota'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token') {
      tokenRequests += 1;
      if (ctx.status === 200 && nextIdToken) {
        ctx.body = { ...ctx.body, id_token: nextIdToken };
        nextIdToken = null;
      }
    }
  });
  console.log(JSON.stringify({ issuer }));
});
