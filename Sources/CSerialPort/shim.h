// libserialport lists ports (it cannot open a pty); the line itself is plain termios, so the
// pty and termios headers come along here, with wrappers for the macros Swift cannot import.
#include <libserialport.h>
#include <pty.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <linux/serial.h>

static inline unsigned long reins_tiocgserial(void) { return TIOCGSERIAL; }
static inline unsigned long reins_tiocsserial(void) { return TIOCSSERIAL; }
static inline int reins_async_low_latency(void) { return ASYNC_LOW_LATENCY; }
static inline int reins_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

// Linux's termios2 sets any baud rate (Feetech's 76800, 128000, 250000, ...). Its header,
// <asm/termbits.h>, clashes with <termios.h>, so the x86-64/arm64 layout is written out here.
struct reins_termios2 {
    tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
    cc_t c_line;
    cc_t c_cc[19];
    speed_t c_ispeed, c_ospeed;
};
#define REINS_TCGETS2 _IOR('T', 0x2A, struct reins_termios2)
#define REINS_TCSETS2 _IOW('T', 0x2B, struct reins_termios2)
#define REINS_CBAUD 0010017
#define REINS_BOTHER 0010000

/// Sets an arbitrary baud rate on an open tty; returns 0 on success.
static inline int reins_set_baud_termios2(int fd, unsigned baud) {
    struct reins_termios2 t;
    if (ioctl(fd, REINS_TCGETS2, &t) != 0) return -1;
    t.c_cflag &= ~REINS_CBAUD;
    t.c_cflag |= REINS_BOTHER;
    t.c_ispeed = baud;
    t.c_ospeed = baud;
    return ioctl(fd, REINS_TCSETS2, &t);
}

/// The output baud rate the driver holds, or 0 when it cannot say.
static inline unsigned reins_get_baud_termios2(int fd) {
    struct reins_termios2 t;
    return ioctl(fd, REINS_TCGETS2, &t) == 0 ? t.c_ospeed : 0;
}
