// The V4L2 structs and constants from the kernel's header; its VIDIOC_* requests are macros over
// _IOWR, which Swift cannot import, so they come back from static inline functions, and ioctl
// (variadic in C) through a fixed-argument wrapper that retries when a signal interrupts it.
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>

static inline unsigned long reins_vidioc_querycap(void) { return VIDIOC_QUERYCAP; }
static inline unsigned long reins_vidioc_enum_fmt(void) { return VIDIOC_ENUM_FMT; }
static inline unsigned long reins_vidioc_enum_framesizes(void) { return VIDIOC_ENUM_FRAMESIZES; }
static inline unsigned long reins_vidioc_enum_frameintervals(void) { return VIDIOC_ENUM_FRAMEINTERVALS; }

/// ioctl with a pointer argument; 0, or -1 with errno set (never EINTR).
static inline int reins_v4l2_ioctl(int fd, unsigned long request, void *argument) {
    int result;
    do {
        result = ioctl(fd, request, argument);
    } while (result == -1 && errno == EINTR);
    return result;
}
