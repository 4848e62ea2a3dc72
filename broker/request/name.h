/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "json.h"

#define CONTAINER_NAME_MAX 255

/*
 * The name a runtime gave the container, where it recorded one that a hook can see, so that
 * status, rotate and revoke take what operators type. In this order:
 *   - Kubernetes through containerd's CRI plugin: the annotations
 *     io.kubernetes.cri.sandbox-name and io.kubernetes.cri.container-name, as "POD/CONTAINER"
 *     ("POD" alone for the pod's sandbox, io.kubernetes.cri.container-type "sandbox");
 *   - Kubernetes through CRI-O: io.kubernetes.pod.name and io.kubernetes.container.name, the same;
 *   - nerdctl: nerdctl/name;
 *   - Podman 4 (which puts no name into config.json): the -n NAME of the conmon that runs the
 *     runtime for this very container (its -c is the container's id), found among the hook's
 *     nearest ancestors.
 * Docker 20.10 hands the runtime no name at all: its containers go by id or id prefix.
 * A name is a label for lookups, never a key: 1..255 of [A-Za-z0-9_.:/-], each part (between
 * '/' and ':') starting with a letter or digit; anything else is ignored. Returns a malloc'd
 * name, or NULL when there is none.
 */
char *container_name_find(const json_t *annotations, const char *id);

/* The same from the annotations alone (no process is looked at): for tests and for inject. */
char *container_name_from_annotations(const json_t *annotations);

/* The conmon part: ancestors of pid, up to depth levels. */
char *container_name_from_conmon(pid_t pid, const char *id, int depth);

bool container_name_is_valid(const char *s);
