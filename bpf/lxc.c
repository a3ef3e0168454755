// Porin's endpoint datapath: tc programs on the host side of each pod's veth.
//  - from_container (tc ingress: packets leaving the pod): source validation, connection
//    tracking, the source's egress policy, and for a local destination its ingress policy and
//    delivery straight into the destination pod (bpf_redirect_peer);
//  - to_container (tc egress: packets entering the pod from the node's stack, i.e. from the
//    host, the world or a proxy): connection tracking and the pod's ingress policy.
// Every decision is reported into the ring buffer as Cilium's monitor events.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../Sources/DatapathABI/include/porin_datapath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct porin_policy_key);
	__type(value, struct porin_policy_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct porin_policy_exact_key);
	__type(value, struct porin_policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_policy_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct porin_ipcache_key);
	__type(value, struct porin_ipcache_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct porin_endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct porin_ct_key);
	__type(value, struct porin_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct porin_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct porin_service_key);
	__type(value, struct porin_service_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct porin_backend_key);
	__type(value, struct porin_backend_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u16);
	__type(value, struct porin_revnat_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct porin_ct_key);
	__type(value, struct porin_lb_conn_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_events SEC(".maps");

/* Events the ring buffer had no room for, counted per CPU: the agent reports them as Hubble's
 * PERF_EVENT_RING_BUFFER lost events (the datapath never waits for the agent). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_events_lost SEC(".maps");

#define WORLD_IDENTITY 2
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

/* The ICMP header (linux/icmp.h pulls in libc headers that do not build for BPF). */
struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u16 id;
	__u16 sequence;
};

/* What the parser learns about a packet. */
struct packet {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 protocol;
	__u8 tcp_flags;
	__u16 l4_off;  /* offset of the L4 header from the start of the frame */
	__u8 icmp_code;
	__u8 pad[3];
};

static __always_inline int parse(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -PORIN_DROP_INVALID_PACKET;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return eth->h_proto == bpf_htons(ETH_P_ARP) ? 1 : -PORIN_DROP_UNSUPPORTED_L3;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return -PORIN_DROP_INVALID_PACKET;
	if (ip->frag_off & bpf_htons(0x3FFF))
		return -PORIN_DROP_FRAG_NOT_SUPPORTED;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->protocol = ip->protocol;
	p->sport = 0;
	p->dport = 0;
	p->tcp_flags = 0;
	void *l4 = (void *)ip + ip->ihl * 4;
	p->l4_off = ETH_HLEN + ip->ihl * 4;
	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *t = l4;
		if ((void *)(t + 1) > end)
			return -PORIN_DROP_CT_INVALID_HEADER;
		p->sport = t->source;
		p->dport = t->dest;
		p->tcp_flags = ((__u8 *)t)[13];
		break;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		struct udphdr *u = l4;
		if ((void *)(u + 1) > end)
			return -PORIN_DROP_CT_INVALID_HEADER;
		p->sport = u->source;
		p->dport = u->dest;
		break;
	}
	case IPPROTO_ICMP: {
		struct icmp_echo_hdr *c = l4;
		if ((void *)(c + 1) > end)
			return -PORIN_DROP_CT_INVALID_HEADER;
		/* ICMP rules put the type in the port; echo id keeps ping flows apart. */
		p->dport = bpf_htons(c->type);
		p->icmp_code = c->code;
		p->sport = c->type == ICMP_ECHO || c->type == ICMP_ECHOREPLY ? c->id : 0;
		break;
	}
	default:
		break;
	}
	return 0;
}

static __always_inline __u32 config_aggregation(void)
{
	__u32 k = 0;
	struct porin_config *c = bpf_map_lookup_elem(&porin_config, &k);
	return c ? c->aggregation : PORIN_AGGREGATE_MEDIUM;
}

