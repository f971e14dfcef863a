// ncursesw with wide characters. SwiftPM drops pkg-config -D flags, so the define lives here.
// Swift cannot import ncurses' function-like macros or its mutable globals under strict
// concurrency: each one it needs is wrapped in a static inline function.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>

static inline WINDOW *reins_stdscr(void) { return stdscr; }
static inline int reins_getmaxy(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)x; return y; }
static inline int reins_getmaxx(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)y; return x; }
static inline attr_t reins_a_bold(void) { return A_BOLD; }
static inline attr_t reins_a_reverse(void) { return A_REVERSE; }
static inline attr_t reins_color_pair(short pair) { return COLOR_PAIR(pair); }
static inline int reins_key_resize(void) { return KEY_RESIZE; }
static inline int reins_err(void) { return ERR; }
static inline int reins_box(WINDOW *w) { return box(w, 0, 0); }
static inline int reins_mvaddstr(int y, int x, const char *s) { return mvaddstr(y, x, s); }
static inline int reins_erase(void) { return erase(); }
static inline int reins_refresh(void) { return refresh(); }
static inline int reins_getch(void) { return getch(); }
static inline int reins_timeout(int ms) { timeout(ms); return 0; }
static inline int reins_attron(attr_t a) { return attron(a); }
static inline int reins_attroff(attr_t a) { return attroff(a); }

#include <term.h>
/// Whether the terminfo database has an entry for `name` (ncurses-base ships the common ones).
static inline int reins_terminfo_exists(const char *name) {
    int status = 0;
    TERMINAL *saved = cur_term;
    if (setupterm(name, -1, &status) != OK || status != 1) { set_curterm(saved); return 0; }
    TERMINAL *loaded = cur_term;
    set_curterm(saved);
    del_curterm(loaded);
    return 1;
}

static inline int reins_colors(void) { return COLORS; }
static inline int reins_color_pairs(void) { return COLOR_PAIRS; }
static inline int reins_alloc_pair(int fg, int bg) { return alloc_pair(fg, bg); }
static inline int reins_attr_on_pair(int pair) { return attr_on((attr_t)0, (void *)&pair); }
static inline int reins_attr_off_pair(int pair) { return attr_off((attr_t)0, (void *)&pair); }
static inline int reins_color_set(int pair) { return color_set((short)(pair > 32767 ? 0 : pair), (void *)&pair); }
static inline int reins_key_backspace(void) { return KEY_BACKSPACE; }
static inline int reins_key_up(void) { return KEY_UP; }
static inline int reins_key_down(void) { return KEY_DOWN; }
static inline int reins_key_left(void) { return KEY_LEFT; }
static inline int reins_key_right(void) { return KEY_RIGHT; }
static inline int reins_key_enter(void) { return KEY_ENTER; }
static inline int reins_key_shift_left(void) { return KEY_SLEFT; }
static inline int reins_key_shift_right(void) { return KEY_SRIGHT; }
/* Shift-up and shift-down: ncurses calls them scroll reverse and forward. */
static inline int reins_key_shift_up(void) { return KEY_SR; }
static inline int reins_key_shift_down(void) { return KEY_SF; }
static inline int reins_utf8_locale(void) { const char *set = nl_langinfo(CODESET); return set && strcmp(set, "UTF-8") == 0; }


/// ncurses follows resizes only if SIGWINCH has its default handling when it starts; a parent
/// (a test runner, a supervisor) may have left it ignored or blocked, and children inherit both.
static inline void reins_prepare_resize_signal(void) {
    signal(SIGWINCH, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
