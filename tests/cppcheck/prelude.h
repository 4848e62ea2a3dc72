/* SPDX-License-Identifier: Apache-2.0 */
/* Included before every file cppcheck analyses (make lint). cppcheck 2.10's parser gives up
 * ("AST broken", internalAstError) on a GNU statement expression inside a designated
 * initializer, and then skips the whole file: give it a plain expression with the same type.
 * macro.h is #pragma once, so the sources' own #include of it does not undo this. */
#include "macro.h"
#undef TAKE_PTR
#define TAKE_PTR(p) (p)
#undef TAKE_FD
#define TAKE_FD(fd) (fd)
