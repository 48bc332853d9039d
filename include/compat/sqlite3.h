/* compat/sqlite3.h: put this directory first on the include path (as
 * `pkg-config --cflags sqlwire-sqlite3` does) and an unchanged
 * `#include <sqlite3.h>` compiles the program against libsqlwire. */
#include <sqlwire_sqlite3.h>
