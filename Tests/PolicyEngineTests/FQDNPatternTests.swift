// FQDNSelector matching (reference §1.6, Cilium v1.19 matchpattern): the examples the reference
// gives, match-all forms, `**.`, case and trailing dots.
import PolicyAPI
import PolicyEngine
import Testing

@Suite("FQDN patterns")
struct FQDNPatternTests {
    @Test("matchName: exact, case-insensitive, with or without the trailing dot")
    func matchName() {
        let p = FQDNPattern(matchName: "api.Twitter.com")
        #expect(p.matches("api.twitter.com") && p.matches("API.TWITTER.COM.") && p.matches("api.twitter.com."))
        #expect(!p.matches("www.api.twitter.com") && !p.matches("twitter.com") && !p.matches("api.twitter.co"))
    }

    @Test("a star is zero or more label characters within one label", arguments: [
        ("*.cilium.io", "www.cilium.io", true), ("*.cilium.io", "cilium.io", false), ("*.cilium.io", "a.b.cilium.io", false),
        ("*cilium.io", "cilium.io", true), ("*cilium.io", "subcilium.io", true), ("*cilium.io", "sub.cilium.io", false),
        ("sub*.cilium.io", "sub.cilium.io", true), ("sub*.cilium.io", "subdomain.cilium.io", true), ("sub*.cilium.io", "xsub.cilium.io", false),
        ("a*b*c.io", "axxbyyc.io", true), ("a*b*c.io", "abc.io", true), ("a*b*c.io", "a.b.c.io", false),
        ("*.*.io", "x.y.io", true), ("*.*.io", "x.io", false),
    ])
    func stars(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(FQDNPattern(matchPattern: pattern).matches(name) == expected, "\(pattern) ~ \(name)")
    }

    @Test("a leading **. is one or more whole labels", arguments: [
        ("**.cilium.io", "app.cilium.io", true), ("**.cilium.io", "test.app.cilium.io", true), ("**.cilium.io", "cilium.io", false),
        ("***.cilium.io", "a.b.c.cilium.io", true), ("**.*.io", "a.b.io", true), ("**.*.io", "b.io", false),
    ])
    func anyLabels(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(FQDNPattern(matchPattern: pattern).matches(name) == expected, "\(pattern) ~ \(name)")
    }

    @Test("stars alone select every name (and the root), but no name with characters outside labels")
    func matchAll() {
        for p in ["*", "**", "*.", "***"] {
            let m = FQDNPattern(matchPattern: p)
            #expect(m.matches("api.twitter.com") && m.matches("a.") && m.matches("."), "\(p)")
            #expect(!m.matches("bad name.com") && !m.matches("a..b"), "\(p)")
        }
    }

    @Test("selectors: matchName wins, the label text is the selector as written")
    func selectors() {
        #expect(FQDNPattern(FQDNSelector(matchName: "Example.com")).text == "Example.com")
        #expect(FQDNPattern(FQDNSelector(matchPattern: "*.example.com")).matches("www.example.com."))
    }
}
