// glibc's GNU extensions for processes and sockets, which Swift's Glibc module (built without
// _GNU_SOURCE) does not declare: daemons must never hand a descriptor to a child by accident.
#ifndef PORIN_PROCESS_SHIM_H
#define PORIN_PROCESS_SHIM_H
#include <spawn.h>
#include <sys/socket.h>
/// accept4(fd, NULL, NULL, SOCK_CLOEXEC): the new connection is never inherited.
int porin_accept_cloexec(int fd);
/// posix_spawn_file_actions_addclosefrom_np(actions, from): the child closes every descriptor >= from.
int porin_spawn_closefrom(posix_spawn_file_actions_t *actions, int from);
/// POSIX_SPAWN_SETSID: the child starts a new session.
short porin_spawn_setsid_flag(void);
/// recvmmsg(fd, …, MSG_WAITFORONE) over up to 64 `msgs`: waits for the first datagram and takes
/// what else is queued; each one's length goes to `lens`. Returns how many, or -errno.
int porin_recv_batch(int fd, struct msghdr *msgs, unsigned int *lens, unsigned int n);
#endif
