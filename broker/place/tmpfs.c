/* SPDX-License-Identifier: Apache-2.0 */
#include "tmpfs.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include <sodium.h>

#include "fdutil.h"
#include "json.h"
#include "log.h"
#include "pause.h"
#include "propagation.h"
#include "spawn.h"

static int fsconfig_string(int fs_fd, const char *key, const char *value) {
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key, value, 0) < 0)
                return negative_errno();
        return 0;
}

/*
 * The root directory and the manifest belong to host root, group the container user's group,
 * and nobody else may write them: a process in the container that runs before the shim (runc
 * exec, a createContainer hook) can then neither replace a file nor the manifest nor add a
 * name (a hard link, a file of its own), and the manifest's hashes are the broker's. Under a
 * user namespace host root is unmapped, so even the container's root cannot override that.
 * The group reads and searches the directory (the shim lists it); others search it only when a
 * file grants them read. The secret files keep the requested owner and mode.
 */
static mode_t dir_mode_for(const struct tmpfs_file *files, size_t n) {
        mode_t m = 0750;
        for (size_t i = 0; i < n; i++)
                if (files[i].mode & 0004)
                        m |= 0005;
        return m;
}

#define TMPFS_MANIFEST_MODE 0440
#define TMPFS_CONSUMED_MODE 0220

static struct tmpfs_spec manifest_owner(const struct tmpfs_spec *spec) {
        return (struct tmpfs_spec){
                .size_max = spec->size_max, .host_uid = 0, .host_gid = spec->host_gid};
}

int tmpfs_create(const struct tmpfs_spec *spec, const struct tmpfs_file *files, size_t n_files,
                 int *ret_mount_fd) {
        char buf[32];
        int r;

        _cleanup_close_ int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return errno == ENOSYS ? -ENOSYS : negative_errno();

        /* Named, so that an operator (and a test) tells lockbox's mounts from every other tmpfs
         * in mountinfo whatever options the kernel shows. */
        if ((r = fsconfig_string(fs_fd, "source", "lockbox")) < 0)
                return r;
        snprintf(buf, sizeof buf, "%" PRIu64, spec->size_max);
        if ((r = fsconfig_string(fs_fd, "size", buf)) < 0)
                return r;
        /* Inodes: one a file, the manifest, room for the shim's own work, and for a rotation's
         * temporary files (tmpfs_replace writes every new file before it renames any). */
        snprintf(buf, sizeof buf, "%zu", 2 * n_files + 8);
        if ((r = fsconfig_string(fs_fd, "nr_inodes", buf)) < 0)
                return r;
        snprintf(buf, sizeof buf, "%04o", (unsigned)dir_mode_for(files, n_files));
        if ((r = fsconfig_string(fs_fd, "mode", buf)) < 0)
                return r;
        if ((r = fsconfig_string(fs_fd, "uid", "0")) < 0)
                return r;
        snprintf(buf, sizeof buf, "%" PRIu32, spec->host_gid);
        if ((r = fsconfig_string(fs_fd, "gid", buf)) < 0)
                return r;
        /* Linux 6.4+: tmpfs pages never go to swap. Older kernels reject the flag; the values
         * are still in memory only, but could be swapped, which SECURITY.md says. */
        if (fsconfig(fs_fd, FSCONFIG_SET_FLAG, "noswap", NULL, 0) < 0)
                log_debug("tmpfs: kernel has no noswap option; continuing without it");
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return negative_errno();

        int mount_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mount_fd < 0)
                return negative_errno();
        *ret_mount_fd = mount_fd;
        return 0;
}

/* The owner a file gets: its own when a backend gave one, else the directory's. */
static struct tmpfs_spec tmpfs_file_owner(const struct tmpfs_spec *spec,
                                          const struct tmpfs_file *f) {
        struct tmpfs_spec s = *spec;
        if (f->has_owner) {
                s.host_uid = f->host_uid;
                s.host_gid = f->host_gid;
        }
        return s;
}

static int write_one(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                     const struct tmpfs_spec *spec) {
        /* Created with mode 0, then given its owner and mode: there is no moment at which the
         * file is readable by anyone the request did not name. */
        _cleanup_close_ int fd =
                openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        int r = write_full(fd, data, size);
        if (r < 0)
                return r;
        if (fchown(fd, spec->host_uid, spec->host_gid) < 0 || fchmod(fd, mode) < 0)
                return negative_errno();
        return 0;
}

