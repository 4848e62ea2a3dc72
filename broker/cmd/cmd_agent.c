/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd.h"
#include "fdutil.h"
#include "fetch/agent.h"
#include "fetch/agent_socket.h"
#include "log.h"

static const char agent_usage[] =
        "Usage: lockbox-broker agent\n"
        "\n"
        "The warm fetch agent: fetches from Vault and Keywhiz for hooks, over the unix socket\n"
        "STATE_DIR/agent/agent.sock, keeping connections, TLS sessions and logins between\n"
        "them; exits after agent.idle_s seconds without a request. Hooks start it on demand;\n"
        "systemd may instead (contrib/systemd/lockbox-agent.socket). Runs as root until it has\n"
        "opened what it needs, then as the fetcher's uid. Takes a listening socket as systemd\n"
        "passes one (LISTEN_FDS, LISTEN_PID), else binds its own. See README, \"The agent\".\n";

/* The socket systemd (or a hook, the same way) passed: fd 3, a listening unix SEQPACKET
 * socket, meant for this very process. -ENOENT when none was passed. */
static int agent_passed_socket(int *ret_fd) {
        const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
        uint64_t n = 0, p = 0;
        if (!fds || !pid)
                return -ENOENT;
        int r = parse_uint64(fds, &n) < 0 || parse_uint64(pid, &p) < 0 ? -EINVAL : 0;
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        if (r < 0 || p != (uint64_t)getpid())
                return -ENOENT; /* not ours: meant for a parent */
        if (n != 1)
                return -EINVAL;
        int type = 0, domain = 0, listening = 0;
        socklen_t len = sizeof type;
        if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
            getsockopt(3, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
            getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
                return negative_errno();
        if (type != SOCK_SEQPACKET || domain != AF_UNIX || !listening)
                return -EINVAL;
        *ret_fd = fd_move_above_stdio(3);
        return *ret_fd < 0 ? *ret_fd : 0;
}

static int agent_listen_fd(const struct broker_config *cfg, int *ret_fd) {
        int r = agent_passed_socket(ret_fd);
        if (r != -ENOENT) {
                if (r < 0)
                        log_error_errno(r, "agent: LISTEN_FDS: not one listening unix "
                                           "SOCK_SEQPACKET socket at fd 3");
                return r;
        }
        _cleanup_close_ int dirfd = -1;
        r = agent_dir_open(cfg->state_dir, &dirfd);
        if (r >= 0)
                r = agent_bind(dirfd, ret_fd);
        if (r < 0)
                return log_error_errno(r, "agent: cannot listen at %s/agent/%s", cfg->state_dir,
                                       AGENT_SOCKET_NAME);
        return 0;
}

int cmd_agent(const struct broker_ctx *ctx, int argc, char **argv) {
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        _cleanup_config_ struct broker_config *cfg = NULL;
        int c, fd = -1;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'h')
                        return fputs(agent_usage, stdout), EXIT_DONE;
                return broker_option_error("agent", c, argv), EXIT_USAGE;
        }
        if (optind < argc) {
                log_error("agent: takes no arguments (see --help)");
                return EXIT_USAGE;
        }
        int status = broker_load_config(ctx, &cfg);
        if (status != EXIT_DONE)
                return status;
        if (!cfg->agent_enabled) {
                log_error("agent: \"agent\": {\"enabled\": false} in the configuration: hooks "
                          "would not use it");
                return EXIT_USAGE;
        }
        if (geteuid() != 0) {
                log_error("agent: must start as root (it drops to the fetcher's uid itself)");
                return EXIT_USAGE;
        }
        if (agent_listen_fd(cfg, &fd) < 0)
                return EXIT_FAILED;
        return agent_serve(cfg, fd) < 0 ? EXIT_FAILED : EXIT_DONE;
}