static __always_inline void emit(struct __sk_buff *skb, __u8 type, __u8 subtype, __u16 ep, __u32 src_id, __u32 dst_id,
				 __u8 vflags, __u8 reason, __s32 verdict, __u32 entry)
{
	struct porin_event *e = bpf_ringbuf_reserve(&porin_events, sizeof(*e), 0);
	if (!e) {
		__u32 k = 0;
		__u64 *lost = bpf_map_lookup_elem(&porin_events_lost, &k);
		if (lost)
			*lost += 1;
		return;
	}
	e->type = type;
	e->subtype = subtype;
	e->endpoint_id = ep;
	e->src_identity = src_id;
	e->dst_identity = dst_id;
	e->ifindex = skb->ifindex;
	e->verdict_flags = vflags;
	e->trace_reason = reason;
	e->proxy_port = verdict > 0 ? (__u16)verdict : 0;
	e->verdict = verdict;
	e->entry_id = entry;
	e->orig_len = skb->len;
	e->pad = 0;
	e->pad2 = 0;
	e->ktime_ns = bpf_ktime_get_ns();
	__u32 n = skb->len < PORIN_EVENT_CAPTURE ? skb->len : PORIN_EVENT_CAPTURE;
	e->cap_len = n;
	if (n == 0 || bpf_skb_load_bytes(skb, 0, e->data, n & (PORIN_EVENT_CAPTURE - 1 | PORIN_EVENT_CAPTURE)) < 0)
		e->cap_len = 0;
	bpf_ringbuf_submit(e, 0);
}

/* The policy lookup of bpf/lib/policy.h, over one LPM trie. Returns the verdict: 0 allow,
 * > 0 redirect to that proxy port, < 0 -drop reason; sets the match type and entry. */
static __always_inline int policy_lookup(__u16 ep, __u8 egress, __u32 peer, struct packet *p, __u8 *match, __u32 *entry)
{
	struct porin_policy_exact_key ek = { .identity = peer, .endpoint_id = ep, .egress = egress,
					     .protocol = p->protocol, .dport_be = p->dport };
	/* Identity 0 is ANY itself: only the ANY lookup applies (as PolicyMapTable.decide). */
	struct porin_policy_value *l3 = peer ? bpf_map_lookup_elem(&porin_policy_exact, &ek) : NULL;
	struct porin_policy_key k = {
		.prefixlen = PORIN_POLICY_STATIC_PREFIX + 8 + 16,
		.identity = peer,
		.endpoint_id = ep,
		.egress = egress,
		.protocol = p->protocol,
		.dport_be = p->dport,
	};
	if (l3) {
		/* The peer's own exact key: nothing can be longer, and a tie goes to it. */
		*match = PORIN_MATCH_L3_L4;
		*entry = l3->entry_id;
		if (l3->flags & PORIN_POLICY_DENY)
			return -PORIN_DROP_POLICY_DENY;
		return (l3->flags & PORIN_POLICY_REDIRECT) ? bpf_ntohs(l3->proxy_port_be) : 0;
	}
	l3 = peer ? bpf_map_lookup_elem(&porin_policy, &k) : NULL;
	k.identity = 0;
	struct porin_policy_value *l4 = bpf_map_lookup_elem(&porin_policy, &k);
	struct porin_policy_value *v = l3;
	int is_l3 = 1;
	if (l4 && (!l3 || l4->lpm_length > l3->lpm_length)) {
		v = l4;
		is_l3 = 0;
	}
	if (!v) {
		*match = PORIN_MATCH_NONE;
		*entry = 0;
		return -PORIN_DROP_POLICY;
	}
	__u8 len = v->lpm_length;
	if (len == 0)
		*match = is_l3 ? PORIN_MATCH_L3_ONLY : PORIN_MATCH_ALL;
	else if (len == 8)
		*match = is_l3 ? PORIN_MATCH_L3_PROTO : PORIN_MATCH_PROTO_ONLY;
	else
		*match = is_l3 ? PORIN_MATCH_L3_L4 : PORIN_MATCH_L4_ONLY;
	*entry = v->entry_id;
	if (v->flags & PORIN_POLICY_DENY)
		return -PORIN_DROP_POLICY_DENY;
	if (v->flags & PORIN_POLICY_REDIRECT)
		return bpf_ntohs(v->proxy_port_be);
	return 0;
}

