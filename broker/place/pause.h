/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Pause points, a knob for tests (61-race-swap, 28-nondumpable): the broker stops at a named
 * point of a placement while a test races it or looks at it, so that what would otherwise be a
 * race in a window of microseconds is one deterministic step.
 *
 * Armed only by root: it is honoured when <state_dir>/pause is a directory owned by root with
 * no group or other permission (the state directory itself is root's and 0700) and
 * <state_dir>/pause/POINT exists. At POINT the process creates POINT.reached (holding its pid),
 * waits until POINT is removed or PAUSE_MAX_MS have passed, removes POINT.reached and goes on.
 * It changes nothing but timing, bounded, and only for whoever can already write the state
 * directory. Without <state_dir>/pause it costs one failed open per placement.
 *
 * Points: "fetched" (place_request, every value in the broker's memory), "attach" (in the
 * container's mount namespace, the target resolved and checked, just before move_mount).
 */
#define PAUSE_MAX_MS 30000

void pause_init(const char *state_dir);
void pause_point(const char *point);
