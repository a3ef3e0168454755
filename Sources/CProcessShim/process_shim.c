#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <sys/socket.h>
#include "process_shim.h"

int porin_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int porin_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
	return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short porin_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

int porin_recv_batch(int fd, struct msghdr *msgs, unsigned int *lens, unsigned int n) {
    struct mmsghdr m[64];
    if (n > 64) n = 64;
    for (unsigned int i = 0; i < n; i++) { m[i].msg_hdr = msgs[i]; m[i].msg_len = 0; }
    int r = recvmmsg(fd, m, n, MSG_WAITFORONE, 0);
    if (r < 0) return -errno;
    for (int i = 0; i < r; i++) { msgs[i] = m[i].msg_hdr; lens[i] = m[i].msg_len; }
    return r;
}
