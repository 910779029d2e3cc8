#ifndef GATEWAY_AGENT_CSQLITE_SHIM_H
#define GATEWAY_AGENT_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it. */
static inline sqlite3_destructor_type gateway_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/* Extended result codes are macros built with `|` and `<<`, which Swift does not import; these enum
   constants carry the same values. */
enum {
    GATEWAY_SQLITE_CONSTRAINT_FOREIGNKEY = SQLITE_CONSTRAINT_FOREIGNKEY,
    GATEWAY_SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT_UNIQUE,
};
#endif