enum ct_state { CT_NEW = 0, CT_ESTABLISHED = 1, CT_REPLY = 2 };

/* Lifetimes as Cilium's defaults: established TCP 6 h, TCP after FIN/RST 10 s, others 60 s. */
#define CT_LIFETIME_TCP (21600ULL * 1000000000ULL)
#define CT_LIFETIME_CLOSING (10ULL * 1000000000ULL)
#define CT_LIFETIME_OTHER (60ULL * 1000000000ULL)

static __always_inline int ct_expired(struct porin_ct_value *v, __u8 protocol, __u64 now)
{
	__u64 life = protocol != IPPROTO_TCP ? CT_LIFETIME_OTHER
		     : (v->flags & PORIN_CT_CLOSING) ? CT_LIFETIME_CLOSING : CT_LIFETIME_TCP;
	/* Another CPU may have stamped the entry after `now` was read: that is fresh, not a
	 * wrapped-around age (which made replies of busy UDP flows look like new connections). */
	return now > v->last_seen_ns && now - v->last_seen_ns > life;
}

static __always_inline int ct_lookup(struct packet *p, int *report, __u16 *rev_nat)
{
	*rev_nat = 0;
	struct porin_ct_key fwd = { .saddr_be = p->saddr, .daddr_be = p->daddr, .sport_be = p->sport,
				    .dport_be = p->dport, .protocol = p->protocol };
	__u64 now = bpf_ktime_get_ns();
	__u32 aggregate = config_aggregation();
	struct porin_ct_value *v = bpf_map_lookup_elem(&porin_ct, &fwd);
	/* An expired entry is a new connection (and is overwritten when it is created). */
	if (v && !ct_expired(v, p->protocol, now)) {
		__u8 seen = v->tx_flags_seen | p->tcp_flags;
		/* Report a packet of a known connection when asked to, or when it brings new TCP flags. */
		*report = aggregate == PORIN_AGGREGATE_NONE || seen != v->tx_flags_seen || (p->tcp_flags & 0x05);
		v->tx_flags_seen = seen;
		if (p->tcp_flags & 0x05)
			v->flags |= PORIN_CT_CLOSING;
		v->last_seen_ns = now;
		return CT_ESTABLISHED;
	}
	if (p->protocol == IPPROTO_ICMP && p->dport != bpf_htons(ICMP_ECHOREPLY)) {
		/* Only an echo reply answers anything; requests and errors are new (no RELATED yet). */
		*report = 1;
		return CT_NEW;
	}
	struct porin_ct_key rev = { .saddr_be = p->daddr, .daddr_be = p->saddr, .sport_be = p->dport,
				    .dport_be = p->sport, .protocol = p->protocol };
	if (p->protocol == IPPROTO_ICMP) {
		/* An echo reply answers the echo request with the same id. */
		rev.sport_be = p->sport;
		rev.dport_be = bpf_htons(ICMP_ECHO);
	}
	v = bpf_map_lookup_elem(&porin_ct, &rev);
	if (v && !ct_expired(v, p->protocol, now)) {
		__u8 seen = v->rx_flags_seen | p->tcp_flags;
		/* The first reply is always reported, later ones when they bring new TCP flags. */
		*report = aggregate == PORIN_AGGREGATE_NONE || !(v->flags & PORIN_CT_SEEN_REPLY) ||
			  seen != v->rx_flags_seen || (p->tcp_flags & 0x05);
		v->rx_flags_seen = seen;
		v->flags |= PORIN_CT_SEEN_REPLY;
		if (p->tcp_flags & 0x05)
			v->flags |= PORIN_CT_CLOSING;
		v->last_seen_ns = now;
		*rev_nat = v->rev_nat;
		return CT_REPLY;
	}
	*report = 1;
	return CT_NEW;
}

