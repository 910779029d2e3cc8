#ifndef GATEWAY_AGENT_CLINUXSHIMS_H
#define GATEWAY_AGENT_CLINUXSHIMS_H
#include <stddef.h>
#include <sys/types.h>

/* Linux APIs that Glibc's Swift overlay hides behind _GNU_SOURCE. */

/* SO_PEERCRED of a connected Unix socket; 0 on success, -1 with errno. */
int gateway_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC). */
int gateway_accept_cloexec(int fd);

/* POLLRDHUP: the peer closed its end (how a control connection notices a client gone mid-wait). */
short gateway_pollrdhup(void);

/* setxattr(path, "system.posix_acl_access", …): the control socket's ACL for agent.readers_group. */
int gateway_set_access_acl(const char *path, const void *value, size_t size);

/* pthread_setname_np(pthread_self(), name): thread names show in `top -H` and in core dumps. */
void gateway_name_this_thread(const char *name);

/* malloc_trim(0): hands the heap's free pages back to the kernel; 1 when some were released. */
int gateway_release_free_heap(void);

#endif
