"""Who is who: the trust the portal and the admin place in a signed-in person.

- `sessions`: sign-in sessions kept on the server (a copied cookie dies with sign-out, a password
  change, a disabled account);
- `guard`: wrong passwords counted atomically per account and client, and the lock that follows;
- `devices`: the signed cookie that recognises a browser that signed in to an account before;
- `ratelimit`: Flask-Limiter on the sign-in, registration and activation endpoints;
- `binding`: binding a portal account to a credit subject of the library, proven by an
  activation code sent to the subject's contact, or by a staff review;
- `accounts`: what staff do to applicant accounts (disable, enable, unbind, reset, verify), and
  whether an applicant's identity is verified;
- `oidc`: sign-in through the unified identity provider (统一身份认证, OpenID Connect).
"""
