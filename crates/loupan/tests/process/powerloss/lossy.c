/*
 * A fault-injecting file layer for the power-loss test, loaded with LD_PRELOAD
 * into the Loupan server. For every file under $LOUPAN_LOSSY_DIR (except the
 * SQLite shared-memory index, which is rebuilt after a crash anyway) it keeps an
 * undo log of the writes the file has had since its last fsync/fdatasync: the
 * bytes each write overwrote and the file's size before it. fsync empties the
 * file's log, because from then on those writes are on disk.
 *
 * After the server is killed, the test plays the logs backwards
 * (`undo_unsynced` in power_loss.rs): every file goes back to what it held at
 * its last fsync, plus, in "prefix" mode, the earliest part of its unsynced
 * writes, as if the power went out with the rest still in the page cache.
 *
 * Undo record, appended to $LOUPAN_LOSSY_LOG/<file path with / as %>.undo:
 *   u64 offset, u64 old_size, u64 n, n bytes (what [offset, offset+n) held)
 * Only what existed is saved: n is 0 for a write wholly past the old end.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);

static void init(void) {
    if (real_write) return;
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_write = dlsym(RTLD_NEXT, "write");
}

/* The undo log path for fd's file, or 0 when the file is not watched. */
static int log_path(int fd, char *out, size_t size) {
    const char *dir = getenv("LOUPAN_LOSSY_DIR");
    const char *logs = getenv("LOUPAN_LOSSY_LOG");
    if (!dir || !logs) return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof path - 1);
    if (len <= 0) return 0;
    path[len] = 0;
    size_t dlen = strlen(dir);
    if (strncmp(path, dir, dlen) != 0 || path[dlen] != '/') return 0;
    if (len > 4 && strcmp(path + len - 4, "-shm") == 0) return 0;
    char name[PATH_MAX];
    size_t j = 0;
    for (ssize_t i = 0; i < len && j < sizeof name - 1; i++) name[j++] = path[i] == '/' ? '%' : path[i];
    name[j] = 0;
    snprintf(out, size, "%s/%s.undo", logs, name);
    return 1;
}

static void put(int log, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = real_write(log, c, n);
        if (w <= 0) abort(); /* a test that cannot keep its log must not pretend */
        c += w;
        n -= (size_t)w;
    }
}

/* Saves what [offset, offset + n) holds now, before a write or truncation changes it. */
static void remember(int fd, uint64_t offset, uint64_t n) {
    char path[PATH_MAX + 16];
    if (!log_path(fd, path, sizeof path)) return;
    struct stat st;
    if (fstat(fd, &st) != 0) abort();
    uint64_t old_size = (uint64_t)st.st_size;
    uint64_t keep = offset >= old_size ? 0 : (offset + n > old_size ? old_size - offset : n);
    char *old = malloc(keep ? keep : 1);
    if (!old) abort();
    if (keep && pread(fd, old, keep, (off_t)offset) != (ssize_t)keep) abort();
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) abort();
    uint64_t head[3] = {offset, old_size, keep};
    put(log, head, sizeof head);
    put(log, old, keep);
    close(log);
    free(old);
}

static void synced(int fd) {
    /* The control run: a disk that acknowledges fsync and keeps nothing. */
    if (getenv("LOUPAN_LOSSY_FSYNC_LIES")) return;
    char path[PATH_MAX + 16];
    if (log_path(fd, path, sizeof path)) unlink(path);
}

ssize_t write(int fd, const void *buf, size_t n) {
    init();
    if (fd <= 2) return real_write(fd, buf, n);
    pthread_mutex_lock(&lock);
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at >= 0) remember(fd, (uint64_t)at, n);
    ssize_t r = real_write(fd, buf, n);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    init();
    pthread_mutex_lock(&lock);
    remember(fd, (uint64_t)offset, n);
    ssize_t r = real_pwrite(fd, buf, n, offset);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t offset) {
    init();
    pthread_mutex_lock(&lock);
    remember(fd, (uint64_t)offset, n);
    ssize_t r = real_pwrite64(fd, buf, n, offset);
    pthread_mutex_unlock(&lock);
    return r;
}

static void before_truncate(int fd, uint64_t size) {
    struct stat st;
    if (fstat(fd, &st) != 0) return;
    /* Shrinking loses the tail: save it. Growing only needs the old size. */
    uint64_t old = (uint64_t)st.st_size;
    remember(fd, size < old ? size : old, size < old ? old - size : 0);
}

int ftruncate(int fd, off_t size) {
    init();
    pthread_mutex_lock(&lock);
    before_truncate(fd, (uint64_t)size);
    int r = real_ftruncate(fd, size);
    pthread_mutex_unlock(&lock);
    return r;
}

int ftruncate64(int fd, off64_t size) {
    init();
    pthread_mutex_lock(&lock);
    before_truncate(fd, (uint64_t)size);
    int r = real_ftruncate64(fd, size);
    pthread_mutex_unlock(&lock);
    return r;
}

int fsync(int fd) {
    init();
    pthread_mutex_lock(&lock);
    int r = real_fsync(fd);
    if (r == 0) synced(fd);
    pthread_mutex_unlock(&lock);
    return r;
}

int fdatasync(int fd) {
    init();
    pthread_mutex_lock(&lock);
    int r = real_fdatasync(fd);
    if (r == 0) synced(fd);
    pthread_mutex_unlock(&lock);
    return r;
}