static __always_inline void ct_create(struct packet *p, __u32 src_identity, __u16 rev_nat)
{
	struct porin_ct_key fwd = { .saddr_be = p->saddr, .daddr_be = p->daddr, .sport_be = p->sport,
				    .dport_be = p->dport, .protocol = p->protocol };
	struct porin_ct_value v = { .last_seen_ns = bpf_ktime_get_ns(), .tx_flags_seen = p->tcp_flags,
				    .src_identity = src_identity, .rev_nat = rev_nat };
	bpf_map_update_elem(&porin_ct, &fwd, &v, BPF_ANY);
}

#define IP_CSUM_OFF (ETH_HLEN + 10)
#define IP_SRC_OFF (ETH_HLEN + 12)
#define IP_DST_OFF (ETH_HLEN + 16)

/* Rewrites one address and port of an IPv4 TCP/UDP packet, fixing both checksums. `dst`
 * chooses the destination (DNAT) or the source (reverse translation of a reply). */
static __always_inline int rewrite(struct __sk_buff *skb, struct packet *p, int dst, __u32 addr, __u16 port)
{
	__u32 old_addr = dst ? p->daddr : p->saddr;
	__u16 old_port = dst ? p->dport : p->sport;
	int csum_off = p->l4_off + (p->protocol == IPPROTO_TCP ? 16 : 6);
	__u64 l4flags = p->protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	if (bpf_l4_csum_replace(skb, csum_off, old_addr, addr, BPF_F_PSEUDO_HDR | l4flags | 4) < 0 ||
	    bpf_l4_csum_replace(skb, csum_off, old_port, port, l4flags | 2) < 0 ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, addr, 4) < 0 ||
	    bpf_skb_store_bytes(skb, dst ? IP_DST_OFF : IP_SRC_OFF, &addr, 4, 0) < 0 ||
	    bpf_skb_store_bytes(skb, p->l4_off + (dst ? 2 : 0), &port, 2, 0) < 0)
		return -1;
	if (dst) {
		p->daddr = addr;
		p->dport = port;
	} else {
		p->saddr = addr;
		p->sport = port;
	}
	return 0;
}

/* Service translation of a packet from a pod: ClusterIP:port → one backend. A new connection
 * gets a backend by a hash of its tuple and keeps it (porin_lb_conns) for all its packets, even
 * when the Service's backends change. Returns the service id (the reverse-NAT index), 0 when the
 * destination is no service, < 0 to drop. Translation events are reported once per connection. */
