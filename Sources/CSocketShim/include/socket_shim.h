// recvmmsg(2) for Swift: glibc declares it (and struct mmsghdr) only with _GNU_SOURCE, which
// Swift's Glibc module lacks.
#ifndef PORIN_SOCKET_SHIM_H
#define PORIN_SOCKET_SHIM_H
#include <sys/socket.h>
/// Receives up to `n` (at most 64) datagrams into `msgs`, waiting for the first only
/// (MSG_WAITFORONE); each one's length goes to `lens`. Returns how many, or -errno.
int porin_recv_batch(int fd, struct msghdr *msgs, unsigned int *lens, unsigned int n);
#endif
