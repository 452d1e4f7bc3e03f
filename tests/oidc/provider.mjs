// A real OpenID Connect provider (oidc-provider) for xinyipi's OIDC sign-in tests.
//
// Environment:
//   OIDC_ISSUER   the issuer URL clients see (the tests put a tampering proxy in front of it)
//   OIDC_PORT     the port to listen on, on 127.0.0.1 only
//   OIDC_CLIENTS  JSON array of clients ({client_id, client_secret, redirect_uris})
//
// Accounts: any login name signs in (the provider's development interactions, no password check).
// A login "staff:<username>" is a staff member (claim preferred_username); any other login is a
// citizen or a company, "<code>" or "<code>|<name>" (claims subject_code and name). The claims go
// into the ID token (conformIdTokenClaims: false). PKCE is required for every client.
// Prints "oidc-provider ready <issuer>" once it listens.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const issuer = process.env.OIDC_ISSUER;
const port = Number(process.env.OIDC_PORT);
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'xinyipi-test-key', use: 'sig', alg: 'RS256' };

function claimsOf(accountId) {
  if (accountId.startsWith('staff:')) {
    return { sub: accountId, preferred_username: accountId.slice('staff:'.length), name: accountId };
  }
  const [code, name] = accountId.split('|');
  return { sub: accountId, subject_code: code, name: name || code };
}

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({ grant_types: ['authorization_code'], response_types: ['code'], ...c })),
  jwks: { keys: [signing] },
  cookies: { keys: ['xinyipi-test-cookie-key'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'subject_code'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return claimsOf(id); } };
  },
  // first-party clients: consent is given by the sign-in itself
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['name', 'preferred_username', 'subject_code']);
    await grant.save();
    return grant;
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready ${issuer}`);
});
