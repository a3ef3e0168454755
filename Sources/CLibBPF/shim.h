// libbpf (Debian: libbpf-dev): loading BPF objects, maps, tc attachment and ring buffers.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <net/if.h>
#include <sys/vfs.h>
#include <sys/mount.h>
