/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Mount propagation of an attach target (issue 13): a mount made on a directory whose mount is
 * shared ("shared:N" in mountinfo, MS_SHARED) is copied to every peer of that mount and to their
 * slaves, and those may be in other mount namespaces: the host's, for a volume bind-mounted
 * rshared with rootfsPropagation "shared" (what Docker sets for an rshared volume). The secrets
 * tmpfs must never appear there, so such a target is refused.
 *
 * A slave mount ("master:N" only) receives from its master but sends nothing back, and a private
 * one neither: a mount on either stays in the container's namespace.
 */

/*
 * For the process's current mount namespace: is the mount that target_fd sits on shared?
 * proc_self_fd is an O_PATH fd of this thread's /proc/thread-self opened BEFORE any setns (the
 * container's /proc may not show us), so that its mountinfo, opened here, is the namespace's
 * we are in now. 1 shared, 0 not, negative errno (-EOPNOTSUPP: the kernel has no
 * STATX_MNT_ID, Linux 5.8+).
 */
int propagation_target_shared(int proc_self_fd, int target_fd);
