/* gcm.c — AES-256-GCM seal and open over OpenSSL's EVP (gcm.h). */
#include "gcm.h"

int gcm_seal(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
             size_t aad_len, const uint8_t *pt, size_t n, uint8_t *ct, uint8_t *tag)
{
    int len = 0;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aad_len && EVP_EncryptUpdate(c, NULL, &len, aad, (int)aad_len) != 1) ||
        (n && EVP_EncryptUpdate(c, ct, &len, pt, (int)n) != 1) ||
        EVP_EncryptFinal_ex(c, ct + (n ? len : 0), &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) != 1)
        return -1;
    return 0;
}

int gcm_open(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
             size_t aad_len, const uint8_t *ct, size_t n, const uint8_t *tag, uint8_t *pt)
{
    int len = 0;
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aad_len && EVP_DecryptUpdate(c, NULL, &len, aad, (int)aad_len) != 1) ||
        (n && EVP_DecryptUpdate(c, pt, &len, ct, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, (void *)tag) != 1 ||
        EVP_DecryptFinal_ex(c, pt + (n ? len : 0), &len) != 1)
        return -1;
    return 0;
}
