// Shifts a process's wall clock for the clock-jump fault tests (LD_PRELOAD; built by the test with cc).
//
// WALL_CLOCK_SHIFT_FILE names a file holding an offset in whole seconds ("3600", "-3600"); CLOCK_REALTIME (and
// its coarse variant), gettimeofday and time read as the real wall clock plus that offset, re-read at most every
// 100 ms of monotonic time. Monotonic and boot-time clocks, and every timed wait on them, are left alone: that is
// what the agent's timers must run on. (libfaketime does this too, but its preload empties a Swift program's
// CommandLine.arguments.)
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
// Racy across threads, harmlessly: each is one aligned 64-bit word, and a stale offset lasts at most 100 ms.
static long long offset_seconds;
static long long checked_at_ms = -1000000;

static void refresh_offset(void) {
    struct timespec now;
    real_clock_gettime(CLOCK_MONOTONIC, &now);
    long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (now_ms - checked_at_ms < 100) return;
    checked_at_ms = now_ms;
    const char *path = getenv("WALL_CLOCK_SHIFT_FILE");
    FILE *file = path ? fopen(path, "re") : NULL;
    if (!file) return;
    long long value;
    if (fscanf(file, "%lld", &value) == 1) offset_seconds = value;
    fclose(file);
}

int clock_gettime(clockid_t clock, struct timespec *time) {
    if (!real_clock_gettime) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
    int result = real_clock_gettime(clock, time);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        refresh_offset();
        time->tv_sec += offset_seconds;
    }
    return result;
}

int gettimeofday(struct timeval *restrict value, void *restrict zone) {
    struct timespec now;
    int result = clock_gettime(CLOCK_REALTIME, &now);
    if (result == 0 && value) {
        value->tv_sec = now.tv_sec;
        value->tv_usec = now.tv_nsec / 1000;
    }
    (void)zone;
    return result;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out) *out = now.tv_sec;
    return now.tv_sec;
}
