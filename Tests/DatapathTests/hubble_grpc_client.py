#!/usr/bin/python3
"""An independent Hubble gRPC client for Porin's relay: Python grpcio with message classes that
protoc generates from Porin's proto/ files (Debian's python3-grpcio, python3-protobuf,
protobuf-compiler). It speaks to the server exactly as any Hubble client would: method paths,
message names and field numbers.

usage: hubble_grpc_client.py HOST:PORT PROTO_DIR -- TRIGGER_COMMAND...
It checks health, ServerStatus, GetNodes, GetFlows (filters, number, first+follow refusal),
then follows GetFlows while running TRIGGER_COMMAND (which should make tenant-a's frontend
connect to port 80) and reports when the first such flow arrived. Prints one JSON object.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import grpc

address, proto_dir = sys.argv[1], sys.argv[2]
trigger = sys.argv[sys.argv.index("--") + 1:]
out_dir = tempfile.mkdtemp(prefix="porin-hubble-py-")
subprocess.run(["protoc", "-I", proto_dir, "-I", "/usr/include", f"--python_out={out_dir}",
                "flow/flow.proto", "relay/relay.proto", "observer/observer.proto"], check=True)
# grpc/health/v1/health.proto would generate a package named `grpc`, shadowing grpcio's: it goes
# to a directory of its own and is loaded by file.
health_dir = tempfile.mkdtemp(prefix="porin-health-py-")
subprocess.run(["protoc", "-I", proto_dir, f"--python_out={health_dir}", "grpc/health/v1/health.proto"], check=True)
sys.path.insert(0, out_dir)
from observer import observer_pb2  # noqa: E402
from flow import flow_pb2  # noqa: E402
from relay import relay_pb2  # noqa: E402

spec = importlib.util.spec_from_file_location("health_pb2", os.path.join(health_dir, "grpc/health/v1/health_pb2.py"))
health_pb2 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(health_pb2)

channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=10)


def unary(method, request, response_class):
    call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_class.FromString)
    return call(request, timeout=10)


get_flows = channel.unary_stream("/observer.Observer/GetFlows", request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=observer_pb2.GetFlowsResponse.FromString)
report = {}

health = unary("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest(service="hubble.server.Observer"),
               health_pb2.HealthCheckResponse)
report["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)

status = unary("/observer.Observer/ServerStatus", observer_pb2.ServerStatusRequest(), observer_pb2.ServerStatusResponse)
report["status"] = {"num_flows": status.num_flows, "max_flows": status.max_flows, "seen_flows": status.seen_flows,
                    "connected": status.num_connected_nodes.value, "unavailable": status.num_unavailable_nodes.value,
                    "version": status.version}

nodes = unary("/observer.Observer/GetNodes", observer_pb2.GetNodesRequest(), observer_pb2.GetNodesResponse)
report["nodes"] = [{"name": n.name, "state": relay_pb2.NodeState.Name(n.state), "max_flows": n.max_flows} for n in nodes.nodes]

namespaces = unary("/observer.Observer/GetNamespaces", observer_pb2.GetNamespacesRequest(), observer_pb2.GetNamespacesResponse)
report["namespaces"] = [n.namespace for n in namespaces.namespaces]


def flows(request):
    """The flows of a finished GetFlows stream, and the node status events seen."""
    got, statuses = [], []
    for r in get_flows(request, timeout=20):
        kind = r.WhichOneof("response_types")
        if kind == "flow":
            got.append(r.flow)
        elif kind == "node_status":
            statuses.append(relay_pb2.NodeState.Name(r.node_status.state_change))
    return got, statuses


def summary(f):
    return {"verdict": flow_pb2.Verdict.Name(f.verdict), "source_pod": f.source.pod_name, "source_ns": f.source.namespace,
            "destination_ns": f.destination.namespace, "destination_port": f.l4.TCP.destination_port,
            "summary": f.Summary, "node_name": f.node_name, "policy_match_type": f.policy_match_type}


# Allow-list: tenant-a's frontend, dropped.
dropped, statuses = flows(observer_pb2.GetFlowsRequest(number=50, whitelist=[
    flow_pb2.FlowFilter(source_pod=["tenant-a/frontend-service"], verdict=[flow_pb2.DROPPED])]))
report["dropped"] = [summary(f) for f in dropped]
report["node_statuses"] = statuses

# Deny-list: tenant-a's flows without the forwarded ones.
not_forwarded, _ = flows(observer_pb2.GetFlowsRequest(number=200, whitelist=[flow_pb2.FlowFilter(source_pod=["tenant-a/"])],
                                                      blacklist=[flow_pb2.FlowFilter(verdict=[flow_pb2.FORWARDED])]))
report["not_forwarded_verdicts"] = sorted({flow_pb2.Verdict.Name(f.verdict) for f in not_forwarded})

# number with first: the oldest flows, in time order.
oldest, _ = flows(observer_pb2.GetFlowsRequest(number=3, first=True))
report["first3_sorted"] = [f.time.ToNanoseconds() for f in oldest] == sorted(f.time.ToNanoseconds() for f in oldest)
report["first3_count"] = len(oldest)

try:
    flows(observer_pb2.GetFlowsRequest(first=True, follow=True))
    report["first_follow"] = "accepted"
except grpc.RpcError as e:
    report["first_follow"] = f"{e.code().name}: {e.details()}"

# Follow: a new flow must arrive while the stream is open.
request = observer_pb2.GetFlowsRequest(follow=True, whitelist=[flow_pb2.FlowFilter(
    source_pod=["tenant-a/frontend-service"], destination_port=["80"], tcp_flags=[flow_pb2.TCPFlags(SYN=True)])])
stream = get_flows(request, timeout=30)
followed = {}


def trigger_when_open():
    time.sleep(0.3)
    followed["triggered_at"] = time.time()
    subprocess.run(trigger, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


thread = None
for r in stream:
    kind = r.WhichOneof("response_types")
    if kind == "node_status" and thread is None:
        # The relay's first message: the stream is open.
        thread = threading.Thread(target=trigger_when_open)
        thread.start()
    elif kind == "flow" and "triggered_at" in followed:
        received = time.time()
        followed["latency_ms"] = (received - r.flow.time.ToNanoseconds() / 1e9) * 1000
        followed["flow"] = summary(r.flow)
        stream.cancel()
        break
if thread:
    thread.join()
report["follow"] = followed
print(json.dumps(report))
