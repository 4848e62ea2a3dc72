/* SPDX-License-Identifier: Apache-2.0 */
#include "agent_spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent_socket.h"
#include "fdutil.h"
#include "log.h"

#define AGENT_LOG_MAX (1024 * 1024) /* the log of earlier agents, dropped beyond this */
#define AGENT_MAX_ARGS 16

/* DIR/agent.log, appended to (emptied first when it grew too large). */
static int agent_open_log(int dirfd) {
        int fd = openat(dirfd, AGENT_LOG_NAME,
                        O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > AGENT_LOG_MAX && ftruncate(fd, 0) < 0)
                return fd; /* appended to, then: the log is not worth failing for */
        return fd;
}

/* The grandchild's fds: 0 and 1 /dev/null, 2 the log, 3 the socket, nothing else. */
static int agent_child_fds(int dirfd, int listen_fd) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        int log = agent_open_log(dirfd);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
            dup2(log >= 0 ? log : null, 2) < 0)
                return -1;
        if (listen_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(listen_fd, 3) < 0)
                return -1;
        const int keep[] = {3};
        return close_all_fds_except(keep, 1);
}

static _noreturn_ void agent_exec(const struct broker_config *cfg, const char *config, int dirfd,
                                  int listen_fd) {
        const char *argv[AGENT_MAX_ARGS];
        size_t n = 0;
        char pid_env[32];
        sigset_t none;

        if (agent_child_fds(dirfd, listen_fd) < 0 || chdir("/") < 0)
                _exit(127);
        /* What the hook's runtime blocked or ignored is not the agent's business. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        argv[n++] = "lockbox-broker";
        if (config) {
                argv[n++] = "--config";
                argv[n++] = config;
        }
        argv[n++] = "--state-dir";
        argv[n++] = cfg->state_dir;
        for (int v = LOG_LEVEL_WARNING; v < (int)log_get_level() && v < LOG_LEVEL_DEBUG; v++)
                argv[n++] = "-v";
        argv[n++] = "agent";
        argv[n] = NULL;
        snprintf(pid_env, sizeof pid_env, "LISTEN_PID=%d", (int)getpid());
        char *const envp[] = {"LISTEN_FDS=1", pid_env, NULL};
        execve("/proc/self/exe", (char *const *)argv, envp);
        _exit(127);
}

int agent_spawn(const struct broker_config *cfg, int dirfd, int listen_fd) {
        /* The agent's cwd is /: a configuration named by a relative path is made absolute. */
        _cleanup_free_ char *config = cfg->path ? realpath(cfg->path, NULL) : NULL;
        if (cfg->path && !config)
                return negative_errno();
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                /* A session of its own, and not its leader: no terminal, no signal meant for
                 * the runtime's process group. */
                if (setsid() < 0)
                        _exit(1);
                pid_t agent = fork();
                if (agent == 0)
                        agent_exec(cfg, config, dirfd, listen_fd);
                _exit(agent < 0 ? 1 : 0);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}
