// The Jupyter kernel's two C dependencies: ZeroMQ (Debian's libzmq3-dev) for the sockets, and
// OpenSSL's libcrypto for the HMAC-SHA256 that signs every message.
#ifndef CJUPYTER_H
#define CJUPYTER_H

#include <stddef.h>
#include <zmq.h>

/// HMAC-SHA256 of `data` under `key`, written to `out` (32 bytes). Returns 0 on success.
int lab_hmac_sha256(const unsigned char *key, size_t key_length, const unsigned char *data, size_t length,
                    unsigned char out[32]);

#endif
