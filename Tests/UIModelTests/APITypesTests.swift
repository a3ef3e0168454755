import Testing
import Foundation
@testable import UIModel

@Suite struct APITypesTests {
    @Test func policyRefPrintsAsTheUIShowsIt() {
        #expect(PolicyRef(kind: "CiliumNetworkPolicy", namespace: "tenant-a", name: "default").description == "CiliumNetworkPolicy tenant-a/default")
        #expect(PolicyRef(kind: "CiliumClusterwideNetworkPolicy", namespace: "", name: "x").description == "CiliumClusterwideNetworkPolicy x")
    }
}
