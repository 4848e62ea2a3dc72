/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "credfile.h"
#include "http_curl.h"
#include "log.h"

/* HTTP/1.1 servers (no multiplexing): at most this many parallel connections to one host;
 * further requests queue for a kept-alive one. */
#define HTTP_MAX_HOST_CONNECTIONS 6
#define HTTP_BODY_INITIAL 2048
/* A batch's arena: this much a request (a Vault reply is some 400 bytes, a mount lookup 700),
 * at most HTTP_ARENA_MAX in all; a body's first size there, doubled as it grows. */
#define HTTP_ARENA_SHARE 1024
#define HTTP_ARENA_MAX ((size_t)256 * 1024)
#define HTTP_ARENA_FIRST 64
#define HTTP_PEM_MAX ((size_t)4 * 1024 * 1024) /* a CA bundle is ~200 KiB */

struct http_client {
        CURLM *multi;
        char *base_url; /* "https://name:port[/prefix]", no trailing slash */
        struct curl_slist *connect_to;
        /* The PEM files' contents, read once (credfile.c: through fds the secret fetcher
         * opened before it dropped root) and handed to libcurl as blobs, not paths. */
        struct secret *ca, *cert, *key;
        char *pinned_pubkey;
        uint64_t deadline_ms;
        size_t max_response;
        struct http_client_stats stats;
        /* Kept (http_keep_clients): found again by key (the address and TLS settings,
         * NUL-separated), used by that many batches now, and a share handle that keeps TLS
         * sessions and DNS answers between transfers. */
        struct http_client *next_kept;
        char *kept_key;
        size_t kept_key_size;
        unsigned users;
        CURLSH *share;
};

static bool http_keeping;
static struct http_client *http_kept;

uint64_t http_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- response bodies in locked memory ---------------------------------------------------- */

/* The bodies of one http_perform, carved one after another from one secret_pool (a locked
 * region of whole pages, guard pages at its two ends): one mapping and one mlock for the batch,
 * where a sodium_malloc per body cost a mapping, an mlock, guard pages and two resident pages
 * each (a fetch of 100 secrets: some 800 KiB more at its peak, and 600 more system calls).
 * Nothing is reused: a body that grows or is freed is wiped where it was. The pool is wiped and
 * unmapped with its last holder (the batch, and each request until http_request_done). NULL
 * when it cannot be had: each body then takes a sodium_malloc of its own. */
static struct secret_pool *http_arena_new(size_t n_requests) {
        size_t cap = n_requests > HTTP_ARENA_MAX / HTTP_ARENA_SHARE ? HTTP_ARENA_MAX
                                                                    : n_requests * HTTP_ARENA_SHARE;
        return secret_pool_try(cap);
}

static void http_body_free(struct http_body *b) {
        if (b->data && b->in_arena)
                sodium_memzero(b->data, b->cap);
        else if (b->data)
                sodium_free(b->data);
        *b = (struct http_body){0};
}

static int http_body_append(struct http_body *b, struct secret_pool *arena, const void *data,
                            size_t n, size_t max) {
        if (n > max - b->size)
                return -EFBIG;
        if (b->size + n > b->cap) {
                /* In the arena, what this chunk needs (a small reply comes whole); on its own,
                 * a page's worth, doubled as it grows. */
                size_t cap = b->cap ? b->cap : arena ? HTTP_ARENA_FIRST : HTTP_BODY_INITIAL;
                while (cap < b->size + n)
                        cap = cap > max / 2 ? max : cap * 2;
                /* Allocate, copy, free (which wipes): never realloc a buffer that holds values. */
                unsigned char *bigger = secret_pool_take(arena, cap);
                bool in_arena = bigger != NULL;
                if (!bigger)
                        bigger = sodium_malloc(cap);
                if (!bigger)
                        return -ENOMEM;
                size_t size = b->size;
                if (size)
                        memcpy(bigger, b->data, size);
                http_body_free(b);
                *b = (struct http_body){
                        .data = bigger, .size = size, .cap = cap, .in_arena = in_arena};
        }
        memcpy(b->data + b->size, data, n);
        b->size += n;
        return 0;
}

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct http_request *r = userdata;
        size_t n = size * nmemb;
        int e = http_body_append(&r->response, r->arena, ptr, n, r->max_response);
        if (e == -EFBIG)
                r->too_large = true;
        /* Anything but n aborts the transfer (CURLE_WRITE_ERROR). */
        return e < 0 ? 0 : n;
}

