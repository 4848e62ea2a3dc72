/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "http_status.h"
#include "macro.h"

/*
 * HTTPS for the network backends (Vault, Keywhiz), over libcurl's multi interface: one client
 * per backend and hook, its connections reused, a batch of requests run in parallel (HTTP/2
 * streams on one connection when the server offers h2, else a few kept-alive HTTP/1.1
 * connections), every request bounded by the client's deadline.
 *
 * Fixed policy, not options: https only (redirects are not followed, and no other scheme is
 * ever spoken), TLS 1.2 at least, the peer verified (against ca_file when given), proxy
 * variables in the environment ignored, a response size cap, every socket close-on-exec.
 * libcurl allocates through a wiping allocator (http_global_init), and response bodies live
 * in sodium_malloc buffers, because both hold tokens and secret values.
 */

#define HTTP_MAX_RESPONSE_DEFAULT ((size_t)1024 * 1024)
#define HTTP_MAX_ATTEMPTS 4 /* the first try and three retries, all within the deadline */

struct http_tls {
        const char *ca_file; /* NULL: the system's trust store */
        const char *cert_file, *key_file; /* client certificate (mTLS), NULL for none */
        /* The name the server's certificate is verified against (and sent as SNI and Host)
         * when it differs from the address's host: the connection still goes to the address
         * (CURLOPT_CONNECT_TO), as `curl --connect-to` does. NULL: the address's host. */
        const char *server_name;
        const char *pinned_pubkey; /* "sha256//BASE64[;sha256//...]", NULL for none */
};

struct http_client;

/* Milliseconds on CLOCK_MONOTONIC, the clock of every deadline here. */
uint64_t http_now_ms(void);

/*
 * A client for address ("https://host[:port][/prefix]"; anything else is -EINVAL with
 * ret_why set to a fixed phrase). Every request ends by deadline_ms (http_now_ms() clock).
 */
int http_client_new(const char *address, const struct http_tls *tls, uint64_t deadline_ms,
                    struct http_client **ret, const char **ret_why);
struct http_client *http_client_free(struct http_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct http_client *, http_client_free);
#define _cleanup_http_client_ _cleanup_(http_client_freep)
void http_client_set_max_response(struct http_client *c, size_t max);
uint64_t http_client_deadline(const struct http_client *c);

/*
 * The warm fetch agent (agent.h) keeps its clients: once this is called, http_client_new returns
 * the client made earlier for the same address and TLS settings, with the new deadline (each
 * request has its own), and http_client_free leaves it with its connections and its TLS
 * sessions (a share handle) for the next batch. A hook never calls it: its clients live for one
 * batch, as before.
 */
void http_keep_clients(void);

struct http_client_stats {
        const char *address; /* as the backend's configuration wrote it */
        unsigned connections; /* open now */
        unsigned connections_opened; /* since the client was made */
        uint64_t requests; /* transfers started, retries included */
};
/* Each kept client, for the agent's status. */
void http_kept_clients(void (*fn)(const struct http_client_stats *s, void *userdata),
                       void *userdata);

/* A response body: in its batch's arena (one secret_pool for the bodies of one http_perform:
 * locked, guard pages at both ends, wiped), or in a sodium_malloc buffer of its own when the
 * arena is full. Wiped when freed either way. */
struct http_body {
        unsigned char *data;
        size_t size, cap;
        bool in_arena;
};

struct http_request {
        /* Filled by the caller (http_request_init, http_request_header). */
        const char *method; /* "GET", "POST", "PUT" */
        char *path; /* "/v1/secret/data/app?version=2", already escaped; owned */
        void *headers; /* struct curl_slist *, owned; its strings are wiped when freed */
        const void *body; /* not copied: must live until http_perform returns */
        size_t body_size;
        void *opaque; /* the caller's */

        /* The outcome. status 0 means no HTTP answer: error and why say what went wrong. */
        long status;
        int error; /* 0, or a negative errno for a transport failure or an oversized body */
        const char *why; /* a fixed phrase (never server text) when error != 0 */
        unsigned attempts;
        struct http_body response;

        /* Private to http.c. */
        void *easy;
        struct secret_pool *arena; /* of the last http_perform, held until http_request_done */
        uint64_t retry_at;
        bool in_multi, finished, too_large;
        size_t max_response;
};

/* path is copied; method must be a string literal or outlive the request. */
int http_request_init(struct http_request *r, const char *method, const char *path);
/* Adds "name: value". value may be a token: the line is built in wiped memory, and libcurl's
 * copy is wiped when the request is done. */
int http_request_header(struct http_request *r, const char *name, const void *value, size_t size);
void http_request_done(struct http_request *r);

/*
 * Run every request to a final outcome: an HTTP status that is not retried, a transport
 * failure that is not retried, or the deadline. Connection errors, 412, 429 and 5xx but 501
 * are retried with jittered exponential backoff (Retry-After is honoured) while the deadline
 * allows, HTTP_MAX_ATTEMPTS times at most. Returns 0 when each request has its outcome in its
 * fields, a negative errno only for a local failure (memory, libcurl setup).
 */
int http_perform(struct http_client *c, struct http_request *const *reqs, size_t n);
