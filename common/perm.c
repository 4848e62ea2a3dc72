/* SPDX-License-Identifier: Apache-2.0 */
#include "perm.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

bool perm_ok(const struct stat *st, uid_t uid, mode_t forbidden) {
        return st->st_uid == uid && !(st->st_mode & forbidden);
}

static void owner_name(uid_t uid, char *buf, size_t size) {
        if (uid == 0)
                snprintf(buf, size, "root");
        else
                snprintf(buf, size, "uid %u", (unsigned)uid);
}

void perm_describe(const struct stat *st, char *buf, size_t size) {
        char owner[32];
        owner_name(st->st_uid, owner, sizeof owner);
        snprintf(buf, size, "mode %04o, owner %s", (unsigned)(st->st_mode & 07777), owner);
}

/* "no access for group or others" and "go-rwx" for the usual masks; the bits otherwise. */
static void forbidden_text(mode_t forbidden, const char **ret_text, const char **ret_chmod,
                           char *buf, size_t size) {
        switch (forbidden) {
        case 0077:
                *ret_text = "no access for group or others", *ret_chmod = "go-rwx";
                return;
        case 0022:
                *ret_text = "not writable by group or others", *ret_chmod = "go-w";
                return;
        case 0004:
                *ret_text = "not readable by others", *ret_chmod = "o-r";
                return;
        default:
                snprintf(buf, size, "%04o", (unsigned)forbidden);
                *ret_text = "none of the mode bits", *ret_chmod = NULL;
                return;
        }
}

/* The refusal's line, once a process: a command that reaches the same directory from several
 * places (the sweep, the lock, the record) says it once, not once each. */
static void perm_log_once(const char *what, const char *path, const char *found,
                          const char *want_owner, const char *text, const char *bits,
                          const char *fix) {
        static char last[PATH_MAX + 64];
        char key[sizeof last];
        snprintf(key, sizeof key, "%s %s", what, path);
        if (strcmp(key, last) == 0)
                return;
        memcpy(last, key, sizeof last);
        log_error("%s %s: refusing: %s; expected owner %s, %s%s%s (%s %s)", what, path, found,
                  want_owner, text, bits[0] ? " " : "", bits, fix, path);
}

int perm_refuse(const char *what, const char *path, const struct stat *st, uid_t uid,
                mode_t forbidden) {
        char found[64], want_owner[32], bits[16] = "", fix[96] = "";
        const char *text, *chmod_arg;

        perm_describe(st, found, sizeof found);
        owner_name(uid, want_owner, sizeof want_owner);
        forbidden_text(forbidden, &text, &chmod_arg, bits, sizeof bits);
        if (st->st_uid != uid)
                snprintf(fix, sizeof fix, "chown %s", uid == 0 ? "root" : want_owner + 4);
        if ((st->st_mode & forbidden) && chmod_arg)
                snprintf(fix + strlen(fix), sizeof fix - strlen(fix), "%schmod %s",
                         fix[0] ? ", " : "", chmod_arg);
        perm_log_once(what, path, found, want_owner, text, bits, fix);
        return -EPERM;
}

int perm_fix_private_dir(int fd, const char *what, const char *path) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (perm_ok(&st, geteuid(), 0077))
                return 0;
        if (st.st_uid != geteuid() || (st.st_mode & 0022))
                return perm_refuse(what, path, &st, geteuid(), 0077);
        if (fchmod(fd, 0700) < 0)
                return negative_errno();
        log_warning("%s %s: was mode %04o, now 0700 (fixed: lockbox's own directory, no access for "
                    "group or others)",
                    what, path, (unsigned)(st.st_mode & 07777));
        return 0;
}