/* libcurl creates its sockets without SOCK_CLOEXEC; a hook that forks (the watcher) or a
 * runtime that execs must not inherit one (DESIGN §10.4). Counted, with the close below, for the
 * agent's status. */
static curl_socket_t http_open_socket(void *clientp, curlsocktype purpose,
                                      struct curl_sockaddr *a) {
        struct http_client *c = clientp;
        (void)purpose;
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (fd >= 0 && c) {
                c->stats.connections++;
                c->stats.connections_opened++;
        }
        return fd;
}

static int http_close_socket(void *clientp, curl_socket_t fd) {
        struct http_client *c = clientp;
        if (c && c->stats.connections)
                c->stats.connections--;
        return close(fd);
}

/* ---- requests ----------------------------------------------------------------------------- */

int http_request_init(struct http_request *r, const char *method, const char *path) {
        *r = (struct http_request){.method = method};
        r->path = strdup(path);
        return r->path ? 0 : -ENOMEM;
}

int http_request_header(struct http_request *r, const char *name, const void *value, size_t size) {
        size_t nlen = strlen(name);
        int e = http_global_init(); /* curl_slist_append, below */
        if (e < 0)
                return e;
        if (memchr(value, '\n', size) || memchr(value, '\r', size) || memchr(value, '\0', size))
                return -EINVAL;
        if (size > SIZE_MAX - nlen - 3)
                return -EINVAL;
        /* The line lives only until curl_slist_append has copied it (with libcurl's wiping
         * strdup, into memory that is not locked either). Every header lockbox sends fits the
         * stack buffer, wiped at once; sodium_malloc's guard pages and mlock cost some ten
         * system calls a line, about a third of the kernel time of 100 reads (make bench). */
        char stack_line[512];
        size_t len = nlen + 2 + size + 1;
        char *line = len <= sizeof stack_line ? stack_line : sodium_malloc(len);
        if (!line)
                return -ENOMEM;
        memcpy(line, name, nlen);
        memcpy(line + nlen, ": ", 2);
        memcpy(line + nlen + 2, value, size);
        line[nlen + 2 + size] = '\0';
        /* curl_slist_append copies with libcurl's (wiping) strdup. */
        struct curl_slist *l = curl_slist_append(r->headers, line);
        if (line == stack_line)
                sodium_memzero(stack_line, len);
        else
                sodium_free(line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

void http_request_done(struct http_request *r) {
        if (r->easy)
                curl_easy_cleanup(r->easy);
        if (r->headers) /* else libcurl may never have been loaded */
                curl_slist_free_all(r->headers);
        http_body_free(&r->response);
        secret_pool_unref(r->arena);
        free(r->path);
        *r = (struct http_request){0};
}

/* ---- the client --------------------------------------------------------------------------- */

static bool http_name_is_valid(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n < 254 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

static char *http_url_part(CURLU *u, CURLUPart part, unsigned flags) {
        char *s = NULL;
        if (curl_url_get(u, part, &s, flags) != CURLUE_OK)
                return NULL;
        char *copy = strdup(s);
        curl_free(s);
        return copy;
}

/* Base URL and, with a server name, the connect-to mapping. */
static int http_parse_address(struct http_client *c, const char *address, const char *server_name,
                              const char **why) {
        CURLU *u = curl_url();
        if (!u)
                return -ENOMEM;
        _cleanup_free_ char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL,
                            *user = NULL;
        int r = -EINVAL;
        *why = "address is not a URL";
        if (curl_url_set(u, CURLUPART_URL, address, 0) == CURLUE_OK) {
                scheme = http_url_part(u, CURLUPART_SCHEME, 0);
                host = http_url_part(u, CURLUPART_HOST, 0);
                port = http_url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
                path = http_url_part(u, CURLUPART_PATH, 0);
                query = http_url_part(u, CURLUPART_QUERY, 0);
                user = http_url_part(u, CURLUPART_USER, 0);
        }
        curl_url_cleanup(u);
        if (!scheme || !host || !port || !path)
                return r;
        if (!streq_ptr(scheme, "https"))
                return *why = "address must be https://", r;
        if (query || user)
                return *why = "address must not have a query or user name", r;
        if (server_name && !http_name_is_valid(server_name))
                return *why = "server_name is not a host name", r;
        size_t plen = strlen(path);
        while (plen > 0 && path[plen - 1] == '/')
                path[--plen] = '\0';
        if (asprintf(&c->base_url, "https://%s:%s%s", server_name ? server_name : host, port,
                     path) < 0) {
                c->base_url = NULL;
                return -ENOMEM;
        }
        if (server_name) {
                _cleanup_free_ char *map = NULL;
                if (asprintf(&map, "%s:%s:%s:%s", server_name, port, host, port) < 0)
                        return -ENOMEM;
                c->connect_to = curl_slist_append(NULL, map);
                if (!c->connect_to)
                        return -ENOMEM;
        }
        *why = NULL;
        return 0;
}

static int http_strdup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int http_multi_setup(struct http_client *c) {
        c->multi = curl_multi_init();
        if (!c->multi)
                return -ENOMEM;
        if (curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) !=
                    CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                              (long)HTTP_MAX_HOST_CONNECTIONS) != CURLM_OK)
                return log_error_errno(-EIO, "libcurl: cannot configure the connection pool");
        return 0;
}

/* A PEM file for libcurl, or nothing when path is NULL. */
static int http_read_pem(const char *path, struct secret **ret, const char *why_failed,
                         const char **ret_why) {
        if (!path)
                return 0;
        int r = credfile_read(path, HTTP_PEM_MAX, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug("%s: %s", path, strerror(-r));
                *ret_why = why_failed;
        }
        return r;
}

/* ---- kept clients (the agent) --------------------------------------------------------------- */

void http_keep_clients(void) {
        http_keeping = true;
}

/* address and every TLS setting, NUL-separated (NULL and "" differ: a marker byte each). */
static int http_kept_key(const char *address, const struct http_tls *tls, char **ret,
                         size_t *ret_size) {
        const char *parts[] = {address,       tls->ca_file,     tls->cert_file,
                               tls->key_file, tls->server_name, tls->pinned_pubkey};
        size_t size = 0;
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
                size += 2 + (parts[i] ? strlen(parts[i]) : 0);
        char *k = malloc(size), *p = k;
        if (!k)
                return -ENOMEM;
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
                size_t n = parts[i] ? strlen(parts[i]) : 0;
                *p++ = parts[i] ? '+' : '-';
                memcpy(p, parts[i] ? parts[i] : "", n);
                p[n] = '\0';
                p += n + 1;
        }
        *ret = k;
        *ret_size = size;
        return 0;
}

