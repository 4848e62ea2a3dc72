#!/bin/sh
# 06-bench-selftest.sh — make bench's arithmetic (per-round ratios, the A/A noise floor, the
# verdicts; a figure below what it contains must be flagged as a measurement error, never
# "met") on synthetic timings: tests/bench/selftest.sh. No root, no container, a few seconds.
#
# Usage: tests/integration/06-bench-selftest.sh [BUILD_DIR]   (BUILD_DIR is accepted, unused)
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../bench/selftest.sh"
