/* SPDX-License-Identifier: Apache-2.0 */
#include "propagation.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fdutil.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ...".
 * 1 when its id is mnt_id and an optional field says shared:N, 0 when its id is mnt_id and none
 * does, -ENOENT when it is another mount's line. */
static int mountinfo_line_shared(char *line, uint64_t mnt_id) {
        char *save = NULL, *f = strtok_r(line, " \n", &save);
        if (!f || strtoull(f, NULL, 10) != mnt_id)
                return -ENOENT;
        for (int field = 2; (f = strtok_r(NULL, " \n", &save)); field++) {
                if (field <= 6)
                        continue;
                if (streq_ptr(f, "-"))
                        return 0;
                if (strncmp(f, "shared:", 7) == 0)
                        return 1;
        }
        return 0;
}

int propagation_target_shared(int proc_self_fd, int target_fd) {
        struct statx stx;
        if (statx(target_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
                return negative_errno();
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        int fd = openat(proc_self_fd, "mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        FILE *f = fdopen(fd, "re");
        if (!f) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        char *line = NULL;
        size_t cap = 0;
        int r = -ENOENT;
        while (r == -ENOENT && getline(&line, &cap, f) > 0)
                r = mountinfo_line_shared(line, stx.stx_mnt_id);
        free(line);
        fclose(f);
        return r;
}
