/* keyfile.c — 32-byte keys as 64 hex digits, in a variable or a file
 * (keyfile.h). */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "config.h"
#include "hex.h"
#include "log.h"

/* A key file holds 64 hex digits and perhaps a newline. */
#define FILE_MAX 256
#define NAME_MAX_LEN 64

/* 64 hex digits (surrounding white space ignored) into key. */
static int key_parse(const char *text, size_t n, uint8_t key[KEYFILE_LEN])
{
    while (n && (text[0] == ' ' || text[0] == '\n' || text[0] == '\r' || text[0] == '\t'))
        text++, n--;
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\r' ||
                 text[n - 1] == '\t'))
        n--;
    return n == 2 * KEYFILE_LEN && hex_decode(text, n, key, KEYFILE_LEN) == 0 ? 0 : -1;
}

int keyfile_read(const char *path, uint8_t key[KEYFILE_LEN], char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "could not open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    char b[FILE_MAX];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    int bad = key_parse(b, n, key);
    OPENSSL_cleanse(b, sizeof b);
    if (bad)
        snprintf(err, cap, "\"%s\": expected 64 hex digits (32 bytes)", path);
    return bad ? -1 : 0;
}

int keyfile_load(const char *name, uint8_t key[KEYFILE_LEN])
{
    char file_var[NAME_MAX_LEN + 8];
    snprintf(file_var, sizeof file_var, "%s_FILE", name);
    const char *text = config_str(name, NULL);
    const char *path = config_str(file_var, NULL);
    if (text) {
        if (key_parse(text, strlen(text), key) != 0) {
            log_error("CAREBUS_%s: expected 64 hex digits (32 bytes)", name);
            return -1;
        }
        return 1;
    }
    if (path) {
        char err[300];
        if (keyfile_read(path, key, err, sizeof err) != 0) {
            log_error("CAREBUS_%s: %s", file_var, err);
            return -1;
        }
        return 1;
    }
    return 0;
}

int keyfile_make(const char *path, char *err, size_t cap)
{
    uint8_t key[KEYFILE_LEN];
    if (access(path, F_OK) == 0) {
        int rc = keyfile_read(path, key, err, cap);
        OPENSSL_cleanse(key, sizeof key);
        return rc == 0 ? 0 : -1;
    }
    char text[2 * KEYFILE_LEN + 2];
    if (RAND_bytes(key, KEYFILE_LEN) != 1) {
        snprintf(err, cap, "RAND_bytes failed");
        return -1;
    }
    hex_encode(key, KEYFILE_LEN, text);
    OPENSSL_cleanse(key, sizeof key);
    text[2 * KEYFILE_LEN] = '\n';
    text[2 * KEYFILE_LEN + 1] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    int rc = -1;
    if (fd < 0) {
        snprintf(err, cap, "could not create \"%s\": %s", path, strerror(errno));
    } else if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1) || fsync(fd) != 0) {
        snprintf(err, cap, "could not write \"%s\": %s", path, strerror(errno));
        unlink(path);
    } else {
        rc = 1;
    }
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}