static __always_inline int service_translate(struct __sk_buff *skb, struct packet *p, __u16 ep, __u32 src_id)
{
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
		return 0;
	struct porin_service_key sk = { .vip_be = p->daddr, .port_be = p->dport, .protocol = p->protocol };
	struct porin_ct_key ck = { .saddr_be = p->saddr, .daddr_be = p->daddr, .sport_be = p->sport,
				   .dport_be = p->dport, .protocol = p->protocol };
	__u64 now = bpf_ktime_get_ns();
	struct porin_lb_conn_value *conn = bpf_map_lookup_elem(&porin_lb_conns, &ck);
	if (conn && (now <= conn->last_seen_ns || now - conn->last_seen_ns < (p->protocol == IPPROTO_TCP ? CT_LIFETIME_TCP : CT_LIFETIME_OTHER))) {
		conn->last_seen_ns = now;
		__u16 id = conn->service_id;
		if (rewrite(skb, p, 1, conn->addr_be, conn->port_be) < 0)
			return -PORIN_DROP_WRITE_ERROR;
		return id;
	}
	struct porin_service_value *svc = bpf_map_lookup_elem(&porin_services, &sk);
	if (!svc)
		return 0;
	emit(skb, PORIN_EVENT_TRACE_SOCK, PORIN_XLATE_PRE_FWD, ep, src_id, 0, 0, 0, 0, 0);
	__u16 count = svc->backend_count;
	if (count == 0)
		return -PORIN_DROP_NO_SERVICE_BACKEND;
	__u32 h = (p->saddr ^ ((__u32)p->sport << 16) ^ p->dport) * 2654435761u;
	struct porin_backend_key bk = { .service_id = svc->id, .slot = (__u16)((h >> 16) % count) };
	struct porin_backend_value *be = bpf_map_lookup_elem(&porin_backends, &bk);
	if (!be)
		return -PORIN_DROP_NO_SERVICE_BACKEND;
	struct porin_lb_conn_value nc = { .addr_be = be->addr_be, .port_be = be->port_be, .service_id = svc->id, .last_seen_ns = now };
	bpf_map_update_elem(&porin_lb_conns, &ck, &nc, BPF_ANY);
	__u16 id = svc->id;
	if (rewrite(skb, p, 1, nc.addr_be, nc.port_be) < 0)
		return -PORIN_DROP_WRITE_ERROR;
	emit(skb, PORIN_EVENT_TRACE_SOCK, PORIN_XLATE_POST_FWD, ep, src_id, 0, 0, 0, 0, 0);
	return id;
}

static __always_inline __u8 trace_reason(int state)
{
	return state == CT_REPLY ? PORIN_TRACE_REASON_REPLY : state == CT_ESTABLISHED ? PORIN_TRACE_REASON_ESTABLISHED : PORIN_TRACE_REASON_NEW;
}

/* A reply of a translated connection must come from the Service's address again. Returns < 0
 * (after reporting the drop) when the packet cannot be rewritten. */
static __always_inline int reverse_nat(struct __sk_buff *skb, struct packet *p, __u16 rev_nat, __u16 ep, __u32 src_id, __u32 dst_id)
{
	struct porin_revnat_value *rn = bpf_map_lookup_elem(&porin_revnat, &rev_nat);
	if (rn && rewrite(skb, p, 0, rn->vip_be, rn->port_be) < 0) {
		emit(skb, PORIN_EVENT_DROP, PORIN_DROP_WRITE_ERROR, ep, src_id, dst_id, 0, 0, -PORIN_DROP_WRITE_ERROR, 0);
		return -1;
	}
	return 0;
}

/* Hands the packet to the proxy's socket on `port` in this (the node's) namespace: the
 * connection's own socket if the proxy already has one (TCP), else the listener; the mark makes
 * the node's routing deliver it locally (docs/dns-proxy.md). Returns 0 or -drop reason. */
static __always_inline int to_proxy(struct __sk_buff *skb, struct packet *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	t.ipv4.saddr = p->saddr;
	t.ipv4.sport = p->sport;
	t.ipv4.daddr = p->daddr;
	t.ipv4.dport = p->dport;
	struct bpf_sock *sk = 0;
	if (p->protocol == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
		if (sk && sk->state == BPF_TCP_LISTEN) {
			bpf_sk_release(sk);
			sk = 0;
		}
		if (!sk) {
			t.ipv4.daddr = 0;
			t.ipv4.dport = bpf_htons(port);
			sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
		}
	} else if (p->protocol == IPPROTO_UDP) {
		t.ipv4.daddr = 0;
		t.ipv4.dport = bpf_htons(port);
		sk = bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	} else {
		return -PORIN_DROP_PROXY_UNSUPPORTED_PROTOCOL;
	}
	if (!sk)
		return -PORIN_DROP_SOCKET_LOOKUP_FAILED;
	long r = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (r < 0)
		return -PORIN_DROP_SOCKET_ASSIGN_FAILED;
	skb->mark = (skb->mark & ~PORIN_MARK_TO_PROXY_MASK) | PORIN_MARK_TO_PROXY;
	return 0;
}

