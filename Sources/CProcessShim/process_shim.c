#define _GNU_SOURCE
#include <spawn.h>
#include <sys/socket.h>
#include "process_shim.h"

int porin_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int porin_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
	return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short porin_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }
