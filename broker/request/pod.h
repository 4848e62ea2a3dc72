/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "json.h"

/*
 * Kubernetes pods, as the node's CRI runtime states them in each container's annotations.
 *
 *   containerd (CRI plugin)  io.kubernetes.cri.container-type  sandbox | container
 *                            io.kubernetes.cri.sandbox-namespace, -name, -uid, container-name
 *   CRI-O                    io.kubernetes.cri-o.ContainerType  sandbox | container
 *                            io.kubernetes.pod.namespace, .name, .uid, io.kubernetes.container.name
 *
 * Each runtime writes its own keys after the pod's annotations it passes through (containerd's
 * pod_annotations; CRI-O copies every pod annotation into each container), so a pod cannot
 * override them; it can add the OTHER runtime's keys, though (containerd passes through
 * whatever pod_annotations allows, "*" included; CRI-O everything). Which runtime's keys may
 * bind roles is therefore the node admin's choice ("kubernetes": {"runtime": ...} in the
 * broker configuration), never whichever keys a container happens to carry.
 */

enum pod_runtime {
        POD_RUNTIME_NONE, /* not configured / not a pod's container */
        POD_RUNTIME_CONTAINERD,
        POD_RUNTIME_CRIO,
};

/* "containerd", "cri-o" (the configuration's spelling); NULL for an unknown name. */
const char *pod_runtime_name(enum pod_runtime r);
int pod_runtime_from_name(const char *name, enum pod_runtime *ret);

/* The service-account token's mount point that the kubelet gives a pod's containers. */
#define POD_SA_MOUNT "/var/run/secrets/kubernetes.io/serviceaccount"

struct pod_identity {
        enum pod_runtime runtime; /* whose keys were read; NONE: not a pod's container */
        bool sandbox; /* the pod's sandbox (pause) container */
        /* The keys are those of the runtime the configuration names: they may bind roles. False
         * without "kubernetes.runtime" (then only the sandbox test and container names, which
         * can only make lockbox place less, use them). */
        bool asserted;
        /* Borrowed from the annotations (valid Kubernetes names, checked); NULL when absent. */
        const char *namespace, *name, *uid, *container;
};

/* Whether either runtime marks this container as a pod's sandbox (pause) container. A pod can
 * add the other runtime's marker to its own containers; that only keeps lockbox out of them. */
bool pod_is_sandbox(const json_t *annotations);

/*
 * The pod identity of a container from its annotations (an object; may be NULL). configured
 * is the configuration's kubernetes.runtime: its keys only, and then asserted; NONE: the first
 * runtime whose container-type key is present, not asserted. A runtime's container-type key
 * absent: runtime NONE (not a pod's container, as far as that runtime says). A present key
 * that is not a valid Kubernetes name (or uid) of the configured runtime: -EINVAL, one line
 * logged; of an unconfigured runtime it is left out (NULL).
 */
int pod_identify(const json_t *annotations, enum pod_runtime configured, struct pod_identity *ret);

/* What the hook does with a pod's container (the request's io.lockbox.containers, and
 * whether the container's command is lockbox-shim). */
enum pod_decision {
        POD_PLACE, /* place the secrets */
        POD_SKIP_SANDBOX, /* the sandbox: nothing */
        POD_SKIP_UNNAMED, /* not in io.lockbox.containers: nothing */
        POD_SKIP_NO_SHIM, /* no list, and the container does not run the shim: nothing, audited */
        POD_REFUSE_NO_SHIM, /* named in the list but does not run the shim: refused */
};

/*
 * containers: the request's io.lockbox.containers (n == 0 and containers NULL: not given).
 * runs_shim: the container's process.args[0] is lockbox-shim. Outside a pod (runtime NONE)
 * always POD_PLACE: a runc, Docker or Podman container may hold its tmpfs for its life.
 */
enum pod_decision pod_decide(const struct pod_identity *pod, char *const *containers, size_t n,
                             bool runs_shim);

/* Whether args0 (process.args[0]) names lockbox-shim ("lockbox-shim" or ".../lockbox-shim"). */
bool pod_runs_shim(const char *args0);

/* A Kubernetes DNS label (container names, namespaces): [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
bool pod_name_is_label(const char *s);
/* A DNS subdomain (pod and service-account names): labels joined by '.', <= 253. */
bool pod_name_is_subdomain(const char *s);