/* Policy for one direction of one endpoint: verdict events and drops as Cilium reports them. */
static __always_inline int enforce(struct __sk_buff *skb, struct packet *p, __u16 ep, __u8 egress, __u32 peer,
				   __u32 src_id, __u32 dst_id, int state, __u16 enforcement)
{
	__u8 match = 0;
	__u32 entry = 0;
	int verdict = policy_lookup(ep, egress, peer, p, &match, &entry);
	/* ICMP "fragmentation needed" keeps path MTU discovery working (ALLOW_ICMP_FRAG_NEEDED). */
	if (verdict < 0 && p->protocol == IPPROTO_ICMP && p->dport == bpf_htons(3) && p->icmp_code == 4)
		verdict = 0;
	__u8 vflags = (egress ? PORIN_VERDICT_EGRESS : PORIN_VERDICT_INGRESS) | (match << 3);
	int enforced = enforcement & (egress ? PORIN_ENFORCE_EGRESS : PORIN_ENFORCE_INGRESS);
	if (verdict < 0 || (state == CT_NEW && enforced))
		emit(skb, PORIN_EVENT_POLICY_VERDICT, 0, ep, src_id, dst_id, vflags, 0, verdict, entry);
	if (verdict < 0)
		emit(skb, PORIN_EVENT_DROP, (__u8)(-verdict), ep, src_id, dst_id, vflags, 0, verdict, entry);
	return verdict;
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct porin_endpoint_value *src_ep = bpf_map_lookup_elem(&porin_endpoints, &ifindex);
	if (!src_ep) {
		/* Attached but not registered yet: nothing passes unenforced. */
		emit(skb, PORIN_EVENT_DROP, PORIN_DROP_EP_NOT_READY, 0, 0, 0, 0, 0, -PORIN_DROP_EP_NOT_READY, 0);
		return TC_ACT_SHOT;
	}
	__u16 ep = src_ep->endpoint_id;
	__u32 src_id = src_ep->identity;
	struct packet p = {};
	int r = parse(skb, &p);
	if (r == 1)
		return TC_ACT_OK; /* ARP */
	if (r < 0) {
		emit(skb, PORIN_EVENT_DROP, (__u8)(-r), ep, src_id, 0, 0, 0, r, 0);
		return TC_ACT_SHOT;
	}
	if (p.saddr != src_ep->addr_be) {
		emit(skb, PORIN_EVENT_DROP, PORIN_DROP_INVALID_SOURCE_IP, ep, src_id, 0, 0, 0, -PORIN_DROP_INVALID_SOURCE_IP, 0);
		return TC_ACT_SHOT;
	}
	int svc = service_translate(skb, &p, ep, src_id);
	if (svc < 0) {
		emit(skb, PORIN_EVENT_DROP, (__u8)(-svc), ep, src_id, 0, 0, 0, svc, 0);
		return TC_ACT_SHOT;
	}
	int report = 1;
	__u16 rev_nat = 0;
	int state = ct_lookup(&p, &report, &rev_nat);
	if (state == CT_REPLY && rev_nat && reverse_nat(skb, &p, rev_nat, ep, src_id, 0) < 0)
		return TC_ACT_SHOT;
	struct porin_ipcache_key ck = { .prefixlen = 32, .addr_be = p.daddr };
	struct porin_ipcache_value *dst = bpf_map_lookup_elem(&porin_ipcache, &ck);
	__u32 dst_id = dst ? dst->identity : WORLD_IDENTITY;
	if (state != CT_REPLY) {
		int v = enforce(skb, &p, ep, 1, dst_id, src_id, dst_id, state, src_ep->enforcement);
		if (v < 0)
			return TC_ACT_SHOT;
		if (v > 0) {
			/* An L7 rule: to the proxy listening on port v, with the original destination. */
			if (state == CT_NEW)
				ct_create(&p, src_id, (__u16)svc);
			int pr = to_proxy(skb, &p, (__u16)v);
			if (pr < 0) {
				emit(skb, PORIN_EVENT_DROP, (__u8)(-pr), ep, src_id, dst_id, 0, 0, pr, 0);
				return TC_ACT_SHOT;
			}
			if (report)
				emit(skb, PORIN_EVENT_TRACE, PORIN_OBS_TO_PROXY, ep, src_id, dst_id, 0, trace_reason(state), v, 0);
			return TC_ACT_OK;
		}
	}
	if (dst && dst->endpoint_id) {
		/* A local destination: its ingress policy, then straight into its namespace. */
		if (state != CT_REPLY) {
			int v = enforce(skb, &p, dst->endpoint_id, 0, src_id, src_id, dst_id, state, dst->enforcement);
			if (v < 0)
				return TC_ACT_SHOT;
		}
		if (state == CT_NEW)
			ct_create(&p, src_id, (__u16)svc);
		void *data = (void *)(long)skb->data;
		void *end = (void *)(long)skb->data_end;
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > end)
			return TC_ACT_SHOT;
		__builtin_memcpy(eth->h_dest, dst->mac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, src_ep->host_mac, ETH_ALEN);
		if (report)
			emit(skb, PORIN_EVENT_TRACE, PORIN_OBS_TO_ENDPOINT, dst->endpoint_id, src_id, dst_id, 0,
			     trace_reason(state),
			     0, 0);
		return bpf_redirect_peer(dst->ifindex, 0);
	}
	if (state == CT_NEW)
		ct_create(&p, src_id, (__u16)svc);
	if (report)
		emit(skb, PORIN_EVENT_TRACE, PORIN_OBS_TO_STACK, ep, src_id, dst_id, 0,
		     trace_reason(state),
		     0, 0);
	return TC_ACT_OK;
}

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct porin_endpoint_value *dst_ep = bpf_map_lookup_elem(&porin_endpoints, &ifindex);
	if (!dst_ep) {
		emit(skb, PORIN_EVENT_DROP, PORIN_DROP_EP_NOT_READY, 0, 0, 0, 0, 0, -PORIN_DROP_EP_NOT_READY, 0);
		return TC_ACT_SHOT;
	}
	__u16 ep = dst_ep->endpoint_id;
	struct packet p = {};
	int r = parse(skb, &p);
	if (r == 1)
		return TC_ACT_OK;
	if (r < 0) {
		emit(skb, PORIN_EVENT_DROP, (__u8)(-r), ep, 0, dst_ep->identity, 0, 0, r, 0);
		return TC_ACT_SHOT;
	}
	struct porin_ipcache_key ck = { .prefixlen = 32, .addr_be = p.saddr };
	struct porin_ipcache_value *src = bpf_map_lookup_elem(&porin_ipcache, &ck);
	__u32 src_id = src ? src->identity : WORLD_IDENTITY;
	if ((skb->mark & PORIN_MARK_TO_PROXY_MASK) == PORIN_MARK_IDENTITY && (skb->mark >> 16))
		src_id = skb->mark >> 16;
	int report = 1;
	__u16 rev_nat = 0;
	int state = ct_lookup(&p, &report, &rev_nat);
	/* Replies from Service backends outside this node's pods arrive here. */
	if (state == CT_REPLY && rev_nat && reverse_nat(skb, &p, rev_nat, ep, src_id, dst_ep->identity) < 0)
		return TC_ACT_SHOT;
	if (state != CT_REPLY) {
		int v = enforce(skb, &p, ep, 0, src_id, src_id, dst_ep->identity, state, dst_ep->enforcement);
		if (v < 0)
			return TC_ACT_SHOT;
		if (state == CT_NEW)
			ct_create(&p, src_id, 0);
	}
	if (report)
		emit(skb, PORIN_EVENT_TRACE, PORIN_OBS_TO_ENDPOINT, ep, src_id, dst_ep->identity, 0,
		     trace_reason(state),
		     0, 0);
	return TC_ACT_OK;
}
