// OpenSSL (Debian: libssl-dev): TLS for the simulated world's HTTPS hosts (no Swift TLS package is
// among the ones Porin may use).
#include <openssl/ssl.h>
#include <openssl/err.h>
