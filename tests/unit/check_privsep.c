/* SPDX-License-Identifier: Apache-2.0 */
/* The secret fetcher's child (broker/privsep.h): what code running there can and cannot do.
 * Needs root (the uid change); skipped otherwise. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "privsep.h"
#include "unit.h"

/* A dedicated uid and gid, as an operator sets them ("fetcher"), so that the probe tells them
 * from the default. */
#define FETCH_UID 4242
#define FETCH_GID 4243

static struct broker_config *load(const char *state_dir) {
        char json[512];
        struct broker_config *c = NULL;
        snprintf(json, sizeof json,
                 "{\"state_dir\": \"%s\", \"fetcher\": {\"uid\": %d, \"gid\": %d}}", state_dir,
                 FETCH_UID, FETCH_GID);
        ck_assert_int_eq(config_parse(json, strlen(json), "test", &c), 0);
        return c;
}

/* Each probe returns 0 when it found what the child must be: a bit set per failed probe. */
static int probe(void *userdata) {
        int *fd = userdata, bad = 0;
        if (getuid() != FETCH_UID || geteuid() != FETCH_UID || getgid() != FETCH_GID)
                bad |= 1 << 0;
        /* Not dumpable: /proc/self's files belong to root, not to us. no_new_privs set. */
        struct stat st;
        char status[4096] = "";
        int sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (sfd < 0 || fstat(sfd, &st) < 0 || st.st_uid != 0 ||
            read(sfd, status, sizeof status - 1) <= 0 || !strstr(status, "NoNewPrivs:\t1"))
                bad |= 1 << 1;
        if (sfd >= 0)
                close(sfd);
        /* prctl is not on the list: nothing it sets can be undone. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0 || errno != EPERM)
                bad |= 1 << 11;
        if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
                bad |= 1 << 2;
        if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0) != -1 ||
            errno != EPERM)
                bad |= 1 << 3;
        if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
                bad |= 1 << 4;
        if (kill(1, 0) == 0 || errno != EPERM)
                bad |= 1 << 5;
        char *const argv[] = {"/bin/true", NULL};
        if (execve("/bin/true", argv, argv + 1) == 0 || errno != EPERM)
                bad |= 1 << 6;
        /* A file of root's, mode 0600: not by path... */
        if (open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0)
                bad |= 1 << 7;
        /* An allow-list: a harmless call nobody listed (chdir) is refused too. */
        if (chdir("/") == 0 || errno != EPERM)
                bad |= 1 << 8;
        /* What a fetch needs still works: memory, time, a socket, the fds opened before. */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char c;
        if (s < 0 || pread(*fd, &c, 1, 0) != 1)
                bad |= 1 << 9;
        if (s >= 0)
                close(s);
        /* A thread (glibc's resolver makes one): clone3 refused with ENOSYS, clone works. */
        if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
                bad |= 1 << 10;
        if (bad)
                fprintf(stderr, "privsep probes failed: %#x\n", (unsigned)bad);
        return bad ? -EIO : 0;
}

START_TEST(test_child_confined) {
        if (geteuid() != 0)
                return; /* the uid change needs root */
        char dir[] = "/tmp/lbx-privsep-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        struct broker_config *cfg = load(dir);
        int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        /* The child's own result: _exit(0) only when every probe held. */
        ck_assert_int_eq(privsep_run(cfg, probe, &fd), 0);
        close(fd);
        config_free(cfg);
        rmdir(dir);
}
END_TEST

static int fails(void *userdata) {
        return -EIO;
}

START_TEST(test_child_failure_reported) {
        if (geteuid() != 0)
                return;
        struct broker_config *cfg = load("/tmp");
        ck_assert_int_eq(privsep_run(cfg, fails, NULL), -EIO);
        config_free(cfg);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("privsep");
        TCase *tc = tcase_create("child");
        tcase_add_test(tc, test_child_confined);
        tcase_add_test(tc, test_child_failure_reported);
        suite_add_tcase(s, tc);
        return s;
}
