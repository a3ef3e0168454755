// SQLite from the system (Debian libsqlite3-dev): the control plane's object store.
#include <sqlite3.h>
