#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Opens an AF_PACKET socket for one EtherType bound to the interface `name`, with the kernel's
/// queueing discipline bypassed and the socket's own outgoing frames ignored; writes the
/// interface's MAC address to `mac`. Returns the descriptor, or -errno (-ENODEV: no such
/// interface; -EPERM: needs root or CAP_NET_RAW).
int reins_packet_open(const char *name, uint16_t ether_type, uint8_t mac[6]);

/// Receives one frame without waiting. Returns its length, 0 when the frame was one this host
/// sent (skip it), or -errno (-EAGAIN: nothing queued).
ssize_t reins_packet_receive(int fd, void *buffer, size_t capacity);

/// The interface's link state: 1 up and running, 0 down, -errno when it cannot be read.
int reins_interface_running(const char *name);

/// Waits up to `timeout_ns` for `fd` to become readable (ppoll: hrtimer precision, not the
/// system tick). Returns 1 readable, 0 timed out, -errno.
int reins_wait_readable(int fd, int64_t timeout_ns);

/// `reins_packet_open` inside the network namespace at `namespace_path` (e.g.
/// /var/run/netns/NAME): the calling thread enters it, opens the socket, and returns to its
/// own namespace; the socket stays in the one it was opened in.
int reins_packet_open_in_namespace(const char *namespace_path, const char *name, uint16_t ether_type, uint8_t mac[6]);
