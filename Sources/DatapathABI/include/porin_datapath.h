/* The datapath ABI: every BPF map key/value and event struct shared by the BPF programs in bpf/ and Swift.
 * One header so that the layouts cannot drift. Integers are host order unless the name says
 * `_be` (network order, as they sit in packets). Keep structs free of implicit padding. */
#ifndef PORIN_DATAPATH_H
#define PORIN_DATAPATH_H

#include <linux/types.h>

/* Monitor message types (Cilium's pkg/monitor/api): Hubble's event_type.type. */
#define PORIN_EVENT_DROP 1
#define PORIN_EVENT_TRACE 4
#define PORIN_EVENT_POLICY_VERDICT 5
#define PORIN_EVENT_TRACE_SOCK 7

/* Trace observation points (event subtype for PORIN_EVENT_TRACE). */
#define PORIN_OBS_TO_ENDPOINT 0
#define PORIN_OBS_TO_PROXY 1
#define PORIN_OBS_TO_HOST 2
#define PORIN_OBS_TO_STACK 3
#define PORIN_OBS_FROM_ENDPOINT 5

/* Trace reasons (Cilium's datapath values). */
#define PORIN_TRACE_REASON_NEW 0
#define PORIN_TRACE_REASON_ESTABLISHED 1
#define PORIN_TRACE_REASON_REPLY 2
#define PORIN_TRACE_REASON_RELATED 3

/* Drop reasons (positive codes; Cilium's DROP_* are their negations). */
#define PORIN_DROP_INVALID_SOURCE_IP 132
#define PORIN_DROP_POLICY 133
#define PORIN_DROP_INVALID_PACKET 134
#define PORIN_DROP_CT_INVALID_HEADER 135
#define PORIN_DROP_UNSUPPORTED_L3 139
#define PORIN_DROP_UNKNOWN_L4 142
#define PORIN_DROP_WRITE_ERROR 141
#define PORIN_DROP_FRAG_NOT_SUPPORTED 157
#define PORIN_DROP_NO_SERVICE_BACKEND 158
#define PORIN_DROP_POLICY_DENY 181
#define PORIN_DROP_EP_NOT_READY 203

/* Policy verdict flags byte: bits 0-1 direction, bits 3-5 match type (Cilium's layout). */
#define PORIN_VERDICT_INGRESS 1
#define PORIN_VERDICT_EGRESS 2
#define PORIN_MATCH_NONE 0
#define PORIN_MATCH_L3_ONLY 1
#define PORIN_MATCH_L3_L4 2
#define PORIN_MATCH_L4_ONLY 3
#define PORIN_MATCH_ALL 4
#define PORIN_MATCH_L3_PROTO 5
#define PORIN_MATCH_PROTO_ONLY 6

/* Policy map: one LPM trie for every endpoint and direction. The prefix always covers
 * identity, endpoint and direction (56 bits); then protocol (8) and the port's prefix. A lookup
 * is done twice, with the peer's identity and with 0 (ANY); the longer (protocol, port) match
 * wins and a tie goes to the peer's own entry (PolicyMapTable.decide in Swift is the same). */
#define PORIN_POLICY_STATIC_PREFIX 56
struct porin_policy_key {
	__u32 prefixlen;
	__u32 identity;     /* host order: always fully inside the prefix */
	__u16 endpoint_id;
	__u8 egress;
	__u8 protocol;
	__u16 dport_be;
	__u16 pad;          /* outside every prefix; always 0 */
};

#define PORIN_POLICY_DENY 1
#define PORIN_POLICY_REDIRECT 2
struct porin_policy_value {
	__u16 proxy_port_be;
	__u8 flags;
	__u8 lpm_length;    /* (protocol, port) prefix length: 0, 8 or 8 + port bits */
	__u32 entry_id;     /* userspace's handle of the entry, for attributing verdicts */
};

/* The exact-port entries of one peer identity (prefix length 24), also kept in a hash: such an
 * entry is the longest possible match, so one hash hit settles a lookup without the trie. The
 * hash is a cache of the trie: every key in it is in the trie with the same value. */
struct porin_policy_exact_key {
	__u32 identity;
	__u16 endpoint_id;
	__u8 egress;
	__u8 protocol;
	__u16 dport_be;
	__u16 pad;
};

/* ipcache: LPM over IPv4 addresses → identity, and the local endpoint behind the address. */
struct porin_ipcache_key {
	__u32 prefixlen;
	__u32 addr_be;
};
/* Which directions of an endpoint are enforced: policy-verdict events are reported for
 * enforced directions only (Cilium's POLICY_VERDICT_LOG_FILTER); drops always are. */
#define PORIN_ENFORCE_INGRESS 1
#define PORIN_ENFORCE_EGRESS 2

