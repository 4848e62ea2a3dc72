/* SPDX-License-Identifier: Apache-2.0 */
#include "name.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdutil.h"
#include "macro.h"

static bool is_alnum(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* What Docker, Podman, nerdctl and Kubernetes allow in a name ([a-zA-Z0-9][a-zA-Z0-9_.-]*),
 * ':' and '/' between parts ("POD/CONTAINER"), each part starting alphanumeric: never "..". */
bool container_name_is_valid(const char *s) {
        size_t len = s ? strlen(s) : 0;
        if (len == 0 || len > CONTAINER_NAME_MAX)
                return false;
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/-") != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((i == 0 || s[i - 1] == '/' || s[i - 1] == ':') && !is_alnum(s[i]))
                        return false;
        return true;
}

static char *name_join(const char *pod, const char *container) {
        char buf[2 * CONTAINER_NAME_MAX + 2];
        if (!container_name_is_valid(pod))
                return NULL;
        if (container && !container_name_is_valid(container))
                container = NULL;
        snprintf(buf, sizeof buf, "%s%s%s", pod, container ? "/" : "", container ?: "");
        return container_name_is_valid(buf) ? strdup(buf) : NULL;
}

static const char *annotation(const json_t *annotations, const char *key) {
        return json_string_value(json_object_get(annotations, key));
}

char *container_name_from_annotations(const json_t *annotations) {
        /* containerd's CRI plugin (pkg/cri/annotations); the sandbox has no container name. */
        const char *pod = annotation(annotations, "io.kubernetes.cri.sandbox-name");
        if (pod) {
                bool sandbox = streq_ptr(
                        annotation(annotations, "io.kubernetes.cri.container-type"), "sandbox");
                return name_join(
                        pod, sandbox ? NULL
                                     : annotation(annotations, "io.kubernetes.cri.container-name"));
        }
        /* CRI-O (and the kubelet's labels it copies) */
        pod = annotation(annotations, "io.kubernetes.pod.name");
        if (pod)
                return name_join(pod, annotation(annotations, "io.kubernetes.container.name"));
        const char *n = annotation(annotations, "nerdctl/name");
        return container_name_is_valid(n) ? strdup(n) : NULL;
}

/* /proc/PID/stat's fourth field. */
static pid_t parent_of(pid_t pid) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        int ppid;

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        if (read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
                return 0;
        /* comm may hold spaces and parentheses: the fields start after the last ')'. */
        const char *p = strrchr(text, ')');
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                return 0;
        return ppid;
}

/* conmon's argv: "-c ID" (or --cid) must be this container's, then "-n NAME" (--name). */
static char *conmon_name(const char *argv, size_t size, const char *id) {
        const char *name = NULL;
        bool ours = false;
        for (const char *a = argv; a < argv + size; a += strlen(a) + 1) {
                const char *next = a + strlen(a) + 1;
                bool has_next = next < argv + size;
                if ((streq_ptr(a, "-c") || streq_ptr(a, "--cid")) && has_next)
                        ours = streq_ptr(next, id);
                else if ((streq_ptr(a, "-n") || streq_ptr(a, "--name")) && has_next)
                        name = next;
                else if (strncmp(a, "--name=", 7) == 0)
                        name = a + 7;
        }
        return ours && container_name_is_valid(name) ? strdup(name) : NULL;
}

char *container_name_from_conmon(pid_t pid, const char *id, int depth) {
        for (int i = 0; i < depth && pid > 1; i++, pid = parent_of(pid)) {
                char path[64];
                _cleanup_free_ char *comm = NULL, *argv = NULL;
                size_t size;

                snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
                if (read_file_at(AT_FDCWD, path, 64, &comm, NULL) < 0 ||
                    !streq_ptr(comm, "conmon\n"))
                        continue;
                snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
                if (read_file_at(AT_FDCWD, path, 64 * 1024, &argv, &size) < 0)
                        return NULL;
                return conmon_name(argv, size, id);
        }
        return NULL;
}

char *container_name_find(const json_t *annotations, const char *id) {
        char *name = container_name_from_annotations(annotations);
        if (name)
                return name;
        /* The hook's parent is the runtime (runc, crun), whose parent is conmon under Podman. */
        return container_name_from_conmon(getppid(), id, 3);
}
