/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "manifest.h"
#include "secret.h"

/* One file to lay down on the tmpfs. */
struct tmpfs_file {
        const char *name; /* secret name, also the file name */
        const struct secret *value;
        mode_t mode;
};

struct tmpfs_spec {
        uint64_t size_max; /* bytes */
        uint32_t host_uid, host_gid; /* owner of the root directory and the files */
};

/* A detached tmpfs (fsopen/fsconfig/fsmount): size-limited, nosuid,nodev,noexec, noswap where
 * the kernel has it, root directory owned by the spec's ids. Returns the mount fd. */
int tmpfs_create(const struct tmpfs_spec *spec, const struct tmpfs_file *files, size_t n_files,
                 int *ret_mount_fd);

/* Write each file (O_EXCL, mode 0, then fchown/fchmod so it is never visible with a wider
 * mode) and then the manifest, last, into the mount behind mount_fd. */
int tmpfs_write(int mount_fd, const struct tmpfs_spec *spec, const char *container_id,
                uint64_t generation, const struct tmpfs_file *files, size_t n_files);

/*
 * In a child that joins the mount namespace of the process behind pidfd: open rootfs (a path
 * in that namespace: the rootfs' host path before pivot_root, "/" after), resolve dir inside it
 * with no symlink followed (creating missing directories unless the rootfs is read-only), refuse
 * a target on procfs or sysfs, and move_mount the tmpfs onto it.
 */
int tmpfs_attach(int mount_fd, int pidfd, const char *rootfs, const char *dir, bool create_dirs);

/* Unmount the tmpfs behind mount_fd in the namespace of pidfd (MNT_DETACH), from a child.
 * -EINVAL when it is no longer mounted there. */
int tmpfs_detach(int mount_fd, int pidfd);

/* The body of tmpfs_detach for a process that may setns itself (the watcher). */
int tmpfs_detach_here(int mount_fd, int pidfd, int proc_fd_dir);