int tmpfs_write(int mount_fd, const struct tmpfs_spec *spec, const char *container_id,
                uint64_t generation, const struct tmpfs_file *files, size_t n_files) {
        _cleanup_free_ struct manifest_entry *entries =
                calloc(n_files ? n_files : 1, sizeof *entries);
        _cleanup_free_ char *text = NULL;
        int r;

        if (!entries)
                return -ENOMEM;
        _cleanup_close_ int dir_fd = openat(mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();

        for (size_t i = 0; i < n_files; i++) {
                const struct tmpfs_file *f = &files[i];
                struct tmpfs_spec owner = tmpfs_file_owner(spec, f);
                r = write_one(dir_fd, tmpfs_file_name(f), secret_cdata(f->value),
                              secret_size(f->value), f->mode, &owner);
                /* Full: the caller says so with the configured size, in one line. */
                if (r == -ENOSPC)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "secret '%s': cannot write to the tmpfs",
                                               f->name);
                snprintf(entries[i].name, sizeof entries[i].name, "%s", f->name);
                snprintf(entries[i].file, sizeof entries[i].file, "%s", tmpfs_file_name(f));
                entries[i].size = secret_size(f->value);
                entries[i].mode = f->mode;
                secret_hash(f->value, entries[i].blake2b);
        }

        struct manifest m = {.version = MANIFEST_VERSION,
                             .generation = generation,
                             .n_entries = n_files,
                             .entries = entries};
        snprintf(m.container, sizeof m.container, "%s", container_id);
        r = manifest_format(&m, &text);
        if (r < 0)
                return r;
        /* The consumption marker before the manifest: once the manifest is there, the set is
         * complete for the shim. */
        r = write_one(dir_fd, MANIFEST_CONSUMED_FILE, "", 0, TMPFS_CONSUMED_MODE, spec);
        struct tmpfs_spec owner = manifest_owner(spec);
        if (r >= 0)
                r = write_one(dir_fd, MANIFEST_FILE, text, strlen(text), TMPFS_MANIFEST_MODE,
                              &owner);
        if (r == -ENOSPC)
                return r;
        if (r < 0)
                return log_error_errno(r, "container %s: cannot write the manifest", container_id);
        return 0;
}

/* ".lockbox-new.<random>": a name the container cannot guess ahead and squat on (its root
 * owns the directory when it runs without a user namespace), and one that no manifest can name
 * (manifest files never start with '.'). */
static void temp_name(char buf[TMPFS_TEMP_NAME_MAX]) {
        uint8_t r[8];
        char hex[2 * sizeof r + 1];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(hex, sizeof hex, r, sizeof r);
        snprintf(buf, TMPFS_TEMP_NAME_MAX, ".lockbox-new.%s", hex);
}

static void unlink_temps(int dir_fd, char (*temps)[TMPFS_TEMP_NAME_MAX], size_t n) {
        for (size_t i = 0; i < n; i++)
                if (temps[i][0])
                        (void)unlinkat(dir_fd, temps[i], 0);
}

/* rename(2) over a directory fails, and would fail after earlier files were renamed: a set
 * that no longer matches its manifest. Refused before anything is written instead (the
 * container's root, without a user namespace, owns the directory and can still race this,
 * against its own view only). */
static int replace_check_targets(int dir_fd, const struct tmpfs_file *files, size_t n) {
        for (size_t i = 0; i <= n; i++) {
                struct stat st;
                const char *name = i < n ? tmpfs_file_name(&files[i]) : MANIFEST_FILE;
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                        return log_error_errno(-EISDIR,
                                               "%s%s%s: a directory is in its place on the tmpfs "
                                               "(refused)",
                                               i < n ? "secret '" : "",
                                               i < n ? files[i].name : "the manifest",
                                               i < n ? "'" : "");
        }
        return 0;
}

/* Every new file under a temporary name; on failure none is left. */
static int replace_write_temps(int dir_fd, const struct tmpfs_spec *spec,
                               const struct tmpfs_file *files, size_t n,
                               char (*temps)[TMPFS_TEMP_NAME_MAX]) {
        for (size_t i = 0; i < n; i++) {
                temp_name(temps[i]);
                struct tmpfs_spec owner = tmpfs_file_owner(spec, &files[i]);
                int r = write_one(dir_fd, temps[i], secret_cdata(files[i].value),
                                  secret_size(files[i].value), files[i].mode, &owner);
                if (r < 0) {
                        /* Created before its write failed (ENOSPC): ours too, by its name. */
                        unlink_temps(dir_fd, temps, i + 1);
                        return log_error_errno(r, "secret '%s': cannot write to the tmpfs",
                                               files[i].name);
                }
        }
        return 0;
}

