"""Pages of identity: SSO sign-in and logout, the CSV import."""

urlpatterns: list = []
