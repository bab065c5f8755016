#include "CJupyter.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

int lab_hmac_sha256(const unsigned char *key, size_t key_length, const unsigned char *data, size_t length,
                    unsigned char out[32]) {
    unsigned int written = 0;
    // OpenSSL wants a non-null key pointer even for an empty key.
    static const unsigned char empty = 0;
    if (HMAC(EVP_sha256(), key_length ? key : &empty, (int)key_length, data, length, out, &written) == NULL) return -1;
    return written == 32 ? 0 : -1;
}
