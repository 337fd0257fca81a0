// A real OpenID Connect provider for the SSO tests: the certified npm `oidc-provider`, with
// its development sign-in form (any password). Configured by environment variables:
//   PORT       the port to listen on (127.0.0.1)
//   CLIENTS    JSON list of oidc-provider client metadata
//   ACCOUNTS   JSON object: login -> claims (email, name, groups, department, manager...)
// Prints "ready <issuer>" on stdout once it listens.
import Provider from "oidc-provider";

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.CLIENTS || "[]");
const accounts = JSON.parse(process.env.ACCOUNTS || "{}");

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  responseTypes: ["code"],
  scopes: ["openid", "email", "profile", "groups", "offline_access"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "department", "manager"],
    groups: ["groups"],
  },
  conformIdTokenClaims: false,
  cookies: { keys: ["lyceum-test-oidc-peer"] },
  features: {
    devInteractions: { enabled: true },
    // RP-initiated logout: end_session_endpoint in discovery; clients register
    // post_logout_redirect_uris.
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, sub) {
    const claims = accounts[sub] || { email: `${sub}@example.test` };
    return {
      accountId: sub,
      async claims() {
        return { sub, email_verified: true, ...claims };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile groups");
    grant.addOIDCClaims(["email", "name", "given_name", "family_name", "groups", "department", "manager"]);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
