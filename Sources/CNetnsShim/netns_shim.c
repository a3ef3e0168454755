#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "netns_shim.h"

int porin_enter_netns(int fd) {
	return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
}
