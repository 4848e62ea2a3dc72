/* SPDX-License-Identifier: Apache-2.0 */
/* What a hook sends the warm fetch agent (broker/fetch/agent_proto.h). Only root may connect,
 * but the agent is the unprivileged side: it must never crash on a message, and what it accepts
 * must be what the hook could have sent: encoding it again gives the same bytes. */
#include "fetch/agent_proto.h"
#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_init();
        struct agent_request ar;
        if (agent_request_decode(data, size, &ar) < 0)
                return 0;
        fuzz_assert(ar.kind == AGENT_FETCH || ar.kind == AGENT_STATUS);
        fuzz_assert(ar.kind == AGENT_FETCH || ar.req.n_secrets == 0);
        for (size_t i = 0; i < ar.req.n_secrets; i++) {
                fuzz_assert(secret_name_is_valid(ar.req.secrets[i].name));
                fuzz_assert(ar.req.secrets[i].ref.backend && ar.req.secrets[i].ref.path);
        }
        void *again = NULL;
        size_t again_size = 0;
        fuzz_assert(agent_request_encode(ar.kind, ar.digest, ar.req.role, &ar.req, &again,
                                         &again_size) == 0);
        fuzz_assert(again_size == size && memcmp(again, data, size) == 0);
        free(again);
        agent_request_done(&ar);
        return 0;
}
