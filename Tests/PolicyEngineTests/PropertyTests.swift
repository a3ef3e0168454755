// Property tests over random scenarios (see ScenarioGenerator.swift).
import PolicyAPI
import PolicyEngine
import PropertyBased
import Testing

private func firstDifferences(_ lines: [String], _ limit: Int = 6) -> String { lines.prefix(limit).joined(separator: "\n") }

@Suite("properties of the policy engine")
struct PropertyTests {
    @Test func addingAnAllowRuleNeverDeniesAnAllowedQuery() async {
        await propertyCheck(count: 60, input: ScenarioGen.scenarioPlusPolicy(.allowOnly)) { pair in
            let (s, extra) = pair
            let before = s.build()
            let grid = s.grid
            let b = evaluateGrid(before, grid)
            let a = evaluateGrid(s.build(policies: s.policies + [extra]), grid)
            var broken: [String] = []
            for q in grid {
                guard let sp = before.subjectPolicy(ofEndpoint: q.endpoint) else { continue }
                let dp = sp.direction(q.direction)
                // Only where the direction is already in default deny: an allow policy may switch
                // enforcement (and so default deny) on where it was off.
                guard dp.enforced && dp.defaultDeny, let vb = b[q], let va = a[q] else { continue }
                if vb.allowed && !va.allowed { broken.append("\(q): \(vb) -> \(va)") }
            }
            if !broken.isEmpty {
                Issue.record("an added allow policy denied \(broken.count) allowed queries, e.g.\n\(firstDifferences(broken))\nscenario:\n\(s)\nadded:\n\(extra.yaml)")
            }
        }
    }

    @Test func addingADenyRuleNeverAllowsADeniedQuery() async {
        await propertyCheck(count: 60, input: ScenarioGen.scenarioPlusPolicy(.denyOnly)) { pair in
            let (s, extra) = pair
            let grid = s.grid
            let before = evaluateGrid(s.build(), grid)
            let after = evaluateGrid(s.build(policies: s.policies + [extra]), grid)
            var broken: [String] = []
            for q in grid {
                guard let b = before[q], let a = after[q] else { continue }
                if !b.allowed && a.allowed { broken.append("\(q): \(b) -> \(a)") }
            }
            if !broken.isEmpty {
                Issue.record("an added deny policy allowed \(broken.count) denied queries, e.g.\n\(firstDifferences(broken))\nscenario:\n\(s)\nadded:\n\(extra.yaml)")
            }
        }
    }

    @Test func dropReasonsAreConsistent() async {
        // A drop with an entry is a denylist drop (181); a drop without one is default deny (133).
        await propertyCheck(count: 40, input: ScenarioGen.scenario()) { s in
            let verdicts = evaluateGrid(s.build(), s.grid)
            for q in s.grid {
                guard let v = verdicts[q] else { continue }
                let ok = v.allowed ? v.dropReason == nil : (v.dropReason == 133 || v.dropReason == 181)
                if !ok || (!v.enforced && !v.allowed) { Issue.record("\(q): \(v)\n\(s)"); return }
            }
        }
    }

    @Test func policyOrderDoesNotChangeAnyVerdict() async {
        await propertyCheck(count: 50, input: ScenarioGen.scenario(policyCount: 2...5)) { s in
            let grid = s.grid
            let reference = evaluateGrid(s.build(), grid)
            var r = ScenarioRNG(seed: s.seed ^ 0x5eed)
            let shuffled = r.shuffled(s.policies)
            let reversed = Array(s.policies.reversed())
            let podsShuffled = r.shuffled(s.pods)
            let a = evaluateGrid(s.build(policies: shuffled), grid)
            let b = evaluateGrid(s.build(policies: reversed, podsFirst: true), grid)
            let c = evaluateGrid(s.build(policies: shuffled, pods: podsShuffled, podsFirst: true), grid)
            let n = expectSameVerdicts(reference, a, "shuffled policy order")
                + expectSameVerdicts(reference, b, "reversed policies, pods first")
                + expectSameVerdicts(reference, c, "shuffled policies and pods, pods first")
            if n > 0 { Issue.record("scenario:\n\(s)\nshuffled order: \(shuffled.map(\.reference.name))") }
        }
    }

