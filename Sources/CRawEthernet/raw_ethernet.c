#define _GNU_SOURCE
#include "CRawEthernet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <net/if.h>
#include <poll.h>
#include <time.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

int reins_packet_open(const char *name, uint16_t ether_type, uint8_t mac[6]) {
    unsigned index = if_nametoindex(name);
    if (index == 0) return -ENODEV;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ether_type));
    if (fd < 0) return -errno;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ether_type);
    address.sll_ifindex = (int)index;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    int one = 1;
    // Both are best effort: older kernels lack them, and receive filters the outgoing frames anyway.
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &request) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    return fd;
}

ssize_t reins_packet_receive(int fd, void *buffer, size_t capacity) {
    struct sockaddr_ll from;
    socklen_t length = sizeof from;
    ssize_t count = recvfrom(fd, buffer, capacity, 0, (struct sockaddr *)&from, &length);
    if (count < 0) return -errno;
    if (from.sll_pkttype == PACKET_OUTGOING) return 0;
    return count;
}

int reins_interface_running(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    int error = errno;
    close(fd);
    if (result < 0) return -error;
    return (request.ifr_flags & IFF_UP) && (request.ifr_flags & IFF_RUNNING) ? 1 : 0;
}

int reins_wait_readable(int fd, int64_t timeout_ns) {
    struct pollfd descriptor = {.fd = fd, .events = POLLIN, .revents = 0};
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int result = ppoll(&descriptor, 1, &timeout, NULL);
    return result < 0 ? -errno : result;
}

int reins_packet_open_in_namespace(const char *namespace_path, const char *name, uint16_t ether_type, uint8_t mac[6]) {
    int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0) return -errno;
    int target = open(namespace_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int error = errno;
        close(own);
        return -error;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        int error = errno;
        close(target);
        close(own);
        return -error;
    }
    int fd = reins_packet_open(name, ether_type, mac);
    // Back to where the thread was; if that fails the thread must not go on in the wrong one.
    if (setns(own, CLONE_NEWNET) < 0) abort();
    close(target);
    close(own);
    return fd;
}
