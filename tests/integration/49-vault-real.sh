#!/bin/bash
# 49-vault-real.sh — the KV checks of 40-vault-kv.sh against a real Vault, when
# LOCKBOX_TEST_VAULT_ADDR and LOCKBOX_TEST_VAULT_TOKEN name one (LOCKBOX_TEST_VAULT_CACERT: its
# CA). The token needs to write and delete under secret/ (KV v2) and to enable and disable a KV
# v1 mount (a dev server's root token does). Skipped otherwise, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"

use_real_vault
vault_kv_suite
finish
