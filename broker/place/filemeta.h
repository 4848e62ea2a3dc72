/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "fetch/fetched.h"
#include "request/request.h"
#include "placement.h"
#include "tmpfs.h"

/*
 * The file each placed secret becomes on the tmpfs: its name, mode and owner, from the request
 * and from the metadata a backend supplies (Keywhiz's mode, owner, group and filename, applied
 * as keysync applied them). What the request says wins.
 */

/* A container's /etc/passwd and /etc/group, read from its rootfs (never the host's: no
 * getpwnam). A file that is missing or unusable is NULL: every name is then unknown. */
struct userdb {
        char *passwd, *group;
};

#define USERDB_FILE_MAX (4 * 1024 * 1024)

/* Read etc/passwd and etc/group inside rootfd (openat2 RESOLVE_IN_ROOT, no symlink followed,
 * regular files only, at most USERDB_FILE_MAX). Only -ENOMEM is an error. */
int userdb_load(int rootfd, struct userdb *ret);
void userdb_done(struct userdb *db);

/* The id (third field) of the entry called name in a passwd or group file's text. -ENOENT when
 * there is none (or text is NULL), -EINVAL when its id is not a number. */
int userdb_find(const char *text, const char *name, uint32_t *ret);

struct filemeta {
        const char *file; /* borrowed: the fetched secret's file, or the request's name */
        mode_t mode;
        uint32_t uid, gid; /* in the container */
        bool owner_unknown, group_unknown; /* named by the backend, not found: defaults used */
};

/*
 * Decide one file. mode: io.lockbox.mode.NAME (sr->mode_set), else the backend's, else the
 * request's default (sr->mode). uid (gid): io.lockbox.uid (uid_set) gives uid; else the
 * backend's owner when the container's passwd (group) has it; else uid, the request's default.
 */
void filemeta_decide(const struct secret_request *sr, const struct fetched_secret *f, bool uid_set,
                     bool gid_set, uint32_t uid, uint32_t gid, const struct userdb *db,
                     struct filemeta *ret);

/*
 * The tmpfs files of a placement: one per placed secret (f[i].value set), in request order,
 * with file name, mode and owner (mapped to host ids) decided as above. The container's
 * passwd and group are read only when a backend named an owner or group that the request
 * does not set. Two secrets that would have one file name: -EEXIST. Logs one line on failure.
 * files has room for req->n_secrets entries.
 */
int filemeta_files(const struct placement *p, const struct request *req,
                   const struct fetched_secret *f, struct tmpfs_file *files, size_t *ret_n);
