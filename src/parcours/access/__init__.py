"""Users, roles, organisational scope, sessions, API tokens and the audit trail."""
