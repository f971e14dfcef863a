#pragma once

/// Saves the terminal's settings and installs handlers for fatal signals (SIGSEGV, SIGBUS,
/// SIGILL, SIGFPE, SIGABRT, SIGTRAP, and SIGHUP unless the command ignores it to handle it itself)
/// that give the terminal back, then die of the signal as the process would have.
void reins_terminal_guard_install(void);

/// Puts the default handling of those signals back (the console closed normally).
void reins_terminal_guard_remove(void);
