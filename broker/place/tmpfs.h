/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "manifest.h"
#include "secret.h"

/* One file to lay down on the tmpfs. */
struct tmpfs_file {
        const char *name; /* secret name, also the file name unless file is set */
        const struct secret *value;
        mode_t mode;
        const char *file; /* the file's name when a backend gave another (Keywhiz), or NULL */
        bool has_owner; /* the file's own owner (backend metadata); else the spec's */
        uint32_t host_uid, host_gid;
};

/* The name the file has on the tmpfs and in the manifest. */
static inline const char *tmpfs_file_name(const struct tmpfs_file *f) {
        return f->file ? f->file : f->name;
}

struct tmpfs_spec {
        uint64_t size_max; /* bytes */
        /* Owner of the files and the consumption marker; host_gid is also the group of the
         * root directory and the manifest, which belong to host root (see tmpfs.c). */
        uint32_t host_uid, host_gid;
};

/* A detached tmpfs (fsopen/fsconfig/fsmount): size-limited, nosuid,nodev,noexec, noswap where
 * the kernel has it, its source named "lockbox" (how mountinfo tells it from other tmpfs
 * mounts), root directory root's with the spec's group (0750). Returns the mount fd. */
int tmpfs_create(const struct tmpfs_spec *spec, const struct tmpfs_file *files, size_t n_files,
                 int *ret_mount_fd);

/* Write each file (O_EXCL, mode 0, then fchown/fchmod so it is never visible with a wider
 * mode), the consumption marker (MANIFEST_CONSUMED_FILE, the spec's owner, 0220) and then the
 * manifest (root and the spec's group, 0440), last, into the mount behind mount_fd. */
int tmpfs_write(int mount_fd, const struct tmpfs_spec *spec, const char *container_id,
                uint64_t generation, const struct tmpfs_file *files, size_t n_files);

#define TMPFS_TEMP_NAME_MAX 32

/*
 * Rotation of a tmpfs that is still mounted (no shim consumed it): dir_fd is its root, opened
 * from the watcher's mount fd. Each file is written under a temporary name (O_EXCL, mode 0,
 * then owner and mode), all of them before any is renamed over its secret's name; then the
 * manifest m, last, the same way. A failure before the first rename changes nothing. Returns
 * the new manifest's inode, so that the caller can tell whether the shim consumed it since.
 */
int tmpfs_replace(int dir_fd, const struct tmpfs_spec *spec, const struct manifest *m,
                  const struct tmpfs_file *files, size_t n_files, ino_t *ret_manifest_ino);

/*
 * In a child that joins the mount namespace of the process behind pidfd: open rootfs (a path
 * in that namespace: the rootfs' host path before pivot_root, "/" after), resolve dir inside it
 * with no symlink followed (creating missing directories, as runc creates its own mount points,
 * also in a rootfs that is read-only once started: runc remounts it after the createRuntime
 * hooks), refuse a target on procfs or sysfs, and move_mount the tmpfs onto it. -EROFS when a
 * missing directory cannot be created.
 */
int tmpfs_attach(int mount_fd, int pidfd, const char *rootfs, const char *dir);

/* Unmount the tmpfs behind mount_fd in the namespace of pidfd (MNT_DETACH), from a child.
 * -EINVAL when it is no longer mounted there. */
int tmpfs_detach(int mount_fd, int pidfd);

/* The body of tmpfs_detach for a process that may setns itself (the watcher). */
int tmpfs_detach_here(int mount_fd, int pidfd, int proc_fd_dir);
