// ncursesw with wide characters. SwiftPM drops pkg-config -D flags, so the define lives here.
// Swift cannot import ncurses' function-like macros or its mutable globals under strict
// concurrency: each one it needs is wrapped in a static inline function.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <curses.h>

static inline WINDOW *reins_stdscr(void) { return stdscr; }
static inline int reins_getmaxy(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)x; return y; }
static inline int reins_getmaxx(WINDOW *w) { int y, x; getmaxyx(w, y, x); (void)y; return x; }
static inline attr_t reins_a_bold(void) { return A_BOLD; }
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
