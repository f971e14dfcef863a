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