    @Test func incrementalUpdatesEqualRebuildFromScratch() async {
        await propertyCheck(count: 50, input: Gen.uint64()) { seed in
            var r = ScenarioRNG(seed: seed)
            let start = Scenario(seed: seed, policyCount: 0...3)
            var namespaces = start.namespaces
            var pods = start.pods
            var policies = start.policies
            let engine = start.build(podsFirst: r.chance(50))
            var log: [String] = []
            var nextPolicy = policies.count
            var nextPod = pods.count
            for _ in 0..<r.int(in: 3...8) {
                switch r.int(8) {
                case 0, 1:
                    let p = PolicySpecGen.random(&r, name: "pol\(nextPolicy)", flavor: .mixed)
                    nextPolicy += 1
                    engine.upsertPolicy(p.object)
                    policies.append(p)
                    log.append("add policy \(p.reference)\n\(p.yaml)")
                case 2 where !policies.isEmpty:
                    let i = r.int(policies.count)
                    engine.removePolicy(policies[i].reference)
                    log.append("remove policy \(policies[i].reference)")
                    policies.remove(at: i)
                case 3 where !policies.isEmpty:
                    let i = r.int(policies.count)
                    let old = policies[i].reference
                    let p = PolicySpecGen.random(&r, name: old.name, flavor: .mixed, kind: old.kind,
                                                 namespace: old.namespace.isEmpty ? nil : old.namespace)
                    engine.upsertPolicy(p.object)
                    policies[i] = p
                    log.append("replace policy \(p.reference)\n\(p.yaml)")
                case 4 where pods.count < 7:
                    let p = PodSpecGen.random(&r, index: nextPod)
                    nextPod += 1
                    engine.upsertEndpoint(p.endpoint)
                    pods.append(p)
                    log.append("add pod \(p)")
                case 5 where pods.count > 1:
                    let i = r.int(pods.count)
                    engine.removeEndpoint(namespace: pods[i].namespace, name: pods[i].name)
                    log.append("remove pod \(pods[i].fullName)")
                    pods.remove(at: i)
                case 6 where !pods.isEmpty:
                    let i = r.int(pods.count)
                    let p = pods[i].relabelled(&r)
                    engine.upsertEndpoint(p.endpoint)
                    pods[i] = p
                    log.append("relabel pod \(p)")
                default:
                    let n = r.pick(Vocabulary.namespaces)
                    let l = r.pick(Vocabulary.namespaceLabelChoices)
                    engine.setNamespace(n, labels: l)
                    namespaces[n] = l
                    log.append("set namespace \(n) \(l)")
                }
            }
            var final = start
            final.namespaces = namespaces
            final.pods = pods
            final.policies = policies
            let rebuilt = final.build()
            let grid = final.grid
            let n = expectSameVerdicts(evaluateGrid(engine, grid), evaluateGrid(rebuilt, grid), "incremental vs rebuilt")
            // Nothing leaks: identities, selectors, subjects, rules and CIDR prefixes match too.
            let si = engine.stats, sr = rebuilt.stats
            #expect(si.identities == sr.identities, "identities")
            #expect(si.selectors == sr.selectors, "selectors")
            #expect(si.subjects == sr.subjects, "subjects")
            #expect(si.rules == sr.rules, "rules")
            #expect(engine.cidrPrefixes.map(\.0) == rebuilt.cidrPrefixes.map(\.0), "CIDR prefixes")
            let leak = si.identities != sr.identities || si.selectors != sr.selectors || si.subjects != sr.subjects || si.rules != sr.rules
            if n > 0 || leak {
                Issue.record("start:\n\(start)\noperations:\n\(log.joined(separator: "\n"))\nfinal:\n\(final)")
            }
        }
    }
}
