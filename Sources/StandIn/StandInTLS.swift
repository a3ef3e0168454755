// The stand-in server's TLS (OpenSSL): one certificate and key per server process, a handshake on
// each accepted connection, then the plain HTTP answers over it. Only HTTP/1.1 is offered by
// ALPN, because HTTP/1.1 is all the stand-in speaks.
import CTLS
import Foundation
import Glibc

public final class StandInTLS: @unchecked Sendable {
    /// Shared by every connection's thread: OpenSSL 3 contexts are safe to use concurrently
    /// once configured, and nothing changes them after init.
    private let context: OpaquePointer

    /// Loads the certificate (PEM: the leaf, optionally followed by its chain) and its key.
    public init(certificate: String, key: String) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw Self.error("cannot create a TLS context") }
        context = ctx
        guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1 else { throw Self.error("certificate \(certificate)") }
        guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else { throw Self.error("key \(key)") }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw Self.error("key \(key) does not match certificate \(certificate)") }
        // Clients that offer h2 (curl does) must fall back to HTTP/1.1 rather than send HTTP/2
        // frames the server cannot parse; a client offering no http/1.1 gets no ALPN answer and
        // may decide for itself.
        SSL_CTX_set_alpn_select_cb(ctx, { _, out, outlen, offered, offeredLength, _ -> Int32 in
            guard let out, let outlen, let offered else { return SSL_TLSEXT_ERR_NOACK }
            let want = Array("http/1.1".utf8)
            var i = 0
            let n = Int(offeredLength)
            while i < n {
                let l = Int(offered[i])
                if i + 1 + l > n { break }
                if l == want.count, (0..<l).allSatisfy({ offered[i + 1 + $0] == want[$0] }) {
                    // Points into the client's list, which lives as long as the handshake needs it.
                    out.pointee = offered + i + 1
                    outlen.pointee = UInt8(l)
                    return SSL_TLSEXT_ERR_OK
                }
                i += 1 + l
            }
            return SSL_TLSEXT_ERR_NOACK
        }, nil)
    }

    deinit { SSL_CTX_free(context) }

    /// Runs the handshake on an accepted socket and hands `body` the decrypted stream; a failed
    /// handshake (e.g. a client that does not trust the certificate) just ends the connection.
    /// The caller closes the socket.
    func serve(_ socket: Int32, _ body: (_ read: (UnsafeMutableRawBufferPointer) -> Int, _ write: ([UInt8]) -> Bool) -> Void) {
        guard let ssl = SSL_new(context) else { return }
        defer { SSL_free(ssl) }
        guard SSL_set_fd(ssl, socket) == 1, SSL_accept(ssl) == 1 else {
            ERR_clear_error()
            return
        }
        body({ buf in Int(SSL_read(ssl, buf.baseAddress, Int32(clamping: buf.count))) },
             { bytes in bytes.isEmpty || bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) } == Int32(bytes.count) })
        // close_notify, so that clients see a clean end rather than a truncated stream.
        SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private static func error(_ what: String) -> NSError {
        var reasons: [String] = []
        while case let e = ERR_get_error(), e != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            reasons.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let message = "TLS: " + what + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        return NSError(domain: "porin.standin", code: 0, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
