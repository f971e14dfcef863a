#include "CTerminal.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_terminal;
static volatile sig_atomic_t terminal_saved = 0;
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGHUP };
// Whether the guard took SIGHUP: a command that stops cleanly on a hang-up (saving its episode or
// checkpoint) has set it to be ignored and handles it itself; the guard leaves it so.
static int hangup_taken = 0;

// Only async-signal-safe calls: the saved line settings, and the escape sequences that reset
// colours, leave the alternate screen and show the cursor. (endwin could deadlock if another
// thread was drawing when the signal came.)
static void restore_and_reraise(int signal_number) {
    if (terminal_saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
    static const char reset[] = "\033[0m\033[?1049l\033[?25h\r\n";
    (void)!write(STDOUT_FILENO, reset, sizeof reset - 1);
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

void reins_terminal_guard_install(void) {
    terminal_saved = tcgetattr(STDIN_FILENO, &saved_terminal) == 0;
    struct sigaction hangup;
    hangup_taken = sigaction(SIGHUP, NULL, &hangup) == 0 && hangup.sa_handler == SIG_DFL;
    for (unsigned i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        if (fatal_signals[i] != SIGHUP || hangup_taken) signal(fatal_signals[i], restore_and_reraise);
}

void reins_terminal_guard_remove(void) {
    for (unsigned i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        if (fatal_signals[i] != SIGHUP || hangup_taken) signal(fatal_signals[i], SIG_DFL);
    terminal_saved = 0;
    hangup_taken = 0;
}
