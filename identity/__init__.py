"""Identity: single sign-on per space (OpenID Connect, SAML 2.0), SCIM 2.0 provisioning and
CSV bulk import (issue 16, points 2 and 3)."""
