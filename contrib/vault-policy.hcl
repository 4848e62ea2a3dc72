# Vault policy for lockbox's broker: read what containers may ask for, and nothing else.
#
#   vault policy write lockbox contrib/vault-policy.hcl
#
# Adjust the paths to your mounts and to the allow-lists of the broker's roles (broker.json):
# Vault's policy and lockbox's roles are two locks on the same door, and a ref must pass both.
# The broker only reads; it never writes, lists or deletes.

# KV v2 mounted at secret/: the API path has "data/" after the mount (lockbox inserts it; refs
# are written without it: vault:secret/app/db#password).
path "secret/data/app/*" {
  capabilities = ["read"]
}

# KV v1 mounted at kv/: the path as written.
path "kv/app/*" {
  capabilities = ["read"]
}

# A dynamic secret (vault:database/creds/app#password): every read issues a lease, which the
# broker records and revokes when the container stops (poststop) or on `lockbox-broker revoke`.
path "database/creds/app" {
  capabilities = ["read"]
}

# Revoking those leases, and only those: sys/leases/revoke alone would let the broker revoke any
# lease in the namespace.
path "sys/leases/revoke" {
  capabilities = ["update"]
  allowed_parameters = {
    "lease_id" = ["database/creds/app/*"]
  }
}

# Needed by nothing here but worth knowing:
# - The KV version lookup (GET sys/internal/ui/mounts/PATH) has no rule of its own: Vault answers
#   it for any path under which the token has a capability.
# - Unwrapping a response-wrapped AppRole secret id (sys/wrapping/unwrap) and the token's own
#   lookup and renewal are in Vault's built-in "default" policy.
