/* SPDX-License-Identifier: Apache-2.0 */
#include "agent_proto.h"

#include <string.h>

#include "manifest.h"

#define AGENT_ROLE_MAX 256

struct agent_wire_request {
        uint32_t magic, version, kind, n_secrets;
        uint8_t digest[AGENT_DIGEST_BYTES];
        uint16_t role_len; /* 0: no role */
        uint16_t reserved;
};

struct agent_wire_secret {
        uint16_t name_len, ref_len;
        uint8_t optional;
        uint8_t reserved[3];
};

static size_t agent_secret_size(const struct secret_request *sr) {
        return sizeof(struct agent_wire_secret) + strlen(sr->name) + strlen(sr->ref_text);
}

int agent_request_encode(enum agent_kind kind, const uint8_t digest[AGENT_DIGEST_BYTES],
                         const char *role, const struct request *req, void **ret,
                         size_t *ret_size) {
        size_t n = req ? req->n_secrets : 0, role_len = role ? strlen(role) : 0;
        size_t size = sizeof(struct agent_wire_request) + role_len;
        if (n > AGENT_SECRETS_MAX || role_len > AGENT_ROLE_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                size += agent_secret_size(&req->secrets[i]);
        if (size > AGENT_REQUEST_MAX)
                return -E2BIG;
        unsigned char *buf = calloc(1, size), *p = buf;
        if (!buf)
                return -ENOMEM;
        struct agent_wire_request h = {.magic = AGENT_PROTO_MAGIC,
                                       .version = AGENT_PROTO_VERSION,
                                       .kind = (uint32_t)kind,
                                       .n_secrets = (uint32_t)n};
        memcpy(h.digest, digest, sizeof h.digest);
        h.role_len = (uint16_t)role_len;
        memcpy(p, &h, sizeof h);
        p += sizeof h;
        memcpy(p, role ? role : "", role_len);
        p += role_len;
        for (size_t i = 0; i < n; i++) {
                const struct secret_request *sr = &req->secrets[i];
                struct agent_wire_secret w = {.name_len = (uint16_t)strlen(sr->name),
                                              .ref_len = (uint16_t)strlen(sr->ref_text),
                                              .optional = sr->optional};
                memcpy(p, &w, sizeof w);
                memcpy(p + sizeof w, sr->name, w.name_len);
                memcpy(p + sizeof w + w.name_len, sr->ref_text, w.ref_len);
                p += agent_secret_size(sr);
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* len bytes at *p (within end) as a new string without NUL or control characters. */
static int agent_take_text(const unsigned char **p, const unsigned char *end, size_t len,
                           char **ret) {
        if ((size_t)(end - *p) < len)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if ((*p)[i] < 0x20 || (*p)[i] >= 0x7f)
                        return -EBADMSG;
        *ret = strndup((const char *)*p, len);
        if (!*ret)
                return -ENOMEM;
        *p += len;
        return 0;
}

static int agent_take_secret(const unsigned char **p, const unsigned char *end,
                             struct secret_request *sr) {
        struct agent_wire_secret w;
        if ((size_t)(end - *p) < sizeof w)
                return -EBADMSG;
        memcpy(&w, *p, sizeof w);
        *p += sizeof w;
        if (w.optional > 1 || w.reserved[0] || w.reserved[1] || w.reserved[2] ||
            w.ref_len > REF_MAX)
                return -EBADMSG;
        sr->optional = w.optional;
        int r = agent_take_text(p, end, w.name_len, &sr->name);
        if (r >= 0)
                r = agent_take_text(p, end, w.ref_len, &sr->ref_text);
        if (r < 0)
                return r;
        if (!secret_name_is_valid(sr->name))
                return -EBADMSG;
        r = ref_parse(sr->ref_text, &sr->ref);
        return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
}

static int agent_decode_body(const struct agent_wire_request *h, const unsigned char *p,
                             const unsigned char *end, struct agent_request *ret) {
        int r = 0;
        if (h->role_len > AGENT_ROLE_MAX)
                return -EBADMSG;
        if (h->role_len && (r = agent_take_text(&p, end, h->role_len, &ret->req.role)) < 0)
                return r;
        ret->req.secrets = calloc(h->n_secrets + 1, sizeof *ret->req.secrets);
        if (!ret->req.secrets)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_secrets; i++) {
                ret->req.n_secrets = i + 1; /* what request_done frees */
                r = agent_take_secret(&p, end, &ret->req.secrets[i]);
                if (r < 0)
                        return r;
        }
        return p == end ? 0 : -EBADMSG;
}

int agent_request_decode(const void *data, size_t size, struct agent_request *ret) {
        struct agent_wire_request h;
        *ret = (struct agent_request){0};
        if (size < sizeof h || size > AGENT_REQUEST_MAX)
                return -EBADMSG;
        memcpy(&h, data, sizeof h);
        if (h.magic != AGENT_PROTO_MAGIC || h.version != AGENT_PROTO_VERSION || h.reserved ||
            (h.kind != AGENT_FETCH && h.kind != AGENT_STATUS) || h.n_secrets > AGENT_SECRETS_MAX ||
            (h.kind == AGENT_STATUS && h.n_secrets))
                return -EBADMSG;
        ret->kind = (enum agent_kind)h.kind;
        memcpy(ret->digest, h.digest, sizeof ret->digest);
        const unsigned char *p = (const unsigned char *)data + sizeof h;
        int r = agent_decode_body(&h, p, (const unsigned char *)data + size, ret);
        if (r < 0)
                agent_request_done(ret);
        return r;
}

void agent_request_done(struct agent_request *r) {
        request_done(&r->req);
        *r = (struct agent_request){0};
}