static struct http_client *http_kept_find(const char *key, size_t size) {
        for (struct http_client *c = http_kept; c; c = c->next_kept)
                if (c->kept_key_size == size && memcmp(c->kept_key, key, size) == 0)
                        return c;
        return NULL;
}

/* A new client joins the kept ones: its share handle keeps TLS sessions and DNS answers. */
static int http_kept_add(struct http_client *c, char *key, size_t size) {
        c->share = curl_share_init();
        if (!c->share)
                return -ENOMEM;
        if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
                    CURLSHE_OK ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
                return log_error_errno(-EIO, "libcurl: cannot share TLS sessions");
        /* Every kept-alive HTTP/1.1 connection a batch opened stays for the next one, not the
         * four per transfer still running that libcurl keeps by default. */
        if (curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MAX_HOST_CONNECTIONS) !=
            CURLM_OK)
                return log_error_errno(-EIO, "libcurl: cannot configure the connection pool");
        c->kept_key = key;
        c->kept_key_size = size;
        c->users = 1;
        c->next_kept = http_kept;
        http_kept = c;
        return 0;
}

void http_kept_clients(void (*fn)(const struct http_client_stats *s, void *userdata),
                       void *userdata) {
        for (struct http_client *c = http_kept; c; c = c->next_kept) {
                c->stats.address = c->kept_key + 1; /* the key's first part, past its marker */
                fn(&c->stats, userdata);
        }
}

static int http_client_make(const char *address, const struct http_tls *tls, uint64_t deadline_ms,
                            struct http_client **ret, const char **ret_why);