int tmpfs_replace(int dir_fd, const struct tmpfs_spec *spec, const struct manifest *m,
                  const struct tmpfs_file *files, size_t n_files, ino_t *ret_manifest_ino) {
        _cleanup_free_ char(*temps)[TMPFS_TEMP_NAME_MAX] = calloc(n_files + 1, sizeof *temps);
        _cleanup_free_ char *text = NULL;
        char manifest_tmp[TMPFS_TEMP_NAME_MAX];
        struct stat st;

        if (!temps)
                return -ENOMEM;
        int r = manifest_format(m, &text);
        if (r < 0)
                return r;
        /* Everything is written before anything is renamed: a failure here (ENOSPC, EDQUOT)
         * leaves the previous generation exactly as it was. */
        r = replace_check_targets(dir_fd, files, n_files);
        if (r < 0)
                return r;
        r = replace_write_temps(dir_fd, spec, files, n_files, temps);
        if (r < 0)
                return r;
        temp_name(manifest_tmp);
        struct tmpfs_spec owner = manifest_owner(spec);
        r = write_one(dir_fd, manifest_tmp, text, strlen(text), TMPFS_MANIFEST_MODE, &owner);
        if (r >= 0 && fstatat(dir_fd, manifest_tmp, &st, AT_SYMLINK_NOFOLLOW) < 0)
                r = negative_errno();
        if (r < 0) {
                (void)unlinkat(dir_fd, manifest_tmp, 0);
                unlink_temps(dir_fd, temps, n_files);
                return log_error_errno(r, "container %s: cannot write the manifest", m->container);
        }
        /* rename(2) replaces each name in one step: a reader opens the old file or the new one,
         * never a partial or missing one. The manifest goes last, so that its hashes describe
         * files that are already there. */
        for (size_t i = 0; i < n_files; i++)
                if (renameat(dir_fd, temps[i], dir_fd, tmpfs_file_name(&files[i])) < 0) {
                        r = log_error_errno(errno, "secret '%s': cannot replace it on the tmpfs",
                                            files[i].name);
                        (void)unlinkat(dir_fd, manifest_tmp, 0);
                        unlink_temps(dir_fd, temps + i, n_files - i);
                        return r;
                }
        if (renameat(dir_fd, manifest_tmp, dir_fd, MANIFEST_FILE) < 0) {
                r = log_error_errno(errno, "container %s: cannot replace the manifest",
                                    m->container);
                (void)unlinkat(dir_fd, manifest_tmp, 0);
                return r;
        }
        *ret_manifest_ino = st.st_ino;
        return 0;
}

/* Run fn in a child (setns(CLONE_NEWNS) needs a caller that shares its fs with no one, and it
 * changes the caller's root and cwd: the broker itself must stay in the host's namespace). The
 * child shares our memory until it exits (spawn.h); fn's negative errno comes back as its exit
 * status, which holds also where the clone is run as a plain fork (valgrind, qemu-user). */
struct in_child {
        int (*fn)(void *);
        void *arg;
};

static int in_child_main(void *p) {
        const struct in_child *c = p;
        int r = c->fn(c->arg);
        return r >= 0 ? 0 : r < -255 ? EIO : -r;
}

static int run_in_child(int (*fn)(void *), void *arg) {
        struct in_child c = {fn, arg};
        int status;
        pid_t pid = spawn_shared(in_child_main, &c);
        if (pid < 0)
                return pid;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        /* Killed before it could say: what it did is unknown, so it failed. */
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}

struct attach_args {
        int mount_fd, pidfd;
        const char *rootfs, *dir;
};

static int attach_in_ns(void *p) {
        struct attach_args *a = p;
        struct statfs sfs;
        int r;

        /* Our own /proc entry, while /proc is still the host's: the namespace's may not show
         * us (propagation.h). */
        _cleanup_close_ int self_fd = open("/proc/thread-self", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (self_fd < 0)
                return negative_errno();
        if (setns(a->pidfd, CLONE_NEWNS) < 0)
                return negative_errno();
        _cleanup_close_ int root_fd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return negative_errno();
        _cleanup_close_ int target_fd = -1;
        r = mkdir_in_root(root_fd, a->dir, 0755, true, &target_fd);
        if (r < 0)
                return r;
        /* The container's /proc and /sys are already mounted in its rootfs at this point: a
         * directory there is never a place for secrets (and could be a way to the host). */
        if (fstatfs(target_fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC ||
            sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC)
                return -EPERM;
        /* A shared mount would copy the tmpfs to its peers, the host's among them. */
        r = propagation_target_shared(self_fd, target_fd);
        if (r != 0)
                return r > 0 ? -EREMOTE : r;
        pause_point("attach");
        if (move_mount(a->mount_fd, "", target_fd, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return negative_errno();
        return 0;
}

int tmpfs_attach(int mount_fd, int pidfd, const char *rootfs, const char *dir) {
        struct attach_args a = {mount_fd, pidfd, rootfs, dir};
        return run_in_child(attach_in_ns, &a);
}

int tmpfs_detach_here(int mount_fd, int pidfd, int proc_fd_dir) {
        char name[16];

        if (setns(pidfd, CLONE_NEWNS) < 0)
                return negative_errno();
        /* Unmount by the mount fd, not by a path the container could have changed: from the
         * host's /proc/self/fd (opened before setns), the magic link leads to the root of our
         * tmpfs, and umount2 of a mount's root unmounts that mount. */
        if (fchdir(proc_fd_dir) < 0)
                return negative_errno();
        snprintf(name, sizeof name, "%d", mount_fd);
        if (umount2(name, MNT_DETACH) < 0)
                return negative_errno();
        return 0;
}

struct detach_args {
        int mount_fd, pidfd;
};

static int detach_in_ns(void *p) {
        struct detach_args *a = p;
        _cleanup_close_ int proc_fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd_dir < 0)
                return negative_errno();
        return tmpfs_detach_here(a->mount_fd, a->pidfd, proc_fd_dir);
}

int tmpfs_detach(int mount_fd, int pidfd) {
        struct detach_args a = {mount_fd, pidfd};
        return run_in_child(detach_in_ns, &a);
}
