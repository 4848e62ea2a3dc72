/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "request/request.h"
#include "secret.h"

/*
 * What a hook and the warm fetch agent (agent.h) say to each other over the agent's socket
 * (SOCK_SEQPACKET: one message a datagram). The hook sends one request; the agent answers with
 * one agent_answer, then, for a fetch it accepts, the reply of the fetch child (privsep.h's
 * messages, checked by the same code) and closes the connection.
 *
 * The request names only what the hook's policy allowed: the role (for its auth override) and,
 * for each secret, its name, its ref and whether it is optional, plus the digest of the hook's
 * configuration (agent_digest.h). Pure: encoded and decoded here, unit-tested and fuzzed.
 */

#define AGENT_PROTO_MAGIC 0x41584c42U /* "BLXA" little-endian */
/* 2: the reply sends every header before the values (privsep.c), so an agent of version 1 left
 * running after an upgrade is refused and the hook fetches in its own child. */
#define AGENT_PROTO_VERSION 2U
#define AGENT_REQUEST_MAX (64 * 1024) /* bigger requests are fetched in the hook's own child */
#define AGENT_SECRETS_MAX 1024
#define AGENT_DIGEST_BYTES SECRET_HASH_BYTES

enum agent_kind {
        AGENT_FETCH = 1, /* fetch req's secrets */
        AGENT_STATUS = 2, /* the answer carries the agent's status as JSON */
};

/* The agent's first message. */
struct agent_answer {
        uint32_t magic, version;
        /* 0: accepted (a fetch's reply follows); -ESTALE: another configuration (the agent
         * exits); another negative errno: refused. */
        int32_t status;
        uint32_t pid; /* the agent's own */
        /* AGENT_STATUS: the JSON text follows the header in the same message. */
};

struct agent_request {
        enum agent_kind kind;
        uint8_t digest[AGENT_DIGEST_BYTES];
        struct request req; /* role, and secrets' name, ref_text, ref and optional */
};

/* kind, digest, role (NULL: none) and req's secrets (NULL for a status) into one malloc'd
 * message. -E2BIG when it would be larger than AGENT_REQUEST_MAX or name more secrets than
 * AGENT_SECRETS_MAX: the hook then fetches in its own child. */
int agent_request_encode(enum agent_kind kind, const uint8_t digest[AGENT_DIGEST_BYTES],
                         const char *role, const struct request *req, void **ret, size_t *ret_size);

/* The message back into ret. Anything but what encode makes (a bad magic, version or kind,
 * lengths that do not add up, a name or ref that does not parse, a role that is not a printable
 * name, trailing bytes) is -EBADMSG. */
int agent_request_decode(const void *data, size_t size, struct agent_request *ret);
void agent_request_done(struct agent_request *r);
