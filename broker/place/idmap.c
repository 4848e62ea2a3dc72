/* SPDX-License-Identifier: Apache-2.0 */
#include "idmap.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fdutil.h"

static int read_map(pid_t pid, const char *which, uint32_t id, uint32_t *ret) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, which);
        int r = read_file_at(AT_FDCWD, path, 65536, &text, NULL);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long inside, outside, count;
                if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3)
                        return -EINVAL;
                if (id >= inside && id - inside < count) {
                        *ret = (uint32_t)(outside + (id - inside));
                        return 0;
                }
        }
        return -ERANGE;
}

int idmap_pid_to_host(pid_t pid, uint32_t uid, uint32_t gid, uint32_t *ret_host_uid,
                      uint32_t *ret_host_gid) {
        int r = read_map(pid, "uid_map", uid, ret_host_uid);
        if (r < 0)
                return r;
        return read_map(pid, "gid_map", gid, ret_host_gid);
}
