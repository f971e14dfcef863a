#ifndef REINS_CMUJOCO_H
#define REINS_CMUJOCO_H
// MuJoCo 2.2.2 plus the few helpers Swift cannot write itself: the error hook (Swift rejects
// MuJoCo's mutable globals) and loading a model from a string through a heap-allocated VFS.
#include <mujoco/mujoco.h>

/// Replaces MuJoCo's default fatal-error handler, which waits for Enter on stdin and then exits,
/// with one that prints the message and exits with status 70. Warnings are recorded instead of
/// printed; read them with reins_mj_take_warning. Safe to call more than once.
void reins_mj_install_handlers(void);

/// Copies the most recent MuJoCo warning into `out` and clears it; returns 0 when there was none.
int reins_mj_take_warning(char *out, int out_size);

/// Compiles an MJCF model held in memory. Returns NULL with the compiler's message in `error`.
mjModel *reins_mj_load_xml_string(const char *xml, char *error, int error_size);

/// MuJoCo's version as an integer (222 for 2.2.2).
int reins_mj_version(void);

#endif