int http_client_new(const char *address, const struct http_tls *tls, uint64_t deadline_ms,
                    struct http_client **ret, const char **ret_why) {
        _cleanup_free_ char *key = NULL;
        size_t size = 0;
        *ret_why = NULL;
        if (!http_keeping)
                return http_client_make(address, tls, deadline_ms, ret, ret_why);
        int r = http_kept_key(address, tls, &key, &size);
        if (r < 0)
                return r;
        struct http_client *c = http_kept_find(key, size);
        if (c) {
                c->deadline_ms = deadline_ms;
                c->max_response = HTTP_MAX_RESPONSE_DEFAULT;
                c->users++;
                *ret = c;
                return 0;
        }
        r = http_client_make(address, tls, deadline_ms, &c, ret_why);
        if (r < 0)
                return r;
        r = http_kept_add(c, key, size);
        if (r < 0) {
                c->users = 0;
                c->kept_key = NULL; /* still ours: freed on return */
                http_client_free(c);
                return r;
        }
        TAKE_PTR(key);
        *ret = c;
        return 0;
}

static int http_client_make(const char *address, const struct http_tls *tls, uint64_t deadline_ms,
                            struct http_client **ret, const char **ret_why) {
        _cleanup_http_client_ struct http_client *c = calloc(1, sizeof *c);
        const char *why = NULL;
        int r;

        if (!c)
                return -ENOMEM;
        c->deadline_ms = deadline_ms;
        c->max_response = HTTP_MAX_RESPONSE_DEFAULT;
        r = http_global_init();
        if (r < 0)
                return r;
        r = http_parse_address(c, address, tls->server_name, &why);
        if (r < 0) {
                *ret_why = why;
                return r;
        }
        if (http_strdup_opt(tls->pinned_pubkey, &c->pinned_pubkey) < 0)
                return -ENOMEM;
        r = http_read_pem(tls->ca_file, &c->ca, "TLS: cannot read ca_file", ret_why);
        if (r >= 0)
                r = http_read_pem(tls->cert_file, &c->cert,
                                  "TLS: cannot use the client certificate (cert_file, key_file)",
                                  ret_why);
        if (r >= 0)
                r = http_read_pem(tls->key_file, &c->key,
                                  "TLS: cannot use the client certificate (cert_file, key_file)",
                                  ret_why);
        if (r < 0)
                return r;
        r = http_multi_setup(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

struct http_client *http_client_free(struct http_client *c) {
        if (!c)
                return NULL;
        if (c->users > 0) { /* kept: the next batch finds it again */
                c->users--;
                return NULL;
        }
        if (c->multi)
                curl_multi_cleanup(c->multi);
        if (c->connect_to)
                curl_slist_free_all(c->connect_to);
        free(c->base_url);
        secret_free(c->ca);
        secret_free(c->cert);
        secret_free(c->key);
        free(c->pinned_pubkey);
        if (c->share)
                curl_share_cleanup(c->share);
        free(c->kept_key);
        free(c);
        return NULL;
}

void http_client_set_max_response(struct http_client *c, size_t max) {
        c->max_response = max;
}

uint64_t http_client_deadline(const struct http_client *c) {
        return c->deadline_ms;
}

/* ---- one transfer ------------------------------------------------------------------------- */

static int http_setopt_failed(const char *name, CURLcode code) {
        return log_error_errno(-EINVAL, "libcurl: cannot set %s: %s", name,
                               curl_easy_strerror(code));
}

#define HTTP_SETOPT(e, opt, val)                                                                   \
        do {                                                                                       \
                CURLcode _hc_ = curl_easy_setopt((e), (opt), (val));                               \
                if (_hc_ != CURLE_OK)                                                              \
                        return http_setopt_failed(#opt, _hc_);                                     \
        } while (0)

/* What no request may do otherwise: another scheme, a redirect, a proxy, old TLS. */
static int http_easy_policy(CURL *e) {
        HTTP_SETOPT(e, CURLOPT_PROTOCOLS_STR, "https");
        HTTP_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        HTTP_SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
        /* An empty proxy and "*" for no_proxy: http_proxy, https_proxy and ALL_PROXY in the
         * environment of a hook (a runtime's, a daemon's) are never used. */
        HTTP_SETOPT(e, CURLOPT_PROXY, "");
        HTTP_SETOPT(e, CURLOPT_NOPROXY, "*");
        HTTP_SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        HTTP_SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
        HTTP_SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
        HTTP_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
        HTTP_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        /* Wait for the first connection to say whether it multiplexes (h2) rather than open
         * one connection a request. */
        HTTP_SETOPT(e, CURLOPT_PIPEWAIT, 1L);
        HTTP_SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
        HTTP_SETOPT(e, CURLOPT_USERAGENT, "lockbox");
        return 0;
}

static int http_easy_tls(const struct http_client *c, CURL *e) {
        /* NOCOPY: the blobs are the client's, which outlives every transfer it runs. */
        if (c->ca) {
                struct curl_blob b = {(void *)secret_cdata(c->ca), secret_size(c->ca),
                                      CURL_BLOB_NOCOPY};
                HTTP_SETOPT(e, CURLOPT_CAINFO_BLOB, &b);
                /* Only ca_file: not the system's CA file and directory as well. */
                HTTP_SETOPT(e, CURLOPT_CAINFO, (char *)NULL);
                HTTP_SETOPT(e, CURLOPT_CAPATH, (char *)NULL);
        }
        if (c->cert) {
                struct curl_blob b = {(void *)secret_cdata(c->cert), secret_size(c->cert),
                                      CURL_BLOB_NOCOPY};
                HTTP_SETOPT(e, CURLOPT_SSLCERT_BLOB, &b);
                HTTP_SETOPT(e, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (c->key) {
                struct curl_blob b = {(void *)secret_cdata(c->key), secret_size(c->key),
                                      CURL_BLOB_NOCOPY};
                HTTP_SETOPT(e, CURLOPT_SSLKEY_BLOB, &b);
                HTTP_SETOPT(e, CURLOPT_SSLKEYTYPE, "PEM");
        }
        if (c->pinned_pubkey)
                HTTP_SETOPT(e, CURLOPT_PINNEDPUBLICKEY, c->pinned_pubkey);
        if (c->connect_to)
                HTTP_SETOPT(e, CURLOPT_CONNECT_TO, c->connect_to);
        return 0;
}

static int http_easy_method(CURL *e, const struct http_request *r) {
        if (streq_ptr(r->method, "GET"))
                HTTP_SETOPT(e, CURLOPT_HTTPGET, 1L);
        else {
                if (!streq_ptr(r->method, "POST"))
                        HTTP_SETOPT(e, CURLOPT_CUSTOMREQUEST, r->method);
                HTTP_SETOPT(e, CURLOPT_POST, 1L);
                HTTP_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_size);
                /* Not COPYPOSTFIELDS: the body may hold a secret id, kept in the caller's
                 * locked buffer rather than copied. */
                HTTP_SETOPT(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        }
        return 0;
}

static int http_easy_new(struct http_client *c, struct http_request *r) {
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s%s", c->base_url, r->path) < 0)
                return -ENOMEM;
        CURL *e = curl_easy_init();
        if (!e)
                return -ENOMEM;
        r->easy = e;
        r->max_response = c->max_response;
        int ret = http_easy_policy(e);
        if (ret < 0)
                return ret;
        ret = http_easy_tls(c, e);
        if (ret < 0)
                return ret;
        ret = http_easy_method(e, r);
        if (ret < 0)
                return ret;
        HTTP_SETOPT(e, CURLOPT_URL, url);
        HTTP_SETOPT(e, CURLOPT_HTTPHEADER, (struct curl_slist *)r->headers);
        HTTP_SETOPT(e, CURLOPT_WRITEFUNCTION, http_write);
        HTTP_SETOPT(e, CURLOPT_WRITEDATA, r);
        /* A Content-Length over the cap stops the transfer before the body arrives; the
         * write callback catches a body without one. */
        HTTP_SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
        HTTP_SETOPT(e, CURLOPT_PRIVATE, r);
        HTTP_SETOPT(e, CURLOPT_OPENSOCKETDATA, c);
        HTTP_SETOPT(e, CURLOPT_CLOSESOCKETFUNCTION, http_close_socket);
        HTTP_SETOPT(e, CURLOPT_CLOSESOCKETDATA, c);
        if (c->share)
                HTTP_SETOPT(e, CURLOPT_SHARE, c->share);
        /* Replies are small and a batch holds a transfer a secret: 4 KiB receive buffers
         * instead of 16 KiB keep 100 parallel reads about 1 MiB lighter. */
        HTTP_SETOPT(e, CURLOPT_BUFFERSIZE, 4096L);
        return 0;
}

static int http_start(struct http_client *c, struct http_request *r, uint64_t now) {
        long left = (long)(c->deadline_ms - now);
        HTTP_SETOPT(r->easy, CURLOPT_CONNECTTIMEOUT_MS, left);
        HTTP_SETOPT(r->easy, CURLOPT_TIMEOUT_MS, left);
        http_body_free(&r->response);
        r->too_large = false;
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
                return log_error_errno(-EIO, "libcurl: cannot start a transfer");
        r->in_multi = true;
        c->stats.requests++;
        return 0;
}

static void http_outcome(struct http_client *c, struct http_request *r, CURLcode code) {
        bool retry = false;
        long status = 0;

        r->attempts++;
        r->error = 0;
        r->why = NULL;
        if (code == CURLE_OK) {
                (void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
                retry = http_status_is_retried(status);
        } else {
                r->error = http_transport_error(code, r->too_large, &r->why, &retry);
        }
        r->status = status;
        log_debug("%s %s: %s%ld (attempt %u)", r->method, r->path, r->why ? r->why : "", status,
                  r->attempts);
        if (retry && r->attempts < HTTP_MAX_ATTEMPTS) {
                uint64_t now = http_now_ms(), delay = http_backoff_ms(r->attempts, r->easy, status);
                if (now + delay < c->deadline_ms) {
                        r->retry_at = now + delay;
                        return;
                }
        }
        r->finished = true;
}

/* Returns how many transfers finished. */
static int http_collect(struct http_client *c) {
        CURLMsg *m;
        int left, done = 0;
        while ((m = curl_multi_info_read(c->multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                struct http_request *r = NULL;
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
                CURLcode code = m->data.result;
                /* m is invalid once the handle is removed. */
                curl_multi_remove_handle(c->multi, m->easy_handle);
                if (!r)
                        continue;
                r->in_multi = false;
                http_outcome(c, r, code);
                done++;
        }
        return done;
}

/* Start what is due, give up on what the deadline leaves no time for. Returns how many are not
 * finished and, in *ret_next, when the next retry is due. */
static int http_schedule(struct http_client *c, struct http_request *const *reqs, size_t n,
                         size_t *ret_active, uint64_t *ret_next) {
        uint64_t now = http_now_ms(), next = UINT64_MAX;
        size_t active = 0;
        for (size_t i = 0; i < n; i++) {
                struct http_request *r = reqs[i];
                if (r->finished)
                        continue;
                if (!r->in_multi && now >= c->deadline_ms) {
                        if (!r->error && !r->status) {
                                r->error = -ETIMEDOUT;
                                r->why = "timed out (timeout_ms)";
                        }
                        r->finished = true;
                        continue;
                }
                if (!r->in_multi && r->retry_at <= now) {
                        int e = http_start(c, r, now);
                        if (e < 0)
                                return e;
                } else if (!r->in_multi && r->retry_at < next)
                        next = r->retry_at;
                active++;
        }
        *ret_active = active;
        *ret_next = next;
        return 0;
}

static int http_perform_in(struct http_client *c, struct http_request *const *reqs, size_t n,
                           struct secret_pool *arena) {
        for (size_t i = 0; i < n; i++) {
                struct http_request *r = reqs[i];
                /* A body of an earlier batch is in that batch's arena: gone before this one's. */
                http_body_free(&r->response);
                secret_pool_unref(r->arena);
                r->arena = secret_pool_ref(arena);
                r->status = 0;
                r->error = 0;
                r->why = NULL;
                r->attempts = 0;
                r->retry_at = 0;
                r->finished = false;
                if (!r->easy) {
                        int e = http_easy_new(c, r);
                        if (e < 0)
                                return e;
                }
        }
        for (;;) {
                size_t active;
                uint64_t next;
                int e = http_schedule(c, reqs, n, &active, &next);
                if (e < 0)
                        return e;
                if (active == 0)
                        return 0;
                int running;
                if (curl_multi_perform(c->multi, &running) != CURLM_OK)
                        return log_error_errno(-EIO, "libcurl: transfer loop failed");
                /* Finished transfers: back to scheduling at once (a retry may be due, or all
                 * may be done), not after a poll that nothing would wake. */
                if (http_collect(c) > 0)
                        continue;
                uint64_t now = http_now_ms(), until = next < c->deadline_ms ? next : c->deadline_ms;
                long wait = until > now ? (long)(until - now) : 0;
                if (wait > 1000)
                        wait = 1000;
                if (curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL) != CURLM_OK)
                        return log_error_errno(-EIO, "libcurl: poll failed");
        }
}

int http_perform(struct http_client *c, struct http_request *const *reqs, size_t n) {
        struct secret_pool *arena = http_arena_new(n);
        int r = http_perform_in(c, reqs, n, arena);
        secret_pool_unref(arena);
        return r;
}
