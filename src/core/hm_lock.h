/* Liveness by lock, for files that a crash can leave behind (temporaries of atomic writes,
 * the experiment harness's worker files). The process that owns such a file holds an
 * open-file-description lock on it (fcntl F_OFD_SETLK, whole file) for as long as it lives;
 * the kernel drops the lock when the process ends, however it ends. A file whose lock can be
 * taken is therefore dead and may be removed -- unlike a pid, which repeats across hosts,
 * PID namespaces and time. OFD locks (Linux >= 3.15) belong to the open file, not to the
 * process, so closing another descriptor of the same file (or probing it from the same
 * process) never drops them; on NFS they are forwarded to the server like POSIX locks. */
#ifndef HM_LOCK_H
#define HM_LOCK_H

#include <stddef.h>
#include "hm_status.h"

/* Fill buf with n random lowercase hex digits and a terminating NUL (buf holds n + 1). */
void hm_random_hex(char *buf, size_t n);

/* Take the lock of fd: exclusive (fd open for writing) or shared; wait or not.
 * 1 taken, 0 held by another open file (only without wait), -1 error (errno). */
int hm_lock_fd(int fd, int exclusive, int wait);

/* Create "<prefix><16 random hex digits><suffix>" with O_EXCL (retrying on a collision),
 * mode 0644, open for reading and writing, and take its exclusive lock. On HM_OK *fd is the
 * open descriptor and *path the name (malloc'ed; the caller frees it). A name is handed out
 * only once it is locked and still names the created file, so a concurrent cleaner
 * (hm_lock_remove_dead) can never remove a file its owner believes it holds. */
hm_status hm_lock_create(const char *prefix, const char *suffix, int *fd, char **path,
                         char *err, size_t errlen);

/* Open an existing file and take its exclusive lock (waiting when wait != 0). 1: taken, *fd
 * set; 0: held by a live owner (only without wait); -1: error (errno; ENOENT also when the
 * file was removed while we waited). */
int hm_lock_open(const char *path, int wait, int *fd);

/* Remove path if no live process holds its lock: 1 removed, 0 alive (locked), -1 error
 * (errno; ENOENT when it is already gone). The file is unlinked while the probe's shared lock
 * is held, so an owner that created it but had not locked it yet finds it gone and retries
 * under another name (hm_lock_create). */
int hm_lock_remove_dead(const char *path);

#endif
