/* SPDX-License-Identifier: Apache-2.0 */
#include "fetch.h"

#include <string.h>

#include "agent_client.h"
#include "backend.h"
#include "log.h"
#include "pod_token.h"
#include "privsep.h"

/* The secrets of req on local (the store) or network backends, as a request of their own: the
 * entries are copies that share req's strings (not to be request_done'd). */
struct fetch_part {
        struct request req;
        size_t *index; /* part.req.secrets[i] is req->secrets[index[i]] */
        struct fetched_secret *out;
};

static void fetch_part_done(struct fetch_part *p) {
        if (p->out)
                fetched_done(p->out, p->req.n_secrets);
        free(p->out);
        free(p->req.secrets);
        free(p->index);
        *p = (struct fetch_part){0};
}

static int fetch_split(const struct broker_config *cfg, const struct request *req,
                       struct fetch_part *local, struct fetch_part *remote) {
        struct fetch_part *parts[] = {local, remote};
        for (size_t k = 0; k < 2; k++) {
                parts[k]->req.secrets = calloc(req->n_secrets, sizeof *req->secrets);
                parts[k]->index = calloc(req->n_secrets, sizeof *parts[k]->index);
                parts[k]->out = calloc(req->n_secrets + 1, sizeof *parts[k]->out);
                parts[k]->req.role = req->role;
                if (!parts[k]->req.secrets || !parts[k]->index || !parts[k]->out)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < req->n_secrets; i++) {
                const struct backend_config *b =
                        config_find_backend(cfg, req->secrets[i].ref.backend);
                if (!b)
                        return -ENOENT; /* the child says which, as ever */
                struct fetch_part *p = backend_is_local(b) ? local : remote;
                p->index[p->req.n_secrets] = i;
                p->req.secrets[p->req.n_secrets++] = req->secrets[i];
        }
        return 0;
}

/* The part's values moved to their places in out. */
static void fetch_merge(struct fetch_part *p, struct fetched_secret *out) {
        for (size_t i = 0; i < p->req.n_secrets; i++) {
                out[p->index[i]] = p->out[i];
                p->out[i] = (struct fetched_secret){0};
        }
}

/* Whether the agent is worth asking: it is on, and this hook's fetcher would be filtered. A pod's
 * container that logs in to Vault with the pod's own projected token (pod_token.h) is fetched
 * here: the agent logs in only as the configuration says, and one hook's token must not become
 * a login the agent keeps for the next. */
static bool fetch_agent_wanted(const struct broker_config *cfg) {
        return cfg->agent_enabled && !pod_token_active() &&
               privsep_filter_state(cfg) != -EAFNOSUPPORT;
}

int fetch_secrets(const struct broker_config *cfg, const struct role *role,
                  const struct request *req, struct fetched_secret *out) {
        _cleanup_(fetch_part_done) struct fetch_part local = {0}, remote = {0};
        if (!fetch_agent_wanted(cfg) || fetch_split(cfg, req, &local, &remote) < 0 ||
            remote.req.n_secrets == 0)
                return privsep_fetch_all(cfg, role, req, out);
        /* The store first, as the child reads it before the network: a store failure costs
         * no lease. */
        if (local.req.n_secrets) {
                int r = privsep_fetch_all(cfg, role, &local.req, local.out);
                if (r < 0)
                        return r;
        }
        int r = agent_fetch(cfg, role, &remote.req, remote.out);
        if (r == AGENT_UNAVAILABLE) {
                fetch_part_done(&local);
                return privsep_fetch_all(cfg, role, req, out);
        }
        if (r < 0)
                return r;
        fetch_merge(&local, out);
        fetch_merge(&remote, out);
        return 0;
}
