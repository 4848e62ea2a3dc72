/* SPDX-License-Identifier: Apache-2.0 */
/* A service-account token as a pod's volume holds it (its own making, if it likes): parsed for
 * the token cache's key and for messages, its signature checked against the cluster's keys. */
#include <string.h>

#include "fetch/jwt.h"
#include "fuzz.h"
#include "request/pod.h"

/* A claim that is kept is a Kubernetes name: it names cache entries and goes into messages. */
static void check_name(const char *s, bool (*valid)(const char *)) {
        fuzz_assert(!s || valid(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_init();
        struct jwt j;
        /* Not NUL-terminated: jwt_parse takes a length. */
        if (jwt_parse((const char *)data, size, &j) < 0) {
                fuzz_assert(!j.signature && !j.namespace && !j.service_account && !j.pod);
                return 0;
        }
        fuzz_assert(j.alg[0] && strlen(j.alg) < sizeof j.alg);
        fuzz_assert(j.signing_len < size && data[j.signing_len] == '.');
        fuzz_assert(j.signature);
        check_name(j.namespace, pod_name_is_label);
        check_name(j.service_account, pod_name_is_subdomain);
        check_name(j.pod, pod_name_is_subdomain);
        (void)jwt_times_valid(&j, 0);
        jwt_done(&j);
        return 0;
}
