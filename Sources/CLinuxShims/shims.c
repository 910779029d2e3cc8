#define _GNU_SOURCE
#include <sys/socket.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/xattr.h>
#include "CLinuxShims.h"

int gateway_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int gateway_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

short gateway_pollrdhup(void) { return POLLRDHUP; }

int gateway_set_access_acl(const char *path, const void *value, size_t size) {
    return setxattr(path, "system.posix_acl_access", value, size, 0);
}

void gateway_name_this_thread(const char *name) { pthread_setname_np(pthread_self(), name); }

int gateway_release_free_heap(void) { return malloc_trim(0); }
