// The relay's ServerStatus, GetNodes and GetNamespaces answers as `hubble status` and `hubble
// list` print them: the layouts live in Hubble.StatusFormat; `-o json` is the messages' protojson
// (proto field names), as hubble prints it.
import Hubble
import HubbleProto
import SwiftProtobuf

extension HubbleServerStatus {
    public init(proto p: Observer_ServerStatusResponse) {
        self.init()
        numFlows = p.numFlows
        maxFlows = p.maxFlows
        seenFlows = p.seenFlows
        uptimeNs = p.uptimeNs
        flowsRate = p.flowsRate
        numConnectedNodes = p.hasNumConnectedNodes ? p.numConnectedNodes.value : nil
        numUnavailableNodes = p.hasNumUnavailableNodes ? p.numUnavailableNodes.value : nil
        unavailableNodes = p.unavailableNodes
        version = p.version
    }
}

extension HubbleNode {
    public init(proto p: Observer_Node) {
        self.init()
        name = p.name
        version = p.version
        address = p.address
        state = p.state.rawValue
        tls = p.hasTls ? p.tls.enabled : nil
        // A node that is not connected has no figures: hubble prints N/A for them.
        if p.state == .nodeConnected {
            uptimeNs = p.uptimeNs
            numFlows = p.numFlows
            maxFlows = p.maxFlows
            seenFlows = p.seenFlows
        }
    }
}

public enum HubbleJSON {
    static var options: JSONEncodingOptions {
        var o = JSONEncodingOptions()
        o.preserveProtoFieldNames = true
        return o
    }

    /// One message as protojson on one line (`hubble status -o json`).
    public static func compact(_ m: some SwiftProtobuf.Message) throws -> String { try m.jsonString(options: options) }

    /// Messages as an indented JSON array (`hubble list nodes -o json`, `list namespaces -o json`).
    public static func indentedArray(_ ms: [some SwiftProtobuf.Message]) throws -> String {
        let values = try ms.map { try JSONReader.parse(try $0.jsonString(options: options)) }
        return JSONValue.array(values).indented() + "\n"
    }
}
