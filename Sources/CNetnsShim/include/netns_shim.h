// setns(2) for Swift: glibc declares it only with _GNU_SOURCE, which Swift's Glibc module lacks.
#ifndef PORIN_NETNS_SHIM_H
#define PORIN_NETNS_SHIM_H
/// Moves the calling thread into the network namespace open at `fd`; returns 0 or -errno.
int porin_enter_netns(int fd);
#endif