struct porin_ipcache_value {
	__u32 identity;
	__u16 endpoint_id;  /* 0 when not a local endpoint */
	__u16 enforcement;  /* PORIN_ENFORCE_* of a local endpoint */
	__u32 ifindex;      /* host-side veth of a local endpoint */
	__u8 mac[6];        /* the endpoint's own (pod-side) MAC */
	__u8 pad2[2];
};

/* Local endpoints by the ifindex of their host-side veth. */
struct porin_endpoint_value {
	__u16 endpoint_id;
	__u16 enforcement;  /* PORIN_ENFORCE_* */
	__u32 identity;
	__u32 addr_be;
	__u8 mac[6];        /* pod-side MAC */
	__u8 host_mac[6];   /* host-side veth MAC */
};

/* Connection tracking (IPv4), keyed by the tuple as first seen. */
struct porin_ct_key {
	__u32 saddr_be;
	__u32 daddr_be;
	__u16 sport_be;
	__u16 dport_be;
	__u8 protocol;
	__u8 pad[3];
};
#define PORIN_CT_SEEN_REPLY 1
#define PORIN_CT_CLOSING 2
struct porin_ct_value {
	__u64 last_seen_ns;
	__u8 flags;
	__u8 tx_flags_seen;  /* TCP flags seen forward, for aggregation */
	__u8 rx_flags_seen;  /* TCP flags seen in replies */
	__u8 pad;
	__u32 src_identity;
	__u16 rev_nat;       /* service whose address replies must carry again (0: none) */
	__u16 pad2;
	__u32 pad3;
};

/* Services (ClusterIP): frontend → backends, and the reverse translation of replies. */
struct porin_service_key {
	__u32 vip_be;
	__u16 port_be;
	__u8 protocol;
	__u8 pad;
};
struct porin_service_value {
	__u16 id;            /* also the reverse-NAT index */
	__u16 backend_count;
};
struct porin_backend_key {
	__u16 service_id;
	__u16 slot;          /* 0 .. backend_count-1 */
};
struct porin_backend_value {
	__u32 addr_be;
	__u16 port_be;
	__u16 pad;
};
struct porin_revnat_value {
	__u32 vip_be;
	__u16 port_be;
	__u16 pad;
};

/* The backend a Service connection was given, keyed by the connection's pre-translation tuple,
 * so that every packet of it keeps its backend when backends come and go. */
struct porin_lb_conn_value {
	__u32 addr_be;
	__u16 port_be;
	__u16 service_id;
	__u64 last_seen_ns;
};

/* Socket translation points (event subtype for PORIN_EVENT_TRACE_SOCK). */
#define PORIN_XLATE_PRE_FWD 1
#define PORIN_XLATE_POST_FWD 2
#define PORIN_XLATE_PRE_REV 3
#define PORIN_XLATE_POST_REV 4

/* Packets assigned to a proxy's socket carry this mark; a rule in the node's namespace sends
 * them to a table whose local route delivers them to that socket (docs/dns-proxy.md). */
#define PORIN_MARK_TO_PROXY 0x200
#define PORIN_MARK_TO_PROXY_MASK 0xf00
#define PORIN_PROXY_ROUTE_TABLE 2005
/* The DNS proxy's upstream packets carry the identity of the endpoint that asked in the mark's
 * upper 16 bits (with this magic in 0xf00), so the server's ingress policy sees that endpoint
 * and not the node, as in Cilium. */
#define PORIN_MARK_IDENTITY 0xf00
/* Drop reasons of the redirect to a proxy (Cilium's codes and texts). */
#define PORIN_DROP_SOCKET_LOOKUP_FAILED 178
#define PORIN_DROP_SOCKET_ASSIGN_FAILED 179
#define PORIN_DROP_PROXY_UNSUPPORTED_PROTOCOL 180

/* Node-wide settings. */
#define PORIN_AGGREGATE_NONE 0     /* report every packet */
#define PORIN_AGGREGATE_MEDIUM 3   /* report connection starts, ends and flag changes (default) */
struct porin_config {
	__u32 aggregation;
	__u32 host_identity;
};

/* One datapath event (ring buffer record): a header and the packet's first bytes. */
#define PORIN_EVENT_CAPTURE 128
struct porin_event {
	__u8 type;
	__u8 subtype;       /* observation point, drop reason, or 0 */
	__u16 endpoint_id;  /* where the event happened */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 ifindex;
	__u8 verdict_flags; /* policy verdict: direction | match type << 3 */
	__u8 trace_reason;
	__u16 proxy_port;
	__s32 verdict;      /* policy verdict: 0 allow, > 0 redirect port, < 0 -drop reason */
	__u32 entry_id;     /* policy entry that decided, or 0 */
	__u32 orig_len;
	__u16 cap_len;
	__u16 pad;
	__u32 pad2;
	__u64 ktime_ns;
	__u8 data[PORIN_EVENT_CAPTURE];
};

#endif
